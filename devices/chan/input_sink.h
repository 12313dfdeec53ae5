// InputSink: the guest-facing end of a line's input (the UART's receive
// FIFO, later a virtio-console receive queue), as seen by the host side.
//
// A sink holds a bounded amount of input. The host side asks how much room
// there is, hands over at most that much, and stops reading its fd while
// there is none; the sink calls the room callback when the guest has made
// room again. Input is never dropped for lack of space: the host keeps it
// (in the host fd, or in the pump's leftover) until there is room.
#ifndef KUML_DEVICES_CHAN_INPUT_SINK_H_
#define KUML_DEVICES_CHAN_INPUT_SINK_H_

#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/types/span.h"

namespace kuml {

class InputSink {
 public:
  virtual ~InputSink() = default;

  // Bytes the sink would accept now. Only the guest changes it (it grows as
  // the guest reads; it can also shrink when the guest reconfigures the
  // device), so a later ReceiveInput may accept less than this said.
  virtual size_t InputRoom() = 0;

  // Takes as much of `bytes` as fits, in order; returns how many it took.
  // The caller keeps the rest and offers it again after the room callback.
  virtual size_t ReceiveInput(absl::Span<const uint8_t> bytes) = 0;

  // `callback` runs whenever the room goes from zero to non-zero. It runs on
  // whatever thread made the room (usually a vCPU thread), with no device
  // lock held; it should just wake the event loop (EventLoop::Post) and
  // must not block.
  virtual void SetRoomCallback(std::function<void()> callback) = 0;
};

}  // namespace kuml

#endif  // KUML_DEVICES_CHAN_INPUT_SINK_H_
