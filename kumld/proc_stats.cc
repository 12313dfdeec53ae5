#include "kumld/proc_stats.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace kuml::kumld {

std::vector<std::string> ProcStatFields(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return {};
  // The command name (field 2) may hold spaces and ')': count from the last
  // ')'.
  size_t close = line.rfind(')');
  if (close == std::string::npos) return {};
  return absl::StrSplit(absl::string_view(line).substr(close + 1), ' ',
                        absl::SkipEmpty());
}

uint64_t ProcStartTicks(pid_t pid) {
  // Field 22 is the 20th from field 3.
  std::vector<std::string> fields = ProcStatFields(pid);
  uint64_t ticks = 0;
  if (fields.size() < 20 || !absl::SimpleAtoi(fields[19], &ticks)) return 0;
  return ticks;
}

ProcMemory ReadProcMemory(pid_t pid) {
  ProcMemory m;
  std::ifstream in(absl::StrCat("/proc/", pid, "/smaps_rollup"));
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    uint64_t* into = nullptr;
    if (absl::ConsumePrefix(&rest, "Pss:")) into = &m.pss_bytes;
    if (absl::ConsumePrefix(&rest, "Rss:")) into = &m.rss_bytes;
    if (into == nullptr) continue;
    uint64_t kb = 0;
    rest = absl::StripAsciiWhitespace(rest);
    if (absl::ConsumeSuffix(&rest, "kB") &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &kb)) {
      *into = kb * 1024;
    }
  }
  return m;
}

pid_t LivePidFromFile(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!std::getline(in, text)) return 0;
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &pid) || pid <= 0) {
    return 0;
  }
  if (kill(pid, 0) != 0) return 0;  // gone, or not ours (EPERM)
  return pid;
}

bool IsVmmOf(pid_t pid, const std::string& umid) {
  if (pid <= 1 || getsid(pid) != pid) return false;
  std::ifstream in(absl::StrCat("/proc/", pid, "/cmdline"), std::ios::binary);
  const std::string wanted = "umid=" + umid;
  std::string arg;
  while (std::getline(in, arg, '\0')) {
    if (arg == wanted) return true;
  }
  return false;
}

}  // namespace kuml::kumld
