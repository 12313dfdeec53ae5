// HostProcesses: kumld's ProcessOps on the real host. One VMM process per
// guest, isolated first: its own session and process group, its own cgroup
// (limits), no inherited descriptors, no_new_privs, stdin a FIFO kumld
// owns, stdout/stderr (con0 and the VMM's messages) appended to the guest's
// console log. The VMM is not killed with kumld: a restarted kumld
// re-adopts it.
#ifndef KUML_KUMLD_GUEST_PROCESS_H_
#define KUML_KUMLD_GUEST_PROCESS_H_

#include <map>
#include <string>

#include "absl/synchronization/mutex.h"
#include "kumld/cgroup.h"
#include "kumld/supervisor.h"

namespace kuml::kumld {

struct HostPaths {
  std::string state_dir;  // guests/<umid>.textproto, console/<umid>.in
  std::string log_dir;    // <umid>.log
  std::string uml_dir;    // where the VMMs keep <umid>/{pid,mconsole}
};

// <uml_dir>/<umid> for this guest (its own uml_dir= switch wins).
std::string UmidDirOf(const GuestSpec& spec, const std::string& uml_dir);
std::string ConsoleLogOf(const GuestSpec& spec, const HostPaths& paths);

// Copies `from` to `to` unless `to` exists (through a temporary file, so a
// half copy is never taken for a disk).
absl::Status CopyFileIfMissing(const std::string& from, const std::string& to);

class HostProcesses : public ProcessOps {
 public:
  HostProcesses(HostPaths paths, const CgroupParent* cgroups)
      : paths_(std::move(paths)), cgroups_(cgroups) {}

  absl::StatusOr<pid_t> Launch(const GuestSpec& spec) override;
  void Signal(pid_t pid, int signal) override;
  absl::Status Halt(const GuestSpec& spec) override;
  void Forget(const GuestSpec& spec) override;

  // A warning about the guest's last launch (e.g. limits not applied).
  std::string Note(const std::string& umid) const;
  // Where the console log ended when the last launch began (readiness is
  // looked for after it).
  off_t LaunchOffset(const std::string& umid) const;

 private:
  HostPaths paths_;
  const CgroupParent* cgroups_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::string> notes_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, off_t> offsets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kuml::kumld

#endif  // KUML_KUMLD_GUEST_PROCESS_H_
