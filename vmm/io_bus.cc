#include "vmm/io_bus.h"

#include <cstring>

#include "absl/strings/str_format.h"

namespace kuml {

absl::Status IoBus::Register(uint64_t base, uint64_t length,
                             BusDevice* device) {
  if (length == 0 || base + length < base) {
    return absl::InvalidArgumentError(
        absl::StrFormat("bad bus range [%#x, +%#x)", base, length));
  }
  absl::MutexLock lock(&mu_);
  auto next = ranges_.lower_bound(base);
  if (next != ranges_.end() && next->first < base + length) {
    return absl::AlreadyExistsError(
        absl::StrFormat("bus range [%#x, +%#x) overlaps one at %#x", base,
                        length, next->first));
  }
  if (next != ranges_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second.length > base) {
      return absl::AlreadyExistsError(
          absl::StrFormat("bus range [%#x, +%#x) overlaps one at %#x", base,
                          length, prev->first));
    }
  }
  ranges_[base] = Range{length, device};
  return absl::OkStatus();
}

void IoBus::Unregister(uint64_t base) {
  absl::MutexLock lock(&mu_);
  ranges_.erase(base);
}

BusDevice* IoBus::Find(uint64_t addr, uint32_t size, uint64_t* offset) const {
  auto it = ranges_.upper_bound(addr);
  if (it == ranges_.begin()) return nullptr;
  --it;
  uint64_t off = addr - it->first;
  if (off >= it->second.length || size > it->second.length - off) {
    return nullptr;
  }
  *offset = off;
  return it->second.device;
}

bool IoBus::Read(uint64_t addr, uint8_t* data, uint32_t size) const {
  uint64_t offset = 0;
  BusDevice* device;
  {
    absl::ReaderMutexLock lock(&mu_);
    device = Find(addr, size, &offset);
  }
  if (device == nullptr) {
    std::memset(data, 0xff, size);
    return false;
  }
  device->Read(offset, data, size);
  return true;
}

bool IoBus::Write(uint64_t addr, const uint8_t* data, uint32_t size) const {
  uint64_t offset = 0;
  BusDevice* device;
  {
    absl::ReaderMutexLock lock(&mu_);
    device = Find(addr, size, &offset);
  }
  if (device == nullptr) return false;
  device->Write(offset, data, size);
  return true;
}

}  // namespace kuml
