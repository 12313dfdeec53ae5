#include "devices/chan/loop_output.h"

#include <fcntl.h>

namespace kuml {

LoopOutput::LoopOutput(EventLoop* loop, Channel* channel,
                       std::function<void()> resume)
    : loop_(loop),
      channel_(channel),
      resume_(std::move(resume)),
      self_(std::make_shared<LoopOutput*>(this)) {
  Channel::Wakeup wakeup = channel_->output_wakeup();
  if (wakeup.fd < 0) return;
  wake_fd_.Reset(fcntl(wakeup.fd, F_DUPFD_CLOEXEC, 0));
  wake_events_ = wakeup.events;
}

LoopOutput::~LoopOutput() {
  absl::MutexLock lock(&mu_);
  if (armed_) loop_->Remove(wake_fd_.get());
}

size_t LoopOutput::Offer(absl::Span<const uint8_t> data) {
  absl::StatusOr<size_t> n = channel_->WriteSome(data);
  if (!n.ok()) {
    discarded_ += data.size();
    return data.size();
  }
  if (*n < data.size()) Arm();
  return *n;
}

void LoopOutput::Arm() {
  {
    absl::MutexLock lock(&mu_);
    if (armed_) return;
    if (wake_fd_.valid() &&
        loop_->Add(wake_fd_.get(), wake_events_, [this](uint32_t) { Wake(); })
            .ok()) {
      armed_ = true;
      return;
    }
  }
  // Nothing to wait on (no fd, or epoll refused it: such files never
  // block, so this was a transient short write): just try again soon.
  std::weak_ptr<LoopOutput*> weak = self_;
  loop_->Post([weak] {
    if (std::shared_ptr<LoopOutput*> self = weak.lock()) (*self)->resume_();
  });
}

void LoopOutput::Wake() {
  {
    absl::MutexLock lock(&mu_);
    if (!armed_) return;
    loop_->Remove(wake_fd_.get());  // one shot until the next Arm()
    armed_ = false;
  }
  resume_();
}

}  // namespace kuml
