// ConsoleChannelPort: a virtio-console port whose host side is a Channel
// (a pty, a tty, a telnet client, fds ...), driven from the machine's event
// loop: channel input feeds the port with back-pressure (LoopInput), guest
// output goes to the channel without blocking the loop (LoopOutput).
#ifndef KUML_DEVICES_VIRTIO_CONSOLE_CHANNEL_PORT_H_
#define KUML_DEVICES_VIRTIO_CONSOLE_CHANNEL_PORT_H_

#include <memory>

#include "devices/chan/channel.h"
#include "devices/chan/loop_input.h"
#include "devices/chan/loop_output.h"
#include "devices/virtio/console_device.h"
#include "vmm/event_loop.h"

namespace kuml {

class ConsoleChannelPort : public ConsolePortHandler {
 public:
  // Not owned; both outlive the port (the channel usually outlives many
  // machines: it is opened once per kuml process).
  ConsoleChannelPort(EventLoop* loop, Channel* channel)
      : loop_(loop), channel_(channel) {}
  // A port that owns its channel (a line hot-plugged for one device's life).
  ConsoleChannelPort(EventLoop* loop, std::shared_ptr<Channel> channel)
      : loop_(loop), channel_(channel.get()), owned_(std::move(channel)) {}

  void Bind(VirtioConsole* console, uint32_t port) override;
  size_t OnGuestOutput(absl::Span<const uint8_t> data) override;

 private:
  EventLoop* const loop_;
  Channel* const channel_;
  // Declared before the loop glue so that it is destroyed after it.
  std::shared_ptr<Channel> owned_;
  std::unique_ptr<LoopInput> input_;
  std::unique_ptr<LoopOutput> output_;
};

}  // namespace kuml

#endif  // KUML_DEVICES_VIRTIO_CONSOLE_CHANNEL_PORT_H_
