#include <vector>

#include "devices/platform/panic_notifier.h"
#include "devices/platform/power_control.h"
#include "devices/platform/reset_control.h"
#include "gtest/gtest.h"
#include "vmm/io_bus.h"

namespace kuml {
namespace {

class RecordingSink : public GuestRequestSink {
 public:
  void OnGuestRequest(GuestRequest r) override { requests.push_back(r); }
  std::vector<GuestRequest> requests;
};

class PlatformTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        bus_.Register(PowerControl::kPort, PowerControl::kLength, &power_)
            .ok());
    ASSERT_TRUE(bus_.Register(ResetControl::kI8042Base,
                              ResetControl::kI8042Length, &i8042_)
                    .ok());
    ASSERT_TRUE(bus_.Register(ResetControl::kCf9Port, 1, &cf9_).ok());
    ASSERT_TRUE(bus_.Register(PanicNotifier::kPort, 1, &panic_).ok());
  }
  void Out8(uint16_t port, uint8_t v) { bus_.Write(port, &v, 1); }
  void Out16(uint16_t port, uint16_t v) {
    uint8_t b[2] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)};
    bus_.Write(port, b, 2);
  }
  uint8_t In8(uint16_t port) {
    uint8_t v;
    bus_.Read(port, &v, 1);
    return v;
  }

  RecordingSink sink_;
  IoBus bus_;
  PowerControl power_{&sink_};
  ResetControl i8042_{&sink_, ResetControl::kI8042Base};
  ResetControl cf9_{&sink_, ResetControl::kCf9Port};
  PanicNotifier panic_{&sink_};
};

TEST_F(PlatformTest, SleepEnablePowersOff) {
  Out16(PowerControl::kPort, 5 << 10);  // SLP_TYP alone does nothing
  EXPECT_TRUE(sink_.requests.empty());
  Out16(PowerControl::kPort, (5 << 10) | PowerControl::kSleepEnable);
  ASSERT_EQ(sink_.requests.size(), 1u);
  EXPECT_EQ(sink_.requests[0], GuestRequest::kPowerOff);
  // Byte-wise: the high byte carries SLP_EN.
  Out8(PowerControl::kPort + 1, 0x20);
  EXPECT_EQ(sink_.requests.size(), 2u);
}

TEST_F(PlatformTest, KeyboardControllerAndCf9Reset) {
  EXPECT_EQ(In8(0x64), 0) << "idle controller, so kb_wait() returns";
  Out8(0x64, 0xd1);  // another command: ignored
  Out8(0x60, 0xfe);  // data port, not the command port
  EXPECT_TRUE(sink_.requests.empty());
  Out8(0x64, 0xfe);
  Out8(0xcf9, 0x02);  // SYS_RST alone: not a CPU reset
  Out8(0xcf9, 0x06);
  ASSERT_EQ(sink_.requests.size(), 2u);
  EXPECT_EQ(sink_.requests[0], GuestRequest::kReset);
  EXPECT_EQ(sink_.requests[1], GuestRequest::kReset);
}

TEST_F(PlatformTest, PanicPort) {
  EXPECT_EQ(In8(PanicNotifier::kPort), PanicNotifier::kPanicked);
  Out8(PanicNotifier::kPort, 0x2);  // crash-loaded only: not a panic
  EXPECT_TRUE(sink_.requests.empty());
  Out8(PanicNotifier::kPort, 0x1);
  ASSERT_EQ(sink_.requests.size(), 1u);
  EXPECT_EQ(sink_.requests[0], GuestRequest::kPanic);
}

}  // namespace
}  // namespace kuml
