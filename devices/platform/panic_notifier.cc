#include "devices/platform/panic_notifier.h"

#include <cstring>

namespace kuml {

void PanicNotifier::Read(uint64_t offset, uint8_t* data, uint32_t size) {
  std::memset(data, 0, size);
  if (offset == 0) data[0] = kPanicked;
}

void PanicNotifier::Write(uint64_t offset, const uint8_t* data, uint32_t size) {
  if (offset == 0 && (data[0] & kPanicked)) {
    sink_->OnGuestRequest(GuestRequest::kPanic);
  }
}

}  // namespace kuml
