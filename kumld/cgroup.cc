#include "kumld/cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "util/errno_status.h"

namespace kuml::kumld {
namespace {

absl::Status WriteFile(const std::string& path, const std::string& text) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus("open " + path);
  if (write(fd.get(), text.data(), text.size()) !=
      static_cast<ssize_t>(text.size())) {
    return ErrnoStatus(absl::StrCat("write '", text, "' to ", path));
  }
  return absl::OkStatus();
}

std::string ParentOf(const std::string& dir) {
  size_t slash = dir.rfind('/');
  return slash == std::string::npos || slash == 0 ? "/" : dir.substr(0, slash);
}

}  // namespace

CgroupParent CgroupParent::Open(const std::string& dir) {
  std::string up = ParentOf(dir);
  struct statfs fs {};
  if (statfs(up.c_str(), &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
    return CgroupParent(dir, absl::StrCat(up,
                                          " is not a cgroup v2 file system: "
                                          "guests run without memory/CPU "
                                          "limits"));
  }
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return CgroupParent(dir,
                        absl::StrCat(ErrnoStatus("mkdir " + dir).message(),
                                     ": guests run without memory/CPU limits"));
  }
  // Controllers must be enabled on the way down: in the parent's
  // subtree_control for `dir`, in `dir`'s for the guests' groups.
  for (const std::string& d : {up, dir}) {
    absl::Status s = WriteFile(d + "/cgroup.subtree_control", "+memory +cpu");
    if (!s.ok()) {
      return CgroupParent(dir, absl::StrCat(s.message(),
                                            ": guests run without memory/CPU "
                                            "limits"));
    }
  }
  return CgroupParent(dir, "");
}

absl::StatusOr<UniqueFd> CgroupParent::Prepare(
    const std::string& umid, const CgroupLimits& limits) const {
  if (!usable()) return absl::FailedPreconditionError(warning_);
  std::string group = dir_ + "/" + umid;
  if (mkdir(group.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoStatus("mkdir " + group);
  }
  // Always written, so a changed manifest also lifts an old limit.
  absl::Status s =
      WriteFile(group + "/memory.max",
                limits.memory_max.empty() ? "max" : limits.memory_max);
  if (s.ok()) {
    s = WriteFile(group + "/cpu.max",
                  limits.cpu_max.empty() ? "max" : limits.cpu_max);
  }
  if (!s.ok()) return s;
  std::string procs = group + "/cgroup.procs";
  UniqueFd fd(open(procs.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus("open " + procs);
  return fd;
}

uint64_t CgroupParent::MemoryCurrent(const std::string& umid) const {
  if (!usable()) return 0;
  std::ifstream in(dir_ + "/" + umid + "/memory.current");
  uint64_t bytes = 0;
  in >> bytes;
  return bytes;
}

void CgroupParent::Remove(const std::string& umid) const {
  if (usable()) rmdir((dir_ + "/" + umid).c_str());
}

}  // namespace kuml::kumld
