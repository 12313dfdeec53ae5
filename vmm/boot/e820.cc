#include "vmm/boot/e820.h"

#include <algorithm>

#include "vmm/boot/layout.h"

namespace kuml {

uint64_t LowRamEnd(const GuestMemory& mem) {
  for (const GuestRegion& r : mem.regions()) {
    if (r.gpa == 0) return r.size;
  }
  return 0;
}

std::vector<E820Entry> BuildE820Map(const GuestMemory& mem) {
  const uint64_t low_end = LowRamEnd(mem);
  std::vector<E820Entry> map;
  // Adds [start, end) clipped to low RAM; empty ranges are dropped.
  auto add_low = [&](uint64_t start, uint64_t end, uint32_t type) {
    end = std::min(end, low_end);
    if (start < end) map.push_back({start, end - start, type});
  };
  add_low(0, layout::kMpTableAddr, kE820Ram);
  add_low(layout::kMpTableAddr, layout::kEbdaEnd, kE820Reserved);
  add_low(layout::kBiosAreaStart, layout::kBiosAreaEnd, kE820Reserved);
  add_low(layout::kHighMemoryStart, low_end, kE820Ram);
  for (const GuestRegion& r : mem.regions()) {
    if (r.gpa != 0 && r.size != 0) map.push_back({r.gpa, r.size, kE820Ram});
  }
  return map;
}

}  // namespace kuml
