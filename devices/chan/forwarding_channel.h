// ForwardingChannel: a Channel that passes every call to another one, for
// channels that are an existing channel plus something they own (a pty's
// held slave, a terminal emulator process).
#ifndef KUML_DEVICES_CHAN_FORWARDING_CHANNEL_H_
#define KUML_DEVICES_CHAN_FORWARDING_CHANNEL_H_

#include <memory>

#include "devices/chan/channel.h"

namespace kuml {

class ForwardingChannel : public Channel {
 public:
  explicit ForwardingChannel(std::unique_ptr<Channel> target)
      : target_(std::move(target)) {}

  int input_fd() const override { return target_->input_fd(); }
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> buffer) override {
    return target_->Read(buffer);
  }
  absl::Status Write(absl::Span<const uint8_t> data) override {
    return target_->Write(data);
  }
  absl::StatusOr<size_t> WriteSome(absl::Span<const uint8_t> data) override {
    return target_->WriteSome(data);
  }
  Wakeup output_wakeup() const override { return target_->output_wakeup(); }
  void Close() override { target_->Close(); }

 protected:
  Channel* target() const { return target_.get(); }

 private:
  std::unique_ptr<Channel> target_;
};

}  // namespace kuml

#endif  // KUML_DEVICES_CHAN_FORWARDING_CHANNEL_H_
