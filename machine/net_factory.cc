#include "machine/net_factory.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "devices/virtio/net_device.h"
#include "frontend/guest_cmdline.h"
#include "machine/mac_policy.h"
#include "machine/open_net_transport.h"

namespace kuml {
namespace {

VirtioDeviceFactory NetFactory(std::shared_ptr<NetTransport> transport,
                               const MacAddress& mac) {
  VirtioNet::Mac bytes;
  std::copy(mac.bytes.begin(), mac.bytes.end(), bytes.begin());
  return [transport, bytes](const VirtioDeviceContext& context)
             -> absl::StatusOr<std::unique_ptr<VirtioDevice>> {
    absl::StatusOr<std::unique_ptr<VirtioNet>> device =
        VirtioNet::Create(transport, bytes, context.loop);
    if (!device.ok()) return device.status();
    return std::unique_ptr<VirtioDevice>(std::move(*device));
  };
}

// The one way a network device is made: checked, its host side opened, its
// MAC chosen (`kernel_ip`: the guest kernel's ip= address for the
// interface, if it has one).
absl::StatusOr<PluggableDevice> OpenNetDevice(
    const NetDeviceSpec& net, const std::optional<Ipv4Address>& kernel_ip) {
  PluggableDevice device;
  absl::StatusOr<std::unique_ptr<NetTransport>> transport;
  std::optional<MacAddress> given;
  std::string switch_text;
  if (const VecSpec* vec = std::get_if<VecSpec>(&net)) {
    absl::Status checked = CheckVecSpec(*vec);
    if (!checked.ok()) return checked;
    device.name = absl::StrCat("vec", vec->index);
    absl::StatusOr<std::optional<MacAddress>> mac = SpecifiedMac(*vec);
    if (!mac.ok()) return mac.status();
    given = *mac;
    device.config = vec->config;
    switch_text = vec->switch_text;
    transport = OpenVecTransport(*vec);
  } else {
    const EthSpec& eth = std::get<EthSpec>(net);
    absl::Status checked = CheckEthSpec(eth);
    if (!checked.ok()) return checked;
    device.name = absl::StrCat("eth", eth.index);
    given = SpecifiedMac(eth);
    device.config = eth.config;
    switch_text = eth.switch_text;
    transport = OpenNetTransport(eth, kernel_ip);
  }
  if (!transport.ok()) return transport.status();
  absl::StatusOr<MacAddress> mac = ChooseMac(given, kernel_ip);
  if (!mac.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(switch_text, ": ", mac.status().message()));
  }
  device.make =
      NetFactory(std::shared_ptr<NetTransport>(*std::move(transport)), *mac);
  return device;
}

}  // namespace

absl::Status CheckNetSwitches(const MachineSpec& spec) {
  for (const auto& [index, eth] : spec.eth) {
    absl::Status s = CheckEthSpec(eth);
    if (!s.ok()) return s;
  }
  for (const auto& [index, vec] : spec.vec) {
    absl::Status s = CheckVecSpec(vec);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PluggableDevice>> OpenBootNetDevices(
    const MachineSpec& spec) {
  const std::vector<std::string> kernel_args = GuestKernelArgs(spec);
  std::vector<NetDeviceSpec> in_guest_order;
  for (const auto& [index, eth] : spec.eth) in_guest_order.push_back(eth);
  for (const auto& [index, vec] : spec.vec) in_guest_order.push_back(vec);
  std::vector<PluggableDevice> devices;
  for (const NetDeviceSpec& net : in_guest_order) {
    const std::string name = absl::StrCat("eth", devices.size());
    absl::StatusOr<PluggableDevice> device =
        OpenNetDevice(net, KernelIpFor(kernel_args, name));
    if (!device.ok()) return device.status();
    devices.push_back(*std::move(device));
  }
  return devices;
}

absl::StatusOr<PluggableDevice> OpenHotNetDevice(const NetDeviceSpec& net) {
  return OpenNetDevice(net, std::nullopt);
}

}  // namespace kuml
