// LoopInput: feeds a channel's input into a line device (an InputSink) on an
// event loop, with back-pressure: the wiring input_pump.h describes, once,
// for the 8250 console and every virtio-console port.
//
// While the sink has room, the channel's input_fd is watched for EPOLLIN and
// each wakeup pumps one chunk; when the sink is full the watch is paused
// until the sink's room callback; at end of input the watch is dropped for
// good. Channels whose fd epoll refuses (regular files, /dev/null) never
// block, so they are pumped from posted tasks until EOF.
#ifndef KUML_DEVICES_CHAN_LOOP_INPUT_H_
#define KUML_DEVICES_CHAN_LOOP_INPUT_H_

#include <memory>

#include "absl/status/status.h"
#include "devices/chan/channel.h"
#include "devices/chan/input_pump.h"
#include "devices/chan/input_sink.h"
#include "vmm/event_loop.h"

namespace kuml {

class LoopInput {
 public:
  // Nothing owned; `loop` and `channel` must outlive this object. The sink
  // may go first: its room callback holds only a weak reference.
  LoopInput(EventLoop* loop, Channel* channel, InputSink* sink);
  // On the loop thread, or once the loop no longer runs.
  ~LoopInput();
  LoopInput(const LoopInput&) = delete;
  LoopInput& operator=(const LoopInput&) = delete;

  // Starts watching (no-op for a channel without input). Before the loop
  // runs, or on its thread.
  void Start();

 private:
  void Step();
  void PostStep();

  EventLoop* const loop_;
  Channel* const channel_;
  InputPump pump_;
  int fd_ = -1;              // the channel's input fd; -1 once input ended
  bool pollable_ = false;    // epoll accepts fd_
  bool registered_ = false;  // fd_ is in the loop now (not while paused:
                             // a paused fd would still report EPOLLHUP)
  std::shared_ptr<LoopInput*> self_;  // weak handle for deferred steps
};

}  // namespace kuml

#endif  // KUML_DEVICES_CHAN_LOOP_INPUT_H_
