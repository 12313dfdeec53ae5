// What /proc says about a VMM process: its start time (to tell a reused pid
// from the process kumld launched) and its memory (PSS, RSS).
#ifndef KUML_KUMLD_PROC_STATS_H_
#define KUML_KUMLD_PROC_STATS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kuml::kumld {

// The fields of /proc/<pid>/stat from field 3 (state) on: [0] state, [1]
// ppid, [2] pgrp, ... (proc(5)); empty when the process does not exist.
std::vector<std::string> ProcStatFields(pid_t pid);

// Field 22 of /proc/<pid>/stat (clock ticks after boot); 0 when the process
// does not exist.
uint64_t ProcStartTicks(pid_t pid);

struct ProcMemory {
  uint64_t pss_bytes = 0;  // /proc/<pid>/smaps_rollup "Pss:"
  uint64_t rss_bytes = 0;  // "Rss:"
};
ProcMemory ReadProcMemory(pid_t pid);

// The pid in a UML-style pid file ("<pid>\n") when that process lives and
// this user may signal it; 0 otherwise (a process of another user is not a
// VMM kumld started).
pid_t LivePidFromFile(const std::string& path);

// Whether `pid` looks like the VMM kumld launched for guest `umid`: not init
// (pid > 1), the leader of its own session (kumld starts every VMM with
// setsid()), with the argument "umid=<umid>" on its command line (kumld
// passes it to every VMM). What a pid from a pid file must show before
// kumld adopts -- and may later kill -- its process group: the file may be
// stale (a reused pid) or planted in a shared uml_dir.
bool IsVmmOf(pid_t pid, const std::string& umid);

}  // namespace kuml::kumld

#endif  // KUML_KUMLD_PROC_STATS_H_
