// GuestMemory: the guest's physical RAM as seen from the VMM.
//
// RAM is laid out the way a PC expects it: the first part from guest physical
// address 0 up to the 32-bit MMIO hole, the rest (if any) from 4 GiB up. Every
// access the VMM makes on behalf of the guest goes through Translate(), which
// refuses any range that is not entirely inside one RAM region: addresses and
// lengths in descriptors come from the guest and are never trusted.
#ifndef KUML_VMM_GUEST_MEMORY_H_
#define KUML_VMM_GUEST_MEMORY_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "util/mapping.h"

namespace kuml {

// One contiguous piece of guest RAM and where it lives in the VMM.
struct GuestRegion {
  uint64_t gpa = 0;  // first guest physical address
  uint64_t size = 0;
  uint8_t* host = nullptr;  // host address of `gpa`
};

class GuestMemory {
 public:
  // Guest physical layout constants (x86 PC).
  static constexpr uint64_t kMmioHoleStart = 0xC000'0000;   // 3 GiB
  static constexpr uint64_t kHighRamStart = 0x1'0000'0000;  // 4 GiB
  // Smallest and largest RAM we accept.
  static constexpr uint64_t kMinRamBytes = 1ull << 20;
  static constexpr uint64_t kMaxRamBytes = 1ull << 40;

  // Allocates `ram_bytes` of zero-filled guest RAM (host pages are taken only
  // when touched). `ram_bytes` must be a multiple of 4 KiB.
  static absl::StatusOr<std::unique_ptr<GuestMemory>> Create(
      uint64_t ram_bytes);

  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  uint64_t ram_bytes() const { return ram_bytes_; }
  const std::vector<GuestRegion>& regions() const { return regions_; }

  // Host pointer to [gpa, gpa + len). OutOfRange if any byte of it is not
  // guest RAM or the range crosses from one region into another. len 0 is
  // accepted for any gpa inside or at the end of a region.
  absl::StatusOr<uint8_t*> Translate(uint64_t gpa, uint64_t len) const;

  // True when [gpa, gpa + len) is entirely guest RAM in one region.
  bool Contains(uint64_t gpa, uint64_t len) const {
    return Translate(gpa, len).ok();
  }

  absl::Status Read(uint64_t gpa, void* dst, uint64_t len) const;
  absl::Status Write(uint64_t gpa, const void* src, uint64_t len);
  // Fills [gpa, gpa + len) with zero bytes.
  absl::Status Zero(uint64_t gpa, uint64_t len);

  template <typename T>
  absl::StatusOr<T> ReadObject(uint64_t gpa) const {
    static_assert(std::is_trivially_copyable<T>::value, "POD only");
    T value;
    absl::Status s = Read(gpa, &value, sizeof(T));
    if (!s.ok()) return s;
    return value;
  }

  template <typename T>
  absl::Status WriteObject(uint64_t gpa, const T& value) {
    static_assert(std::is_trivially_copyable<T>::value, "POD only");
    return Write(gpa, &value, sizeof(T));
  }

 private:
  GuestMemory(Mapping mapping, uint64_t ram_bytes);

  Mapping mapping_;  // all RAM regions, back to back
  uint64_t ram_bytes_;
  std::vector<GuestRegion> regions_;
};

}  // namespace kuml

#endif  // KUML_VMM_GUEST_MEMORY_H_
