#include "devices/chan/input_pump.h"

#include <algorithm>

namespace kuml {

InputPump::InputPump(Channel* channel, InputSink* sink, size_t chunk)
    : channel_(channel), sink_(sink), buffer_(std::max<size_t>(chunk, 1)) {}

InputPump::Next InputPump::Pump() {
  // Input only stops at a read that returned nothing, so there are never
  // leftovers once stopped.
  if (stopped_) return Next::kStop;
  if (!pending_.empty()) {
    size_t taken = sink_->ReceiveInput(pending_);
    pending_.erase(pending_.begin(), pending_.begin() + taken);
    if (!pending_.empty()) return Next::kPause;
  }

  size_t room = std::min(sink_->InputRoom(), buffer_.size());
  if (room == 0) return Next::kPause;

  absl::StatusOr<size_t> got =
      channel_->Read(absl::MakeSpan(buffer_.data(), room));
  if (!got.ok()) {
    if (absl::IsUnavailable(got.status())) return Next::kWatch;
    status_ = got.status();
    stopped_ = true;
    return Next::kStop;
  }
  if (*got == 0) {
    stopped_ = true;
    return Next::kStop;
  }
  size_t taken = sink_->ReceiveInput(absl::MakeConstSpan(buffer_.data(), *got));
  pending_.assign(buffer_.begin() + taken, buffer_.begin() + *got);
  return AfterHandOver();
}

InputPump::Next InputPump::AfterHandOver() {
  // The sink's room can only be zero here because of what we just gave it
  // (or the guest shrank it); either way the zero was seen by the sink, so
  // its room callback will fire when room comes back.
  if (!pending_.empty() || sink_->InputRoom() == 0) return Next::kPause;
  return Next::kWatch;
}

}  // namespace kuml
