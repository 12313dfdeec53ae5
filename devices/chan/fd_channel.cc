#include "devices/chan/fd_channel.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "util/errno_status.h"

namespace kuml {
namespace {

// Blocks SIGPIPE on this thread for the duration of a write to a pipe, and
// swallows the SIGPIPE that a write to a reader-less pipe raises, so the
// write just fails with EPIPE. (Sockets get MSG_NOSIGNAL instead; no other
// kind of fd raises SIGPIPE.)
class SigpipeGuard {
 public:
  explicit SigpipeGuard(bool active) : active_(active) {
    if (!active_) return;
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    // One that was already pending is not ours to swallow.
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old_);
  }
  ~SigpipeGuard() {
    if (!active_) return;
    if (raised_ && !was_pending_) {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGPIPE);
      struct timespec zero = {0, 0};
      while (sigtimedwait(&set, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  void NoteEpipe() { raised_ = true; }

 private:
  bool active_;
  bool was_pending_ = false;
  bool raised_ = false;
  sigset_t old_;
};

absl::Status CheckAccess(int fd, bool want_read) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return ErrnoStatus(absl::StrCat("fd:", fd));
  int mode = flags & O_ACCMODE;
  bool ok = want_read ? (mode == O_RDONLY || mode == O_RDWR)
                      : (mode == O_WRONLY || mode == O_RDWR);
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fd:", fd, " is not open for ", want_read ? "reading" : "writing"));
  }
  return absl::OkStatus();
}

}  // namespace

FdChannel::FdChannel(const Options& options)
    : ownership_(options.ownership),
      in_fd_(options.in_fd),
      out_fd_(options.out_fd) {}

absl::StatusOr<std::unique_ptr<FdChannel>> FdChannel::Create(
    const Options& options) {
  // Constructed first so that owned fds are closed on every failure below.
  std::unique_ptr<FdChannel> channel(new FdChannel(options));
  absl::Status status = channel->Init(options);
  if (!status.ok()) return status;
  return channel;
}

absl::Status FdChannel::Init(const Options& options) {
  absl::MutexLock lock(&write_mu_);
  if (in_fd_ >= 0) {
    absl::Status status = CheckAccess(in_fd_, /*want_read=*/true);
    if (!status.ok()) return status;
  }
  if (out_fd_ >= 0) {
    absl::Status status = CheckAccess(out_fd_, /*want_read=*/false);
    if (!status.ok()) return status;
    struct stat st;
    if (fstat(out_fd_, &st) != 0) return ErrnoStatus("fstat");
    out_is_socket_ = S_ISSOCK(st.st_mode);
    out_is_fifo_ = S_ISFIFO(st.st_mode);
    out_nonblocking_ = (fcntl(out_fd_, F_GETFL) & O_NONBLOCK) != 0;
  }
  if (options.raw) {
    if (in_fd_ >= 0) {
      absl::StatusOr<RawTerminal> raw = RawTerminal::Enter(in_fd_);
      if (!raw.ok()) return raw.status();
      in_raw_ = std::move(*raw);
    }
    if (out_fd_ >= 0) {
      absl::StatusOr<RawTerminal> raw = RawTerminal::Enter(out_fd_);
      if (!raw.ok()) return raw.status();
      out_raw_ = std::move(*raw);
    }
  }
  return absl::OkStatus();
}

FdChannel::~FdChannel() { Close(); }

int FdChannel::input_fd() const { return input_ended_ ? -1 : in_fd_; }

absl::StatusOr<size_t> FdChannel::Read(absl::Span<uint8_t> buffer) {
  if (in_fd_ < 0 || input_ended_) return 0;
  if (buffer.empty()) {
    return absl::InvalidArgumentError("FdChannel::Read with an empty buffer");
  }
  // The fd may be in blocking mode (and must stay so: the flag is shared),
  // so only read when poll says a read will not block.
  struct pollfd p = {in_fd_, POLLIN, 0};
  int ready;
  do {
    ready = poll(&p, 1, 0);
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) return ErrnoStatus("poll(input)");
  if (ready == 0) return absl::UnavailableError("no input waiting");
  if (p.revents & POLLNVAL) {
    input_ended_ = true;
    return absl::FailedPreconditionError(
        absl::StrCat("fd:", in_fd_, " was closed under the channel"));
  }
  ssize_t n;
  do {
    n = read(in_fd_, buffer.data(), buffer.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return absl::UnavailableError("no input waiting");
    }
    int err = errno;
    input_ended_ = true;
    return ErrnoStatus(absl::StrCat("read fd:", in_fd_), err);
  }
  if (n == 0) input_ended_ = true;
  return static_cast<size_t>(n);
}

absl::Status FdChannel::Write(absl::Span<const uint8_t> data) {
  absl::MutexLock lock(&write_mu_);
  if (closed_) return absl::FailedPreconditionError("channel is closed");
  if (out_fd_ < 0 || data.empty()) return absl::OkStatus();
  return WriteLocked(data);
}

absl::Status FdChannel::WriteLocked(absl::Span<const uint8_t> data) {
  SigpipeGuard guard(out_is_fifo_);
  while (!data.empty()) {
    ssize_t n = out_is_socket_
                    ? send(out_fd_, data.data(), data.size(), MSG_NOSIGNAL)
                    : write(out_fd_, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
      // Full (a non-blocking fd): wait for room instead of dropping.
      struct pollfd p = {out_fd_, POLLOUT, 0};
      int ready = poll(&p, 1, -1);
      if (ready < 0 && errno != EINTR) return ErrnoStatus("poll(output)");
      if (ready > 0 && (p.revents & POLLNVAL)) {
        return absl::FailedPreconditionError(
            absl::StrCat("fd:", out_fd_, " was closed under the channel"));
      }
      // POLLERR/POLLHUP: the next write reports the real error.
      continue;
    }
    int err = errno;
    if (err == EPIPE) guard.NoteEpipe();
    return ErrnoStatus(absl::StrCat("write fd:", out_fd_), err);
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> FdChannel::WriteSome(absl::Span<const uint8_t> data) {
  absl::MutexLock lock(&write_mu_);
  if (closed_) return absl::FailedPreconditionError("channel is closed");
  if (out_fd_ < 0 || data.empty()) return data.size();
  struct pollfd p = {out_fd_, POLLOUT, 0};
  int ready = poll(&p, 1, 0);
  if (ready < 0 && errno == EINTR) return 0;
  if (ready < 0) return ErrnoStatus("poll(output)");
  if (ready == 0) return 0;
  if (p.revents & POLLNVAL) {
    return absl::FailedPreconditionError(
        absl::StrCat("fd:", out_fd_, " was closed under the channel"));
  }
  size_t len = data.size();
  if (!out_nonblocking_ && !out_is_socket_) len = std::min<size_t>(len, 4096);
  SigpipeGuard guard(out_is_fifo_);
  ssize_t n = out_is_socket_
                  ? send(out_fd_, data.data(), len, MSG_NOSIGNAL | MSG_DONTWAIT)
                  : write(out_fd_, data.data(), len);
  if (n >= 0) return static_cast<size_t>(n);
  if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) return 0;
  int err = errno;
  if (err == EPIPE) guard.NoteEpipe();
  return ErrnoStatus(absl::StrCat("write fd:", out_fd_), err);
}

Channel::Wakeup FdChannel::output_wakeup() const {
  absl::MutexLock lock(&write_mu_);
  Wakeup wakeup;
  wakeup.fd = out_fd_;
  wakeup.events = EPOLLOUT;
  return wakeup;
}

void FdChannel::Close() {
  absl::MutexLock lock(&write_mu_);
  if (closed_) return;
  closed_ = true;
  // Restore the terminal before the fd can go away.
  in_raw_.Restore();
  out_raw_.Restore();
  if (ownership_ == Ownership::kOwned) {
    if (in_fd_ >= 0) close(in_fd_);
    if (out_fd_ >= 0 && out_fd_ != in_fd_) close(out_fd_);
  }
  in_fd_ = -1;
  out_fd_ = -1;
}

}  // namespace kuml
