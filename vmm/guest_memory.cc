#include "vmm/guest_memory.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace kuml {

absl::StatusOr<std::unique_ptr<GuestMemory>> GuestMemory::Create(
    uint64_t ram_bytes) {
  if (ram_bytes < kMinRamBytes || ram_bytes > kMaxRamBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("guest memory size %u bytes is outside [%u, %u]",
                        ram_bytes, kMinRamBytes, kMaxRamBytes));
  }
  if (ram_bytes % 4096 != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "guest memory size %u bytes is not a multiple of 4 KiB", ram_bytes));
  }
  absl::StatusOr<Mapping> mapping =
      Mapping::Anonymous(ram_bytes, "mmap guest memory");
  if (!mapping.ok()) return mapping.status();
  // Guests take pages only as they touch them; huge pages cut the number of
  // host page-table entries (and KVM's) for big guests.
  madvise(mapping->data(), ram_bytes, MADV_HUGEPAGE);
  return std::unique_ptr<GuestMemory>(
      new GuestMemory(std::move(*mapping), ram_bytes));
}

GuestMemory::GuestMemory(Mapping mapping, uint64_t ram_bytes)
    : mapping_(std::move(mapping)), ram_bytes_(ram_bytes) {
  uint64_t low = std::min(ram_bytes, kMmioHoleStart);
  regions_.push_back({0, low, mapping_.data()});
  if (ram_bytes > low) {
    regions_.push_back({kHighRamStart, ram_bytes - low, mapping_.data() + low});
  }
}

absl::StatusOr<uint8_t*> GuestMemory::Translate(uint64_t gpa,
                                                uint64_t len) const {
  for (const GuestRegion& r : regions_) {
    if (gpa < r.gpa || gpa - r.gpa > r.size) continue;
    uint64_t offset = gpa - r.gpa;
    // Written so that no sum can overflow: offset <= size holds here.
    if (len > r.size - offset) break;
    return r.host + offset;
  }
  return absl::OutOfRangeError(absl::StrFormat(
      "guest physical range [%#x, +%#x) is not guest RAM", gpa, len));
}

absl::Status GuestMemory::Read(uint64_t gpa, void* dst, uint64_t len) const {
  absl::StatusOr<uint8_t*> p = Translate(gpa, len);
  if (!p.ok()) return p.status();
  std::memcpy(dst, *p, len);
  return absl::OkStatus();
}

absl::Status GuestMemory::Write(uint64_t gpa, const void* src, uint64_t len) {
  absl::StatusOr<uint8_t*> p = Translate(gpa, len);
  if (!p.ok()) return p.status();
  std::memcpy(*p, src, len);
  return absl::OkStatus();
}

absl::Status GuestMemory::Zero(uint64_t gpa, uint64_t len) {
  absl::StatusOr<uint8_t*> p = Translate(gpa, len);
  if (!p.ok()) return p.status();
  std::memset(*p, 0, len);
  return absl::OkStatus();
}

}  // namespace kuml
