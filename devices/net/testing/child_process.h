// ChildProcess: a helper program a test runs beside itself (uml_switch,
// vde_switch, a UML guest), with stdin on a pipe the test holds open --
// uml_switch exits at EOF on stdin -- and stdout/stderr to a file.
// Destroying it kills (SIGTERM, then SIGKILL) and reaps the process.
#ifndef KUML_DEVICES_NET_TESTING_CHILD_PROCESS_H_
#define KUML_DEVICES_NET_TESTING_CHILD_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "util/unique_fd.h"

namespace kuml {

class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const std::vector<std::string>& argv, const std::string& log_path);
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Waits up to `timeout_ms` for the process to exit; its wait status, or
  // DeadlineExceeded.
  absl::StatusOr<int> Wait(int timeout_ms);

 private:
  ChildProcess(pid_t pid, UniqueFd stdin_pipe)
      : pid_(pid), stdin_(std::move(stdin_pipe)) {}
  pid_t pid_;
  bool reaped_ = false;
  UniqueFd stdin_;
};

// Polls `condition` every 20 ms for up to `timeout_ms`.
bool WaitUntil(const std::function<bool()>& condition, int timeout_ms);

// Whether a unix stream socket at `path` accepts a connection now. A server's
// socket file appears at bind(), a moment before listen(): wait for this,
// not for the file.
bool AcceptsConnections(const std::string& path);

}  // namespace kuml

#endif  // KUML_DEVICES_NET_TESTING_CHILD_PROCESS_H_
