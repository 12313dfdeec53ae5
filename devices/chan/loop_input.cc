#include "devices/chan/loop_input.h"

#include <sys/epoll.h>

namespace kuml {

LoopInput::LoopInput(EventLoop* loop, Channel* channel, InputSink* sink)
    : loop_(loop),
      channel_(channel),
      pump_(channel, sink),
      self_(std::make_shared<LoopInput*>(this)) {
  std::weak_ptr<LoopInput*> weak = self_;
  EventLoop* l = loop_;
  sink->SetRoomCallback([l, weak] {
    l->Post([weak] {
      if (std::shared_ptr<LoopInput*> self = weak.lock()) (*self)->Step();
    });
  });
}

LoopInput::~LoopInput() {
  if (registered_) loop_->Remove(fd_);
}

void LoopInput::Start() {
  fd_ = channel_->input_fd();
  if (fd_ < 0) return;
  pollable_ = registered_ =
      loop_->Add(fd_, EPOLLIN, [this](uint32_t) { Step(); }).ok();
  if (!pollable_) PostStep();
}

void LoopInput::PostStep() {
  std::weak_ptr<LoopInput*> weak = self_;
  loop_->Post([weak] {
    if (std::shared_ptr<LoopInput*> self = weak.lock()) (*self)->Step();
  });
}

void LoopInput::Step() {
  if (fd_ < 0) return;
  switch (pump_.Pump()) {
    case InputPump::Next::kWatch:
      if (!pollable_) {
        PostStep();  // never blocks: keep pumping until EOF
      } else if (!registered_) {
        registered_ =
            loop_->Add(fd_, EPOLLIN, [this](uint32_t) { Step(); }).ok();
      }
      return;
    case InputPump::Next::kPause:
      // The sink's room callback brings us back.
      if (registered_) loop_->Remove(fd_);
      registered_ = false;
      return;
    case InputPump::Next::kStop:
      if (registered_) loop_->Remove(fd_);
      registered_ = false;
      fd_ = -1;
      return;
  }
}

}  // namespace kuml
