// FdChannel: a channel over host file descriptors, UML's `fd:N`.
//
// `con0=fd:0,fd:1` is one FdChannel reading fd 0 and writing fd 1;
// `con2=fd:3` reads and writes fd 3. Either side may be absent (-1).
//
// Ownership: with Ownership::kBorrowed (what `fd:N` means) the fds belong to
// the process (stdin/stdout, or fds the user's shell opened) and are never
// closed; with kOwned (fds a later channel kind opened itself: a tty device,
// a pty master) the channel closes them in Close()/the destructor, once even
// when both sides are the same fd, and also when Create() fails.
//
// The channel never changes the fds' file status flags (O_NONBLOCK is shared
// with every other process holding the same open file, e.g. the user's
// shell): reads are preceded by a zero-timeout poll so they never block, and
// writes handle both blocking fds and non-blocking ones (EAGAIN -> wait in
// poll for POLLOUT). Writing to a pipe or socket whose reader is gone fails
// with an error instead of killing the process with SIGPIPE.
//
// With `raw` set (the default, as UML does unless `ssl-non-raw`), any side
// that is a terminal is put into raw mode for the channel's life; see
// terminal_mode.h for how the mode is restored even on fatal signals.
#ifndef KUML_DEVICES_CHAN_FD_CHANNEL_H_
#define KUML_DEVICES_CHAN_FD_CHANNEL_H_

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "devices/chan/channel.h"
#include "devices/chan/terminal_mode.h"

namespace kuml {

class FdChannel : public Channel {
 public:
  enum class Ownership { kBorrowed, kOwned };

  struct Options {
    int in_fd = -1;   // -1: no input (Read() reports EOF)
    int out_fd = -1;  // -1: no output (Write() discards)
    Ownership ownership = Ownership::kBorrowed;
    bool raw = true;  // put terminal fds into raw mode while open
  };

  // Checks that the fds are open for reading / writing and sets raw mode.
  static absl::StatusOr<std::unique_ptr<FdChannel>> Create(
      const Options& options);

  ~FdChannel() override;
  FdChannel(const FdChannel&) = delete;
  FdChannel& operator=(const FdChannel&) = delete;

  int input_fd() const override;
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> buffer) override;
  absl::Status Write(absl::Span<const uint8_t> data) override;
  void Close() override;
  // Polls the output fd first and, on an fd in blocking mode (shared with
  // other processes), writes at most PIPE_BUF bytes at a time so that a
  // write after POLLOUT does not block for long.
  absl::StatusOr<size_t> WriteSome(absl::Span<const uint8_t> data) override;
  Wakeup output_wakeup() const override;

 private:
  explicit FdChannel(const Options& options);
  absl::Status Init(const Options& options);
  absl::Status WriteLocked(absl::Span<const uint8_t> data)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  const Ownership ownership_;
  // Input side: event-loop thread only.
  int in_fd_;
  bool input_ended_ = false;
  RawTerminal in_raw_;

  mutable absl::Mutex write_mu_;
  int out_fd_ ABSL_GUARDED_BY(write_mu_);
  bool out_nonblocking_ ABSL_GUARDED_BY(write_mu_) = false;
  bool out_is_socket_ ABSL_GUARDED_BY(write_mu_) = false;  // send(NOSIGNAL)
  bool out_is_fifo_ ABSL_GUARDED_BY(write_mu_) = false;    // SIGPIPE guard
  bool closed_ ABSL_GUARDED_BY(write_mu_) = false;
  RawTerminal out_raw_;
};

}  // namespace kuml

#endif  // KUML_DEVICES_CHAN_FD_CHANNEL_H_
