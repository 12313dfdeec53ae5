#include "cli/net_devices.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "devices/net/mac_policy.h"
#include "devices/net/open_transport.h"
#include "devices/virtio/net_device.h"
#include "frontend/guest_cmdline.h"
#include "frontend/net_switch.h"

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

absl::Status AddNetDevices(const MachineSpec& spec, MachineConfig& config) {
  const std::vector<std::string> kernel_args = GuestKernelArgs(spec);
  int guest_index = 0;
  auto add = [&](absl::StatusOr<std::unique_ptr<NetTransport>> transport,
                 const std::optional<MacAddress>& given,
                 const std::string& switch_text) -> absl::Status {
    if (!transport.ok()) return transport.status();
    const std::string name = absl::StrCat("eth", guest_index++);
    absl::StatusOr<MacAddress> mac =
        ChooseMac(given, KernelIpFor(kernel_args, name));
    if (!mac.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(switch_text, ": ", mac.status().message()));
    }
    config.virtio_devices.push_back(
        NetFactory(std::shared_ptr<NetTransport>(*std::move(transport)), *mac));
    return absl::OkStatus();
  };
  for (const auto& [index, eth] : spec.eth) {
    absl::Status s =
        add(OpenNetTransport(eth), SpecifiedMac(eth), eth.switch_text);
    if (!s.ok()) return s;
  }
  for (const auto& [index, vec] : spec.vec) {
    absl::StatusOr<std::optional<MacAddress>> given = SpecifiedMac(vec);
    if (!given.ok()) return given.status();
    absl::Status s = add(OpenVecTransport(vec), *given, vec.switch_text);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<HotNetDevice> OpenHotNetDevice(const NetDeviceSpec& net) {
  HotNetDevice hot;
  absl::StatusOr<std::unique_ptr<NetTransport>> transport;
  std::optional<MacAddress> given;
  std::string switch_text;
  if (const VecSpec* vec = std::get_if<VecSpec>(&net)) {
    absl::Status checked = CheckVecSpec(*vec);
    if (!checked.ok()) return checked;
    absl::StatusOr<std::optional<MacAddress>> mac = SpecifiedMac(*vec);
    if (!mac.ok()) return mac.status();
    given = *mac;
    hot.config = vec->config;
    switch_text = vec->switch_text;
    transport = OpenVecTransport(*vec);
  } else {
    const EthSpec& eth = std::get<EthSpec>(net);
    absl::Status checked = CheckEthSpec(eth);
    if (!checked.ok()) return checked;
    given = SpecifiedMac(eth);
    hot.config = eth.config;
    switch_text = eth.switch_text;
    transport = OpenNetTransport(eth);
  }
  if (!transport.ok()) return transport.status();
  absl::StatusOr<MacAddress> mac = ChooseMac(given, std::nullopt);
  if (!mac.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(switch_text, ": ", mac.status().message()));
  }
  hot.factory =
      NetFactory(std::shared_ptr<NetTransport>(*std::move(transport)), *mac);
  return hot;
}

}  // namespace kuml
