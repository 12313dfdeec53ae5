// From the user's MachineSpec to the MachineConfig every boot is built from:
// the guest kernel, memory, and each device kind's host side opened once
// through its factory (disk_factory.h, net_factory.h; the lines come from a
// LineFactory the caller opened first, since their ptys and telnet ports
// must be announced before anything else can fail).
#ifndef KUML_MACHINE_MACHINE_BUILDER_H_
#define KUML_MACHINE_MACHINE_BUILDER_H_

#include <string>

#include "absl/status/statusor.h"
#include "frontend/machine_spec.h"
#include "machine/line_factory.h"
#include "machine/machine.h"

namespace kuml {

// The guest kernel to boot when no kernel= is given: $KUML_KERNEL, else the
// kernel ./setup.sh built (${KUML_CACHE:-~/.cache/kuml}/guest/vmlinux).
std::string DefaultKernelPath();

// The machine for `spec` in VMM terms: devices in slot order (disks in ubd
// order, then eth<n> and vec<n> interfaces, then the virtio-console of
// `lines`), ttyS0 on con0's channel. `lines` must outlive every machine
// built from the config.
absl::StatusOr<MachineConfig> BuildMachineConfig(const MachineSpec& spec,
                                                 const LineFactory& lines);

}  // namespace kuml

#endif  // KUML_MACHINE_MACHINE_BUILDER_H_
