// Supervisor: the state machine of every guest kumld runs, without any I/O
// of its own. What it does to the world goes through ProcessOps (real
// processes in the daemon, a fake in tests); time comes in as arguments, so
// restart policy, backoff and stop escalation are tested without waiting.
//
//   Add/Start --launch ok--> STARTING --ready--> RUNNING
//        |                      |  exit: policy says restart -> BACKOFF
//        +--launch fails--> FAILED          (Tick relaunches when due)
//   Stop: STARTING/RUNNING -> STOPPING: mconsole halt; after stop_timeout
//         SIGTERM, after another SIGKILL; the exit -> STOPPED (never
//         restarted). BACKOFF -> STOPPED at once.
//   Destroy: Stop, then the guest is forgotten once its VMM has exited.
//
// Not thread-safe: the daemon holds one lock around it.
#ifndef KUML_KUMLD_SUPERVISOR_H_
#define KUML_KUMLD_SUPERVISOR_H_

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kumld/manifest.h"
#include "proto/host.pb.h"

namespace kuml::kumld {

// How a VMM process ended. Re-adopted guests are not our children, so their
// exit status can't be collected: known = false.
struct ExitInfo {
  bool known = true;
  int code = 0;    // exit status when !signaled
  int signal = 0;  // nonzero: killed by this signal
  bool failed() const { return !known || signal != 0 || code != 0; }
  std::string Describe() const;
};

// A guest stays up this long -> its next crash restarts after the first
// (short) backoff delay again.
inline constexpr absl::Duration kStableUptime = absl::Seconds(10);

class ProcessOps {
 public:
  virtual ~ProcessOps() = default;
  // Prepares the guest's files and starts its VMM; returns the pid.
  virtual absl::StatusOr<pid_t> Launch(const GuestSpec& spec) = 0;
  virtual void Signal(pid_t pid, int signal) = 0;
  // Asks the guest to halt itself (mconsole `halt`).
  virtual absl::Status Halt(const GuestSpec& spec) = 0;
  // The guest is gone for good (destroyed): release what Launch set up.
  virtual void Forget(const GuestSpec& spec) {}
};

struct GuestStatus {
  GuestSpec spec;
  host::GuestState state = host::STATE_UNKNOWN;
  pid_t pid = 0;
  absl::Time started = absl::InfinitePast();  // of the current VMM
  uint32_t restarts = 0;
  std::string last_exit;
  bool adopted = false;
  std::string note;
};

class Supervisor {
 public:
  explicit Supervisor(ProcessOps* ops) : ops_(ops) {}

  // Starts a new guest. AlreadyExists when its umid is taken.
  absl::Status Add(GuestSpec spec, absl::Time now);
  // Takes over a VMM started by an earlier kumld (pid alive).
  absl::Status Adopt(GuestSpec spec, pid_t pid, absl::Time started,
                     absl::Time now);
  // History carried over from the record of an adopted guest.
  void RestoreHistory(const std::string& umid, uint32_t restarts,
                      const std::string& last_exit);
  // A guest whose VMM ended while no kumld watched: the exit is unknown,
  // and the restart policy decides as for a crash.
  absl::Status AdoptExited(GuestSpec spec, bool was_stopped, absl::Time now);

  absl::Status Stop(const std::string& umid, absl::Time now);
  absl::Status Start(const std::string& umid, absl::Time now);
  absl::Status Destroy(const std::string& umid, absl::Time now);

  // The VMM with this pid ended. Unknown pids are ignored.
  void OnExit(pid_t pid, const ExitInfo& exit, absl::Time now);
  // The guest's ready_pattern appeared on its console.
  void OnReady(const std::string& umid);

  // Relaunches due guests and escalates slow stops. Returns when it wants
  // to be called next (InfiniteFuture: nothing pending).
  absl::Time Tick(absl::Time now);

  std::vector<GuestStatus> List() const;
  std::optional<GuestStatus> Get(const std::string& umid) const;
  bool Has(const std::string& umid) const { return guests_.count(umid) > 0; }

 private:
  enum class StopPhase { kNone, kHalt, kTerm, kKill };
  struct Guest {
    GuestStatus status;
    StopPhase phase = StopPhase::kNone;
    absl::Time deadline = absl::InfiniteFuture();  // restart or escalation
    absl::Duration next_backoff;
    bool destroy_when_down = false;
  };

  // A new entry for `spec`; AlreadyExists when its umid is taken.
  absl::StatusOr<Guest*> Insert(GuestSpec spec);
  void Launch(Guest& g, absl::Time now);
  void BeginStop(Guest& g, absl::Time now);
  Guest* Find(const std::string& umid);
  Guest* FindPid(pid_t pid);
  void Settle(const std::string& umid);  // forgets a destroyed, exited guest

  ProcessOps* ops_;
  std::map<std::string, Guest> guests_;
};

}  // namespace kuml::kumld

#endif  // KUML_KUMLD_SUPERVISOR_H_
