#include "devices/net/testing/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "util/errno_status.h"

namespace kuml {

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::vector<std::string>& argv, const std::string& log_path) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) < 0) return ErrnoStatus("pipe2");
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  UniqueFd log(
      ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!log.valid()) return ErrnoStatus("open " + log_path);
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus("fork");
  if (pid == 0) {
    ::dup2(read_end.get(), 0);
    ::dup2(log.get(), 1);
    ::dup2(log.get(), 2);
    ::setpgid(0, 0);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return std::unique_ptr<ChildProcess>(
      new ChildProcess(pid, std::move(write_end)));
}

absl::StatusOr<int> ChildProcess::Wait(int timeout_ms) {
  int status = 0;
  const bool done = WaitUntil(
      [&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout_ms);
  if (!done) return absl::DeadlineExceededError("child still running");
  reaped_ = true;
  return status;
}

ChildProcess::~ChildProcess() {
  if (reaped_) return;
  ::kill(pid_, SIGTERM);
  int status;
  if (!WaitUntil([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; },
                 2000)) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
}

bool WaitUntil(const std::function<bool()>& condition, int timeout_ms) {
  const auto end =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool AcceptsConnections(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return fd.valid() && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr),
                                 sizeof(addr)) == 0;
}

}  // namespace kuml
