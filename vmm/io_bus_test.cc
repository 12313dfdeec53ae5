#include "vmm/io_bus.h"

#include <vector>

#include "gtest/gtest.h"

namespace kuml {
namespace {

class RecordingDevice : public BusDevice {
 public:
  void Read(uint64_t offset, uint8_t* data, uint32_t size) override {
    for (uint32_t i = 0; i < size; ++i)
      data[i] = static_cast<uint8_t>(offset + i);
    reads.push_back(offset);
  }
  void Write(uint64_t offset, const uint8_t* data, uint32_t size) override {
    writes.push_back(offset);
    last = data[0];
  }
  std::vector<uint64_t> reads, writes;
  uint8_t last = 0;
};

TEST(IoBusTest, DispatchesWithRelativeOffsets) {
  IoBus bus;
  RecordingDevice dev;
  ASSERT_TRUE(bus.Register(0x3f8, 8, &dev).ok());
  uint8_t b = 0x41;
  EXPECT_TRUE(bus.Write(0x3f8, &b, 1));
  EXPECT_TRUE(bus.Write(0x3fd, &b, 1));
  EXPECT_EQ(dev.writes, (std::vector<uint64_t>{0, 5}));
  uint8_t r[2];
  EXPECT_TRUE(bus.Read(0x3fe, r, 2));
  EXPECT_EQ(r[0], 6);
  EXPECT_EQ(r[1], 7);
}

TEST(IoBusTest, UnclaimedAccessesReadAllOnes) {
  IoBus bus;
  RecordingDevice dev;
  ASSERT_TRUE(bus.Register(0x1000, 0x100, &dev).ok());
  uint8_t r[4] = {0};
  EXPECT_FALSE(bus.Read(0x2000, r, 4));
  EXPECT_EQ(r[0], 0xff);
  // An access that straddles the end of a device is not the device's.
  EXPECT_FALSE(bus.Read(0x10fe, r, 4));
  EXPECT_FALSE(bus.Read(0xfff, r, 1));
}

TEST(IoBusTest, RefusesOverlapsAndEmptyRanges) {
  IoBus bus;
  RecordingDevice a, b;
  ASSERT_TRUE(bus.Register(0x1000, 0x100, &a).ok());
  EXPECT_FALSE(bus.Register(0x10ff, 1, &b).ok());
  EXPECT_FALSE(bus.Register(0xf00, 0x101, &b).ok());
  EXPECT_FALSE(bus.Register(0x2000, 0, &b).ok());
  EXPECT_FALSE(bus.Register(~0ull - 1, 4, &b).ok());
  EXPECT_TRUE(bus.Register(0x1100, 0x100, &b).ok());
  bus.Unregister(0x1000);
  EXPECT_TRUE(bus.Register(0x1000, 0x100, &b).ok());
}

}  // namespace
}  // namespace kuml
