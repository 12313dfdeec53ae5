#include "vmm/boot/e820.h"

#include <vector>

#include "gtest/gtest.h"
#include "vmm/boot/layout.h"
#include "vmm/guest_memory.h"

namespace kuml {
namespace {

// Properties every map must have, whatever the RAM size.
void CheckMapInvariants(const GuestMemory& mem,
                        const std::vector<E820Entry>& map) {
  uint64_t ram = 0;
  for (size_t i = 0; i < map.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_GT(map[i].size, 0u);
    if (i > 0) {
      EXPECT_GE(map[i].addr, map[i - 1].addr + map[i - 1].size)
          << "entries sorted and disjoint";
    }
    if (map[i].type == kE820Ram) {
      EXPECT_TRUE(mem.Contains(map[i].addr, map[i].size))
          << "RAM entries are backed by guest RAM";
      ram += map[i].size;
    }
    // The interrupt controllers are never RAM or reserved memory.
    for (uint64_t mmio : {layout::kIoApicAddr, layout::kLapicAddr}) {
      EXPECT_FALSE(mmio >= map[i].addr && mmio - map[i].addr < map[i].size);
    }
    // Nothing the loaders write below 1 MiB is listed as RAM except the
    // low 639 KiB they live in, and the MP table is not RAM.
    if (map[i].type == kE820Ram) {
      EXPECT_FALSE(layout::kMpTableAddr >= map[i].addr &&
                   layout::kMpTableAddr - map[i].addr < map[i].size);
    }
  }
  // All RAM except the 0x9fc00..0x100000 legacy window is usable.
  EXPECT_EQ(
      ram, mem.ram_bytes() - (layout::kHighMemoryStart - layout::kMpTableAddr));
}

TEST(E820Test, SmallGuest) {
  auto mem = std::move(GuestMemory::Create(64 << 20)).value();
  const std::vector<E820Entry> map = BuildE820Map(*mem);
  CheckMapInvariants(*mem, map);
  ASSERT_EQ(map.size(), 4u);
  EXPECT_EQ(map[0].addr, 0u);
  EXPECT_EQ(map[0].size, 0x9fc00u);
  EXPECT_EQ(map[0].type, kE820Ram);
  EXPECT_EQ(map[1].addr, 0x9fc00u);
  EXPECT_EQ(map[1].size, 0x400u);
  EXPECT_EQ(map[1].type, kE820Reserved);
  EXPECT_EQ(map[2].addr, 0xf0000u);
  EXPECT_EQ(map[2].size, 0x10000u);
  EXPECT_EQ(map[2].type, kE820Reserved);
  EXPECT_EQ(map[3].addr, 0x100000u);
  EXPECT_EQ(map[3].addr + map[3].size, 64u << 20);
  EXPECT_EQ(map[3].type, kE820Ram);
  EXPECT_EQ(LowRamEnd(*mem), 64u << 20);
}

TEST(E820Test, FourGiBGuestHasAHighRegion) {
  auto mem = std::move(GuestMemory::Create(4ull << 30)).value();
  const std::vector<E820Entry> map = BuildE820Map(*mem);
  CheckMapInvariants(*mem, map);
  ASSERT_EQ(map.size(), 5u);
  EXPECT_EQ(map[3].addr + map[3].size, GuestMemory::kMmioHoleStart);
  EXPECT_EQ(map[4].addr, GuestMemory::kHighRamStart);
  EXPECT_EQ(map[4].size, (4ull << 30) - GuestMemory::kMmioHoleStart);
  EXPECT_EQ(map[4].type, kE820Ram);
  EXPECT_EQ(LowRamEnd(*mem), GuestMemory::kMmioHoleStart);
}

TEST(E820Test, OneMiBGuestHasNoHighMemory) {
  auto mem = std::move(GuestMemory::Create(1 << 20)).value();
  const std::vector<E820Entry> map = BuildE820Map(*mem);
  CheckMapInvariants(*mem, map);
  ASSERT_EQ(map.size(), 3u);
  EXPECT_EQ(map[2].addr + map[2].size, 1u << 20);
}

}  // namespace
}  // namespace kuml
