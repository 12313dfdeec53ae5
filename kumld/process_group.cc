#include "kumld/process_group.h"

#include <dirent.h>
#include <signal.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "kumld/proc_stats.h"

namespace kuml::kumld {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(5);

// Whether process `pid` is a live (not zombie, not dead) member of group
// `pgid`.
bool LiveMember(pid_t pid, pid_t pgid) {
  std::vector<std::string> fields = ProcStatFields(pid);  // empty: gone
  pid_t pgrp = 0;
  if (fields.size() < 3 || !absl::SimpleAtoi(fields[2], &pgrp)) return false;
  return pgrp == pgid && fields[0] != "Z" && fields[0] != "X";
}

}  // namespace

bool ProcessGroupGone(pid_t pgid) {
  if (pgid <= 1) return false;  // no VMM's group; see KillProcessGroup
  // The quick answer first: no member at all, zombies included.
  if (kill(-pgid, 0) != 0 && errno == ESRCH) return true;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return false;  // can't tell: say it is still there
  bool alive = false;
  while (dirent* entry = readdir(proc)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;  // not a process
    if (LiveMember(pid, pgid)) {
      alive = true;
      break;
    }
  }
  closedir(proc);
  return !alive;
}

bool WaitProcessGroupGone(pid_t pgid, absl::Duration limit) {
  absl::Time deadline = absl::Now() + limit;
  for (;;) {
    if (ProcessGroupGone(pgid)) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(kPollInterval);
  }
}

bool KillProcessGroup(pid_t pgid, absl::Duration limit) {
  // kill(-1) is every process we may signal, kill(-0) our own group: never
  // a VMM's (each leads its own).
  if (pgid <= 1) return false;
  kill(-pgid, SIGKILL);
  return WaitProcessGroupGone(pgid, limit);
}

}  // namespace kuml::kumld
