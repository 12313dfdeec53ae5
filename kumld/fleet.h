// Fleet: the running kumld. Owns the Supervisor and the real processes;
// watches every VMM through a pidfd (its exit), every starting guest's
// console log (its ready_pattern) and the supervisor's timers, in one loop
// thread. Keeps a record per guest on disk and re-adopts the VMMs that
// outlived an earlier kumld. Thread-safe: the gRPC handlers call in.
#ifndef KUML_KUMLD_FLEET_H_
#define KUML_KUMLD_FLEET_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "kumld/cgroup.h"
#include "kumld/guest_process.h"
#include "kumld/guest_records.h"
#include "kumld/mconsole_client.h"
#include "kumld/supervisor.h"
#include "proto/host.pb.h"
#include "util/unique_fd.h"

namespace kuml::kumld {

struct FleetOptions {
  HostPaths paths;
  std::string kuml_binary;    // the default VMM of a manifest's guests
  std::string cgroup_parent;  // empty: no cgroups
  // A guest's console log is rotated past this size (console_log.h).
  uint64_t log_max_bytes = uint64_t{16} << 20;
};

class Fleet {
 public:
  // Creates the directories, opens the cgroup parent, re-adopts recorded
  // guests. `messages` gets what the operator should know (warnings).
  static absl::StatusOr<std::unique_ptr<Fleet>> Create(
      FleetOptions options, std::vector<std::string>* messages);
  ~Fleet();

  // Parses the manifest and starts its guests (a guest that exists already
  // is left alone). Returns the manifest's umids, in order.
  absl::StatusOr<std::vector<std::string>> Up(
      const std::string& text, const std::string& name,
      const std::string& base_dir, std::vector<std::string>* messages);

  // All guests, or those named (unknown names are skipped).
  std::vector<host::GuestInfo> List(const std::vector<std::string>& only = {});
  absl::StatusOr<host::GuestInfo> Stop(const std::string& umid);
  absl::StatusOr<host::GuestInfo> Start(const std::string& umid);
  absl::StatusOr<host::GuestInfo> Destroy(const std::string& umid);
  // Blocks until none of `umids` is listed any more, or `deadline`.
  bool WaitGone(const std::vector<std::string>& umids, absl::Time deadline);
  // Blocks until something changed (or `deadline`).
  void WaitForChange(absl::Time deadline);

  absl::StatusOr<MconsoleAnswer> Mconsole(const std::string& umid,
                                          const std::string& command);

  // The loop: exits, readiness, timers. Returns after Shutdown().
  void Run();
  void Shutdown();

 private:
  explicit Fleet(FleetOptions options);
  void Adopt(const host::GuestRecord& record, std::vector<std::string>* msgs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After any change: pidfds for new VMMs, records on disk, wake the loop.
  void SyncLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CheckReadyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rotates the console log of every running guest that outgrew the cap.
  void CapConsoleLogsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  host::GuestInfo InfoLocked(const GuestStatus& s)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Wake();

  FleetOptions options_;
  CgroupParent cgroups_;
  HostProcesses processes_;
  GuestRecords records_;
  UniqueFd wake_;  // eventfd

  absl::Mutex mu_;
  absl::CondVar changed_;
  Supervisor supervisor_ ABSL_GUARDED_BY(mu_);
  std::map<pid_t, UniqueFd> pidfds_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> start_ticks_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> saved_ ABSL_GUARDED_BY(mu_);
  // Console scan state of STARTING guests: where reading goes on.
  std::map<std::string, std::pair<pid_t, off_t>> scan_ ABSL_GUARDED_BY(mu_);
  absl::Time last_log_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace kuml::kumld

#endif  // KUML_KUMLD_FLEET_H_
