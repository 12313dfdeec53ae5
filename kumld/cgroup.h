// Per-guest cgroup v2 groups under one parent (default /sys/fs/cgroup/kumld):
// memory.max and cpu.max per guest, memory.current for `fleet ls`. When
// cgroup v2 is not mounted there or not writable, the parent is unusable
// and says why: guests then run without limits (and say so).
#ifndef KUML_KUMLD_CGROUP_H_
#define KUML_KUMLD_CGROUP_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "kumld/manifest.h"
#include "util/unique_fd.h"

namespace kuml::kumld {

class CgroupParent {
 public:
  // Creates `dir` (its parent must be on cgroup2) and enables the memory
  // and cpu controllers for the groups below it.
  static CgroupParent Open(const std::string& dir);
  // No cgroups at all (the operator said so): `why` becomes the warning.
  static CgroupParent Disabled(std::string why) {
    return CgroupParent("", std::move(why));
  }

  bool usable() const { return warning_.empty(); }
  const std::string& warning() const { return warning_; }
  const std::string& dir() const { return dir_; }

  // Creates <dir>/<umid> with `limits` written; returns its cgroup.procs
  // open for writing (the child writes "0" into it before exec).
  absl::StatusOr<UniqueFd> Prepare(const std::string& umid,
                                   const CgroupLimits& limits) const;
  uint64_t MemoryCurrent(const std::string& umid) const;
  void Remove(const std::string& umid) const;

 private:
  CgroupParent(std::string dir, std::string warning)
      : dir_(std::move(dir)), warning_(std::move(warning)) {}
  std::string dir_;
  std::string warning_;
};

}  // namespace kuml::kumld

#endif  // KUML_KUMLD_CGROUP_H_
