// The factory of UML's network devices: eth<n>= and vec<n>: (at boot) and
// mconsole's `config eth<n>=`/`config vec<n>:` (hot-plug) both come here.
// The only place kuml builds a virtio-net.
//
// At boot the devices go in the order eth0, eth1, ..., then vec0, vec1, ...
// (the guest kernel names them eth0, eth1, ... in that order, so gaps in the
// numbering close up: with only eth0 and eth2 given, eth2 is the guest's
// eth1).
//
// Each host side (open_net_transport.h) is opened once and shared by the
// devices of every boot: a reboot keeps its tap, its uml_switch port and its
// slirp connections' host sockets; a hot-plugged one closes when its device
// goes (remove, or the end of the boot). MACs follow mac_policy.h (given,
// fe:fd:<ip> from the kernel's ip= option, or random), chosen once; the
// kernel's ip= option only names interfaces that exist at boot, so a
// hot-plugged device gets the given MAC or a random one.
#ifndef KUML_MACHINE_NET_FACTORY_H_
#define KUML_MACHINE_NET_FACTORY_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "frontend/machine_spec.h"
#include "frontend/net_switch.h"
#include "machine/pluggable_device.h"

namespace kuml {

// What can be refused without touching the host: obsolete transports
// (ethertap, slip), vector transports other than tap, malformed slirp
// options, a MAC with an odd first byte. A usage error naming the switch.
absl::Status CheckNetSwitches(const MachineSpec& spec);

// Every network device of the command line, in guest order. Errors name
// the switch.
absl::StatusOr<std::vector<PluggableDevice>> OpenBootNetDevices(
    const MachineSpec& spec);

// One network device added while the guest runs (the switch parsed),
// checked as on the command line. Errors name the switch.
absl::StatusOr<PluggableDevice> OpenHotNetDevice(const NetDeviceSpec& net);

}  // namespace kuml

#endif  // KUML_MACHINE_NET_FACTORY_H_
