#include "devices/platform/power_control.h"

#include <cstring>

namespace kuml {

void PowerControl::Read(uint64_t offset, uint8_t* data, uint32_t size) {
  std::memset(data, 0, size);
  // SLP_EN reads as zero; the other bits read back what was written.
  uint16_t v = value_ & ~kSleepEnable;
  for (uint32_t i = 0; i < size && offset + i < kLength; ++i) {
    data[i] = static_cast<uint8_t>(v >> (8 * (offset + i)));
  }
}

void PowerControl::Write(uint64_t offset, const uint8_t* data, uint32_t size) {
  for (uint32_t i = 0; i < size && offset + i < kLength; ++i) {
    int shift = 8 * (offset + i);
    value_ = (value_ & ~(0xff << shift)) | (data[i] << shift);
  }
  if (value_ & kSleepEnable) {
    value_ &= ~kSleepEnable;
    sink_->OnGuestRequest(GuestRequest::kPowerOff);
  }
}

}  // namespace kuml
