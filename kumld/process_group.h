// The process group a VMM leads (kumld starts every VMM with setsid()): what
// is left of it once the VMM itself has exited. The real UML leaves helper
// processes behind, and they hold its disks' fcntl locks until they are gone:
// a restart launched before that panics on a locked COW file.
#ifndef KUML_KUMLD_PROCESS_GROUP_H_
#define KUML_KUMLD_PROCESS_GROUP_H_

#include <sys/types.h>

#include "absl/time/time.h"

namespace kuml::kumld {

// True when no process of group `pgid` is alive. Zombies do not count: they
// hold no files (and so no locks), and reaping orphans is their new parent's
// job, which may take a while.
bool ProcessGroupGone(pid_t pgid);

// Polls ProcessGroupGone until it holds or `limit` has passed; returns
// whether the group is gone.
bool WaitProcessGroupGone(pid_t pgid, absl::Duration limit);

// SIGKILLs every process of group `pgid` and waits up to `limit` for them to
// be gone; returns whether they are. A pgid <= 1 (every process, or our own
// group) is never signalled: false.
bool KillProcessGroup(pid_t pgid, absl::Duration limit);

}  // namespace kuml::kumld

#endif  // KUML_KUMLD_PROCESS_GROUP_H_
