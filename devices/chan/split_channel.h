// SplitChannel: a line whose input and output are different host channels,
// UML's `<in chan>,<out chan>` (`ssl3=tty:/dev/tty2,xterm`): input comes
// only from the first, output goes only to the second. (fd:N,fd:M needs no
// split: one FdChannel takes two fds.)
#ifndef KUML_DEVICES_CHAN_SPLIT_CHANNEL_H_
#define KUML_DEVICES_CHAN_SPLIT_CHANNEL_H_

#include <memory>

#include "devices/chan/channel.h"

namespace kuml {

class SplitChannel : public Channel {
 public:
  // Both owned and non-null.
  SplitChannel(std::unique_ptr<Channel> input, std::unique_ptr<Channel> output)
      : input_(std::move(input)), output_(std::move(output)) {}
  ~SplitChannel() override { Close(); }

  int input_fd() const override { return input_->input_fd(); }
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> buffer) override {
    return input_->Read(buffer);
  }
  absl::Status Write(absl::Span<const uint8_t> data) override {
    return output_->Write(data);
  }
  absl::StatusOr<size_t> WriteSome(absl::Span<const uint8_t> data) override {
    return output_->WriteSome(data);
  }
  Wakeup output_wakeup() const override { return output_->output_wakeup(); }
  void Close() override {
    input_->Close();
    output_->Close();
  }

  Channel* input() const { return input_.get(); }
  Channel* output() const { return output_.get(); }

 private:
  std::unique_ptr<Channel> input_;
  std::unique_ptr<Channel> output_;
};

}  // namespace kuml

#endif  // KUML_DEVICES_CHAN_SPLIT_CHANNEL_H_
