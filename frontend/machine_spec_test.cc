#include "frontend/machine_spec.h"

#include "frontend/command_line.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using Type = ChannelSpec::Type;

MachineSpec Parse(const std::vector<std::string>& args) {
  absl::StatusOr<MachineSpec> spec = ParseCommandLine(args);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : MachineSpec{};
}

TEST(EffectiveLineTest, BuiltInDefaults) {
  const MachineSpec spec;
  LineSpec con0 = EffectiveLine(spec, LineKind::kConsole, 0);
  EXPECT_FALSE(con0.none);
  EXPECT_EQ(con0.input.type, Type::kFd);
  EXPECT_EQ(con0.input.fd, 0);
  EXPECT_EQ(con0.output.type, Type::kFd);
  EXPECT_EQ(con0.output.fd, 1);
  EXPECT_EQ(con0.config, "fd:0,fd:1");
  EXPECT_EQ(con0.switch_text, "");
  for (int n = 1; n < kMaxConsoles; ++n) {
    LineSpec line = EffectiveLine(spec, LineKind::kConsole, n);
    EXPECT_TRUE(line.none) << n;
    EXPECT_EQ(line.switch_text, "");
  }
  for (int n = 0; n < kMaxSerialLines; ++n) {
    EXPECT_TRUE(EffectiveLine(spec, LineKind::kSerial, n).none) << n;
  }
}

TEST(EffectiveLineTest, OutOfRangeIsNone) {
  const MachineSpec spec = Parse({"con=pts", "ssl=pts"});
  EXPECT_TRUE(EffectiveLine(spec, LineKind::kConsole, -1).none);
  EXPECT_TRUE(EffectiveLine(spec, LineKind::kConsole, 16).none);
  EXPECT_TRUE(EffectiveLine(spec, LineKind::kSerial, 64).none);
  EXPECT_FALSE(EffectiveLine(spec, LineKind::kSerial, 63).none);
}

// A specific device beats con=/ssl= whatever their order (HOWTO 5.1).
TEST(EffectiveLineTest, SpecificBeatsDefaultInEitherOrder) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"ssl=pty", "ssl0=tty:/dev/tty0", "ssl1=tty:/dev/tty1"},
           {"ssl0=tty:/dev/tty0", "ssl1=tty:/dev/tty1", "ssl=pty"},
           {"ssl0=tty:/dev/tty0", "ssl=pty", "ssl1=tty:/dev/tty1"}}) {
    const MachineSpec spec = Parse(args);
    LineSpec ssl0 = EffectiveLine(spec, LineKind::kSerial, 0);
    EXPECT_EQ(ssl0.input.type, Type::kTty);
    EXPECT_EQ(ssl0.input.tty_path, "/dev/tty0");
    EXPECT_EQ(ssl0.switch_text, "ssl0=tty:/dev/tty0");
    LineSpec ssl1 = EffectiveLine(spec, LineKind::kSerial, 1);
    EXPECT_EQ(ssl1.input.tty_path, "/dev/tty1");
    for (int n = 2; n < kMaxSerialLines; ++n) {
      LineSpec line = EffectiveLine(spec, LineKind::kSerial, n);
      EXPECT_EQ(line.input.type, Type::kPty) << n;
      EXPECT_EQ(line.switch_text, "ssl=pty");
      EXPECT_EQ(line.config, "pty");
    }
  }
}

TEST(EffectiveLineTest, ConDefaultAlsoReachesCon0) {
  // UML: con=pts without con0= moves the main console to a pts too.
  MachineSpec spec = Parse({"con=pts"});
  EXPECT_EQ(EffectiveLine(spec, LineKind::kConsole, 0).input.type, Type::kPts);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"con=pts", "con0=fd:0,fd:1"}, {"con0=fd:0,fd:1", "con=pts"}}) {
    spec = Parse(args);
    LineSpec con0 = EffectiveLine(spec, LineKind::kConsole, 0);
    EXPECT_EQ(con0.input.type, Type::kFd);
    EXPECT_EQ(con0.switch_text, "con0=fd:0,fd:1");
    EXPECT_EQ(EffectiveLine(spec, LineKind::kConsole, 1).input.type,
              Type::kPts);
  }
}

TEST(EffectiveLineTest, ConsolesAndSerialLinesAreSeparate) {
  const MachineSpec spec = Parse({"con=null", "ssl1=pts"});
  EXPECT_EQ(EffectiveLine(spec, LineKind::kConsole, 1).input.type, Type::kNull);
  EXPECT_EQ(EffectiveLine(spec, LineKind::kSerial, 1).input.type, Type::kPts);
  EXPECT_TRUE(EffectiveLine(spec, LineKind::kSerial, 0).none);
  EXPECT_TRUE(EffectiveLine(spec, LineKind::kSerial, 2).none);
}

TEST(EffectiveLineTest, NoneDefaultAndExplicitNone) {
  const MachineSpec spec = Parse({"ssl=none", "ssl0=null", "con7=none"});
  EXPECT_TRUE(EffectiveLine(spec, LineKind::kSerial, 1).none);
  EXPECT_FALSE(EffectiveLine(spec, LineKind::kSerial, 0).none);
  LineSpec con7 = EffectiveLine(spec, LineKind::kConsole, 7);
  EXPECT_TRUE(con7.none);
  EXPECT_EQ(con7.switch_text, "con7=none");
}

TEST(MachineSpecTest, LineCount) {
  EXPECT_EQ(LineCount(LineKind::kConsole), 16);
  EXPECT_EQ(LineCount(LineKind::kSerial), 64);
}

TEST(MachineSpecTest, McastDefaultGroup) {
  EXPECT_EQ(McastTransport{}.group.ToString(), "239.192.168.1");
}

}  // namespace
}  // namespace kuml
