// The jail (UML's `jail` switch, root only): once a guest's devices are
// open, kuml gives up the host's file system and root.
//
//   1. the guest kernel (and initrd) are copied into <umid dir>/jail/, which
//      becomes the root directory of every thread (chroot; threads share
//      their root, so gRPC and line threads are jailed too), so a reboot
//      still finds them (/kernel, /initrd);
//   2. kuml becomes the unprivileged user (nobody unless named: jail=<user>),
//      supplementary groups dropped, all capabilities with them, and is not
//      dumpable (no ptrace by that user's other processes);
//   3. a reaper process, forked before, waits for kuml to end and removes
//      the umid directory (kuml itself can no longer reach it).
// What kuml opened before keeps working: /dev/kvm, the disks, lines,
// network host sides, the mconsole and gRPC sockets. What needs a host path
// later does not: mconsole hot-plug (refused with a message),
// mconsole=notify: (its socket is not reachable from the jail). No network
// namespace: slirp opens host sockets for each guest connection.
#ifndef KUML_VMM_SANDBOX_JAIL_H_
#define KUML_VMM_SANDBOX_JAIL_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace kuml {

struct JailOptions {
  std::string user = "nobody";  // becomes this user's uid and group
  std::string umid_dir;         // <uml_dir>/<umid>: the jail goes inside
  std::string kernel_path;
  std::optional<std::string> initrd_path;
};

struct JailPaths {  // the boot files as seen from inside the jail
  std::string kernel_path;
  std::optional<std::string> initrd_path;
};

// Enters the jail. FailedPrecondition when not running as root.
absl::StatusOr<JailPaths> EnterJail(const JailOptions& options);

}  // namespace kuml

#endif  // KUML_VMM_SANDBOX_JAIL_H_
