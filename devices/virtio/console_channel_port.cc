#include "devices/virtio/console_channel_port.h"

namespace kuml {

void ConsoleChannelPort::Bind(VirtioConsole* console, uint32_t port) {
  output_ = std::make_unique<LoopOutput>(
      loop_, channel_, [console, port] { console->ResumeOutput(port); });
  input_ = std::make_unique<LoopInput>(loop_, channel_, console->Input(port));
  input_->Start();
}

size_t ConsoleChannelPort::OnGuestOutput(absl::Span<const uint8_t> data) {
  return output_ != nullptr ? output_->Offer(data) : data.size();
}

}  // namespace kuml
