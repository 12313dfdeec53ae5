#include "devices/virtio/mmio_hot_slot.h"

#include <cstring>

namespace kuml {

void MmioHotSlot::Read(uint64_t offset, uint8_t* data, uint32_t size) {
  absl::ReaderMutexLock lock(&mu_);
  if (transport_ != nullptr) {
    transport_->Read(offset, data, size);
    return;
  }
  std::memset(data, 0, size);
  if (size != 4 || offset % 4 != 0) return;
  uint32_t value = 0;
  switch (offset) {
    case 0x000:
      value = MmioTransport::kMagic;
      break;
    case 0x004:
      value = MmioTransport::kVersion;
      break;
    case 0x00c:
      value = MmioTransport::kVendorId;
      break;
    default:  // DeviceID (0x008) and everything else: 0
      break;
  }
  std::memcpy(data, &value, sizeof(value));
}

void MmioHotSlot::Write(uint64_t offset, const uint8_t* data, uint32_t size) {
  absl::ReaderMutexLock lock(&mu_);
  if (transport_ != nullptr) transport_->Write(offset, data, size);
}

void MmioHotSlot::Set(MmioTransport* transport) {
  absl::MutexLock lock(&mu_);
  transport_ = transport;
}

bool MmioHotSlot::empty() const {
  absl::ReaderMutexLock lock(&mu_);
  return transport_ == nullptr;
}

}  // namespace kuml
