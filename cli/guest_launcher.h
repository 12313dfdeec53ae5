// GuestLauncher: from the user's MachineSpec to a running guest, and on
// through its reboots, as UML's `linux` process does: a reboot starts the
// guest again in the same process unless `noreboot` was given.
#ifndef KUML_CLI_GUEST_LAUNCHER_H_
#define KUML_CLI_GUEST_LAUNCHER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "devices/chan/channel.h"
#include "frontend/machine_spec.h"
#include "vmm/machine.h"

namespace kuml {

// kuml's exit statuses (documented in README.md).
enum ExitStatus {
  kExitGuestStopped = 0,  // power off, halt, or reboot with noreboot
  kExitVmmError = 1,      // the VMM could not go on (message on stderr)
  kExitUsage = 2,         // bad command line
  kExitGuestPanic = 3,    // the guest kernel panicked
};

// The guest kernel to boot when no kernel= is given: $KUML_KERNEL, else the
// kernel ./setup.sh built (${KUML_CACHE:-~/.cache/kuml}/guest/vmlinux).
std::string DefaultKernelPath();

// Opens ubd<index> once for the whole kuml process (host locks, COW state),
// printing UML's notices ("Creating ... as COW file for ...") unless quiet.
// Boot disks and mconsole's hot-plugged ones alike.
absl::StatusOr<DiskConfig> OpenDisk(int index, const UbdSpec& ubd,
                                    const MachineSpec& spec);

// The machine for `spec` in VMM terms. `console` is the host side of ttyS0
// (owned by the caller; may be null).
absl::StatusOr<MachineConfig> BuildMachineConfig(const MachineSpec& spec,
                                                 Channel* console);

}  // namespace kuml

#endif  // KUML_CLI_GUEST_LAUNCHER_H_
