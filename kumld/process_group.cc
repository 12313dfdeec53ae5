#include "kumld/process_group.h"

#include <dirent.h>
#include <signal.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/time/clock.h"

namespace kuml::kumld {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(5);

// Whether /proc/<pid>/stat names a live (not zombie, not dead) member of
// group `pgid`. The fields after the command's closing ')' are: state, ppid,
// pgrp, ... (proc(5)); the command itself may hold spaces and parentheses.
bool LiveMember(const char* pid, pid_t pgid) {
  std::ifstream in(std::string("/proc/") + pid + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return false;  // gone meanwhile
  std::istringstream rest(stat.substr(close + 1));
  char state = 0;
  long ppid = 0, pgrp = 0;
  if (!(rest >> state >> ppid >> pgrp)) return false;
  return pgrp == pgid && state != 'Z' && state != 'X';
}

}  // namespace

bool ProcessGroupGone(pid_t pgid) {
  // The quick answer first: no member at all, zombies included.
  if (kill(-pgid, 0) != 0 && errno == ESRCH) return true;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return false;  // can't tell: say it is still there
  bool alive = false;
  while (dirent* entry = readdir(proc)) {
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
    if (LiveMember(entry->d_name, pgid)) {
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
  kill(-pgid, SIGKILL);
  return WaitProcessGroupGone(pgid, limit);
}

}  // namespace kuml::kumld
