#include "devices/platform/reset_control.h"

#include <cstring>

namespace kuml {

void ResetControl::Read(uint64_t offset, uint8_t* data, uint32_t size) {
  // i8042 status: output buffer empty, input buffer empty. 0xcf9: zero.
  std::memset(data, 0, size);
}

void ResetControl::Write(uint64_t offset, const uint8_t* data, uint32_t size) {
  uint64_t port = base_ + offset;
  if (port == kI8042Base + 4 && data[0] == kI8042PulseReset) {
    sink_->OnGuestRequest(GuestRequest::kReset);
  } else if (port == kCf9Port && (data[0] & kCf9ResetCpu)) {
    sink_->OnGuestRequest(GuestRequest::kReset);
  }
}

}  // namespace kuml
