#include "devices/chan/host_terminal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "util/errno_status.h"

namespace kuml {

absl::StatusOr<std::unique_ptr<PtsChannel>> PtsChannel::Open(bool raw) {
  UniqueFd master(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master.valid()) return ErrnoStatus("pts: posix_openpt");
  if (grantpt(master.get()) != 0) return ErrnoStatus("pts: grantpt");
  if (unlockpt(master.get()) != 0) return ErrnoStatus("pts: unlockpt");
  char name[128];
  if (ptsname_r(master.get(), name, sizeof name) != 0) {
    return ErrnoStatus("pts: ptsname");
  }
  UniqueFd slave(open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave.valid()) return ErrnoStatus(absl::StrCat("pts: open ", name));
  if (raw) {
    struct termios t;
    if (tcgetattr(slave.get(), &t) != 0) return ErrnoStatus("pts: tcgetattr");
    cfmakeraw(&t);
    if (tcsetattr(slave.get(), TCSANOW, &t) != 0) {
      return ErrnoStatus("pts: tcsetattr");
    }
  }
  // Non-blocking master: the event loop's WriteSome never waits, and the
  // blocking Write() waits in poll.
  int flags = fcntl(master.get(), F_GETFL);
  if (flags < 0 || fcntl(master.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return ErrnoStatus("pts: O_NONBLOCK");
  }
  FdChannel::Options options;
  options.in_fd = master.get();
  options.out_fd = master.get();
  options.ownership = FdChannel::Ownership::kOwned;
  options.raw = false;  // set on the pty itself above; nothing to restore
  master.Release();     // owned by the channel from here, even on failure
  absl::StatusOr<std::unique_ptr<FdChannel>> channel =
      FdChannel::Create(options);
  if (!channel.ok()) return channel.status();
  return std::unique_ptr<PtsChannel>(
      new PtsChannel(std::move(*channel), std::move(slave), name));
}

void PtsChannel::Close() {
  ForwardingChannel::Close();
  slave_.Reset();
}

absl::StatusOr<std::unique_ptr<FdChannel>> OpenTtyChannel(
    const std::string& path, bool raw) {
  int fd = open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return ErrnoStatus(absl::StrCat("tty:", path));
  if (!isatty(fd)) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("tty:", path, " is not a terminal"));
  }
  FdChannel::Options options;
  options.in_fd = fd;
  options.out_fd = fd;
  options.ownership = FdChannel::Ownership::kOwned;  // closed on failure too
  options.raw = raw;
  absl::StatusOr<std::unique_ptr<FdChannel>> channel =
      FdChannel::Create(options);
  if (!channel.ok()) {
    return absl::Status(
        channel.status().code(),
        absl::StrCat("tty:", path, ": ", channel.status().message()));
  }
  return channel;
}

}  // namespace kuml
