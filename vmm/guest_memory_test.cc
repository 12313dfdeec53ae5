#include "vmm/guest_memory.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace kuml {
namespace {

TEST(GuestMemoryTest, SmallGuestIsOneRegionFromZero) {
  auto mem = GuestMemory::Create(64 << 20);
  ASSERT_TRUE(mem.ok()) << mem.status();
  ASSERT_EQ((*mem)->regions().size(), 1u);
  EXPECT_EQ((*mem)->regions()[0].gpa, 0u);
  EXPECT_EQ((*mem)->regions()[0].size, 64u << 20);
}

TEST(GuestMemoryTest, LargeGuestSplitsAroundTheMmioHole) {
  uint64_t size = 4ull << 30;
  auto mem = GuestMemory::Create(size);
  ASSERT_TRUE(mem.ok()) << mem.status();
  const auto& regions = (*mem)->regions();
  ASSERT_EQ(regions.size(), 2u);
  EXPECT_EQ(regions[0].size, GuestMemory::kMmioHoleStart);
  EXPECT_EQ(regions[1].gpa, GuestMemory::kHighRamStart);
  EXPECT_EQ(regions[1].size, size - GuestMemory::kMmioHoleStart);
  EXPECT_FALSE((*mem)->Contains(GuestMemory::kMmioHoleStart, 1));
  EXPECT_TRUE((*mem)->Contains(GuestMemory::kHighRamStart, 4096));
  // A range that runs from the low region into the hole is refused.
  EXPECT_FALSE((*mem)->Contains(GuestMemory::kMmioHoleStart - 8, 16));
}

TEST(GuestMemoryTest, RefusesBadSizes) {
  EXPECT_FALSE(GuestMemory::Create(0).ok());
  EXPECT_FALSE(GuestMemory::Create((1 << 20) + 1).ok());
  EXPECT_FALSE(GuestMemory::Create(GuestMemory::kMaxRamBytes * 2).ok());
}

TEST(GuestMemoryTest, ReadWriteRoundTrip) {
  auto mem = std::move(GuestMemory::Create(1 << 20)).value();
  uint64_t v = 0x1122334455667788;
  ASSERT_TRUE(mem->WriteObject(0x1000, v).ok());
  auto back = mem->ReadObject<uint64_t>(0x1000);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, v);
  ASSERT_TRUE(mem->Zero(0x1000, 8).ok());
  EXPECT_EQ(*mem->ReadObject<uint64_t>(0x1000), 0u);
}

TEST(GuestMemoryTest, HostileRangesAreRefused) {
  auto mem = std::move(GuestMemory::Create(1 << 20)).value();
  const uint64_t end = 1 << 20;
  EXPECT_TRUE(mem->Contains(end - 1, 1));
  EXPECT_TRUE(mem->Contains(end, 0));
  EXPECT_FALSE(mem->Contains(end, 1));
  EXPECT_FALSE(mem->Contains(end - 1, 2));
  // Lengths and addresses chosen to overflow a naive gpa + len check.
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  EXPECT_FALSE(mem->Contains(0x1000, max));
  EXPECT_FALSE(mem->Contains(max, 2));
  EXPECT_FALSE(mem->Contains(max - 0xfff, 0x2000));
  uint8_t buf[16];
  EXPECT_EQ(mem->Read(end - 8, buf, 16).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(mem->Write(max - 3, buf, 8).code(), absl::StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace kuml
