#include "devices/chan/xterm_channel.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "devices/chan/host_terminal.h"
#include "util/errno_status.h"

extern char** environ;

namespace kuml {

absl::StatusOr<std::unique_ptr<XtermChannel>> XtermChannel::Open(
    const XtermOptions& options) {
  const char* display = std::getenv("DISPLAY");
  if (display == nullptr || *display == '\0') {
    return absl::FailedPreconditionError(
        "xterm: $DISPLAY is not set: there is no X display to open a "
        "terminal emulator on (use pts or port:<n> instead)");
  }
  absl::StatusOr<std::unique_ptr<PtsChannel>> pty =
      PtsChannel::Open(options.raw);
  if (!pty.ok()) return pty.status();
  const std::string path = (*pty)->slave_path();
  // $0 is the pty: no quoting of the path inside the script.
  const std::string relay =
      "stty raw -echo 2>/dev/null; cat \"$0\" & exec cat > \"$0\"";
  std::vector<std::string> args = {options.emulator,
                                   options.title_switch,
                                   options.title,
                                   options.exec_switch,
                                   "/bin/sh",
                                   "-c",
                                   relay,
                                   path};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int err = posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
  if (err != 0) {
    return ErrnoStatus(absl::StrCat("xterm: cannot run ", options.emulator),
                       err);
  }
  return std::unique_ptr<XtermChannel>(
      new XtermChannel(std::move(*pty), path, pid));
}

XtermChannel::~XtermChannel() { Close(); }

void XtermChannel::Close() {
  ForwardingChannel::Close();
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

}  // namespace kuml
