// The guest's network interfaces from the user's eth<n>= and vec<n>:
// switches: one virtio-net device each, in the order eth0, eth1, ...,
// then vec0, vec1, ... (the guest kernel names them eth0, eth1, ... in
// that order, so gaps in the numbering close up: with only eth0 and eth2
// given, eth2 is the guest's eth1).
//
// Each host side is opened once, here, and shared by the devices of every
// boot: a reboot keeps its tap, its uml_switch port and its slirp
// connections' host sockets. MACs follow mac_policy.h (given, fe:fd:<ip>
// from the kernel's ip= option, or random), chosen once.
#ifndef KUML_CLI_NET_DEVICES_H_
#define KUML_CLI_NET_DEVICES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "frontend/machine_spec.h"
#include "frontend/net_switch.h"
#include "vmm/machine.h"

namespace kuml {

// What can be refused without touching the host: obsolete transports
// (ethertap, slip), vector transports other than tap, malformed slirp
// options, a MAC with an odd first byte. A usage error naming the switch.
absl::Status CheckNetSwitches(const MachineSpec& spec);

// Opens every host side and adds the devices to `config`. Errors name the
// switch.
absl::Status AddNetDevices(const MachineSpec& spec, MachineConfig& config);

// One network device added while the guest runs (mconsole `config
// eth<n>=...` or `config vec<n>:...`, parsed): checked as on the command
// line, its host side opened
// now and closed when the last device made by the factory goes (remove or
// the end of the boot). The MAC is the one given, else random: the kernel's
// ip= option only names interfaces that exist at boot. Errors name the
// switch.
struct HotNetDevice {
  std::string config;  // text after '=' / ':'
  VirtioDeviceFactory factory;
};
absl::StatusOr<HotNetDevice> OpenHotNetDevice(const NetDeviceSpec& net);

}  // namespace kuml

#endif  // KUML_CLI_NET_DEVICES_H_
