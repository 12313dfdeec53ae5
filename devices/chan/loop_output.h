// LoopOutput: writes a line's output to a channel from the event loop
// without ever blocking it. What the channel cannot take now stays with the
// caller (a virtio-console port keeps the guest's buffer, so the guest is
// back-pressured and nothing is dropped); `resume` runs on the loop thread
// once the channel can take more.
#ifndef KUML_DEVICES_CHAN_LOOP_OUTPUT_H_
#define KUML_DEVICES_CHAN_LOOP_OUTPUT_H_

#include <atomic>
#include <functional>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "devices/chan/channel.h"
#include "util/unique_fd.h"
#include "vmm/event_loop.h"

namespace kuml {

class LoopOutput {
 public:
  // `loop` and `channel` are not owned and must outlive this object.
  LoopOutput(EventLoop* loop, Channel* channel, std::function<void()> resume);
  // On the loop thread, or once the loop no longer runs.
  ~LoopOutput();
  LoopOutput(const LoopOutput&) = delete;
  LoopOutput& operator=(const LoopOutput&) = delete;

  // Writes what the channel takes now and returns how many bytes of `data`
  // that was; fewer than offered means resume() will be called. A channel
  // whose host side is gone for good (EPIPE, EIO: the reader left, the
  // terminal hung up) takes and discards everything, so the guest goes on
  // as UML's does when its terminal disappears. Any thread.
  size_t Offer(absl::Span<const uint8_t> data);

  // Bytes discarded because the host side was gone.
  uint64_t discarded() const { return discarded_.load(); }

 private:
  void Arm();
  void Wake();

  EventLoop* const loop_;
  Channel* const channel_;
  const std::function<void()> resume_;
  // A dup of the channel's wakeup fd: the input side may watch the very
  // same fd for EPOLLIN, and the loop takes one registration per fd.
  UniqueFd wake_fd_;
  uint32_t wake_events_ = 0;
  absl::Mutex mu_;
  // Registered with the loop only while output waits: an idle registration
  // would still report EPOLLHUP, over and over, once the peer is gone.
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<uint64_t> discarded_{0};
  std::shared_ptr<LoopOutput*> self_;  // weak handle for posted retries
};

}  // namespace kuml

#endif  // KUML_DEVICES_CHAN_LOOP_OUTPUT_H_
