// Channel: the host side of a guest character line (a console or serial
// line): where the guest's output goes and where its input comes from.
//
// This is UML's "chan" (`con0=fd:0,fd:1`, `ssl0=pts`, `con1=null` ...). A
// channel has an input side and an output side, which may be different host
// objects (fd 0 for input, fd 1 for output) or absent (`null` has neither).
// Line devices (the 8250 UART, later virtio-console) write to it and are fed
// from it; an InputPump (input_pump.h) moves input on the event loop.
//
// Threads: Read() and input_fd() belong to the event-loop thread. Write() may
// be called from any thread (vCPU threads); implementations serialise
// concurrent writes so chunks never interleave. Close() must not race with
// Read() or Write(): stop the line's users first.
#ifndef KUML_DEVICES_CHAN_CHANNEL_H_
#define KUML_DEVICES_CHAN_CHANNEL_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace kuml {

class Channel {
 public:
  virtual ~Channel() = default;

  // The host fd whose readability means input is waiting, for the event loop
  // to watch; -1 when the channel has no input side (or its input ended or
  // the channel is closed). Note that epoll refuses some readable fds
  // (regular files, /dev/null: EPERM); those never block, so the loop can
  // simply pump them until EOF.
  virtual int input_fd() const = 0;

  // Reads what input is available into `buffer` without blocking.
  // Returns the count read; 0 means end of input (the host side closed,
  // /dev/null, no input side): input stops for good and nothing else is
  // affected. absl::IsUnavailable(status) means nothing is waiting right now
  // (a spurious wakeup); other errors also end input.
  virtual absl::StatusOr<size_t> Read(absl::Span<uint8_t> buffer) = 0;

  // Writes all of `data`, in order. Never drops bytes to make progress: when
  // the host side is full the caller blocks until it drains (output
  // back-pressure). Fails only when the host side is gone (EPIPE, EIO) or
  // the channel is closed; a channel without an output side accepts and
  // discards everything (like UML's `null`).
  virtual absl::Status Write(absl::Span<const uint8_t> data) = 0;

  // Releases the host side: closes what the channel owns, restores terminal
  // modes. Idempotent; also done by the destructor.
  virtual void Close() = 0;

  // ---- Non-blocking output, for event-driven line devices ----
  // (virtio-console ports run on the event loop, which must never block on
  // one slow reader.)

  // What to wait for before WriteSome() can take more: an fd and the epoll
  // events that mean "try again". fd -1: WriteSome never returns 0.
  struct Wakeup {
    int fd = -1;
    uint32_t events = 0;  // EPOLLOUT, EPOLLIN, ...
  };

  // Writes as much of `data` as the host side takes without blocking (short
  // blocks are possible on fds shared with other processes, which stay in
  // blocking mode) and returns how many bytes were consumed, in order. 0
  // means "full": wait for output_wakeup(), nothing was dropped. Errors as
  // Write(). The default blocks in Write().
  virtual absl::StatusOr<size_t> WriteSome(absl::Span<const uint8_t> data) {
    absl::Status status = Write(data);
    if (!status.ok()) return status;
    return data.size();
  }
  virtual Wakeup output_wakeup() const { return Wakeup(); }
};

}  // namespace kuml

#endif  // KUML_DEVICES_CHAN_CHANNEL_H_
