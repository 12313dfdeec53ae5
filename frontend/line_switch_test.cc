#include "frontend/line_switch.h"

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Type = ChannelSpec::Type;

LineSwitch Parse(const std::string& arg) {
  absl::StatusOr<LineSwitch> parsed = ParseLineSwitch(arg);
  EXPECT_TRUE(parsed.ok()) << arg << ": " << parsed.status();
  return parsed.ok() ? *parsed : LineSwitch{};
}

void ExpectError(const std::string& arg, const std::string& why) {
  absl::StatusOr<LineSwitch> parsed = ParseLineSwitch(arg);
  ASSERT_FALSE(parsed.ok()) << arg;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()), StartsWith(arg + ": "));
  EXPECT_THAT(parsed.status().message(), HasSubstr(why)) << arg;
}

TEST(ParseChannelTest, EveryType) {
  absl::StatusOr<ChannelSpec> c = ParseChannel("fd:0");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->type, Type::kFd);
  EXPECT_EQ(c->fd, 0);
  c = ParseChannel("fd:0x10");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->fd, 16);
  c = ParseChannel("fd:010");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->fd, 8);
  c = ParseChannel("null");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->type, Type::kNull);
  c = ParseChannel("port:9000");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->type, Type::kPort);
  EXPECT_EQ(c->port, 9000);
  EXPECT_FALSE(c->listen_address.has_value());  // every address, as UML
  c = ParseChannel("port:65535");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 65535);
  c = ParseChannel("port:127.0.0.1:9000");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 9000);
  ASSERT_TRUE(c->listen_address.has_value());
  EXPECT_EQ(c->listen_address->ToString(), "127.0.0.1");
  c = ParseChannel("pty");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->type, Type::kPty);
  c = ParseChannel("pts");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->type, Type::kPts);
  c = ParseChannel("tty:/dev/tty3");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->type, Type::kTty);
  EXPECT_EQ(c->tty_path, "/dev/tty3");
  c = ParseChannel("xterm");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->type, Type::kXterm);
}

TEST(ParseChannelTest, RoundTripsThroughToString) {
  for (const char* text :
       {"fd:0", "fd:3", "null", "port:9123", "port:127.0.0.1:9123", "pty",
        "pts", "tty:/dev/null", "xterm"}) {
    absl::StatusOr<ChannelSpec> c = ParseChannel(text);
    ASSERT_TRUE(c.ok()) << text;
    EXPECT_EQ(c->ToString(), text);
  }
}

TEST(ParseChannelTest, Refusals) {
  struct Case {
    const char* text;
    const char* why;
  };
  const Case cases[] = {
      {"fd", "must specify a file descriptor"},
      {"fd0", "must specify a file descriptor"},
      {"fd:", "couldn't parse file descriptor ''"},
      {"fd:x", "couldn't parse file descriptor 'x'"},
      {"fd:1x", "couldn't parse file descriptor '1x'"},
      {"fd:-1", "couldn't parse file descriptor"},
      {"fd:08", "couldn't parse file descriptor"},
      {"fd:2147483648", "couldn't parse file descriptor"},
      {"port", "must specify a port number"},
      {"port:", "couldn't parse port"},
      {"port:0", "couldn't parse port '0'"},
      {"port:65536", "couldn't parse port '65536'"},
      {"port:http", "couldn't parse port"},
      {"port:localhost:9000", "couldn't parse listening address 'localhost'"},
      {"port:127.0.0.1:", "couldn't parse port ''"},
      {"port:1.2.3:9000", "couldn't parse listening address"},
      {"tty", "must specify a device"},
      {"tty:", "must specify a device"},
      {"ttyS0", "must specify a device"},
      {"", "unknown channel ''"},
      {"bogus", "unknown channel 'bogus'"},
      {"file:/tmp/x", "unknown channel 'file:/tmp/x'"},
      {"nullx", "unknown channel 'nullx'"},
      {"ptsx", "unknown channel"},
      {"xterm:foo", "unknown channel"},
      {"none", "unknown channel 'none'"},  // none is a line, not a channel
      {"NULL", "unknown channel"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ChannelSpec> chan = ParseChannel(c.text);
    ASSERT_FALSE(chan.ok()) << c.text;
    EXPECT_THAT(chan.status().message(), HasSubstr(c.why)) << c.text;
  }
}

TEST(ParseLineConfigTest, SingleChannelIsBothWays) {
  absl::StatusOr<LineSpec> line = ParseLineConfig("pts");
  ASSERT_TRUE(line.ok());
  EXPECT_FALSE(line->none);
  EXPECT_EQ(line->input.type, Type::kPts);
  EXPECT_EQ(line->output.type, Type::kPts);
  EXPECT_EQ(line->config, "pts");
}

TEST(ParseLineConfigTest, SplitsAtFirstComma) {
  absl::StatusOr<LineSpec> line = ParseLineConfig("tty:/dev/tty2,xterm");
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->input.type, Type::kTty);
  EXPECT_EQ(line->input.tty_path, "/dev/tty2");
  EXPECT_EQ(line->output.type, Type::kXterm);
  // The output part may not contain another comma.
  EXPECT_FALSE(ParseLineConfig("fd:0,fd:1,fd:2").ok());
  EXPECT_FALSE(ParseLineConfig("fd:0,").ok());
  EXPECT_FALSE(ParseLineConfig(",fd:1").ok());
}

TEST(ParseLineConfigTest, None) {
  absl::StatusOr<LineSpec> line = ParseLineConfig("none");
  ASSERT_TRUE(line.ok());
  EXPECT_TRUE(line->none);
  EXPECT_FALSE(ParseLineConfig("none,none").ok());
  EXPECT_FALSE(ParseLineConfig("").ok());
}

TEST(LineSwitchTest, Console) {
  LineSwitch s = Parse("con0=fd:0,fd:1");
  EXPECT_EQ(s.kind, LineKind::kConsole);
  EXPECT_FALSE(s.is_default);
  EXPECT_EQ(s.index, 0);
  EXPECT_EQ(s.spec.input.type, Type::kFd);
  EXPECT_EQ(s.spec.input.fd, 0);
  EXPECT_EQ(s.spec.output.fd, 1);
  EXPECT_EQ(s.spec.config, "fd:0,fd:1");
  EXPECT_EQ(s.spec.switch_text, "con0=fd:0,fd:1");

  s = Parse("con15=null");
  EXPECT_EQ(s.index, 15);
  s = Parse("con0xf=null");
  EXPECT_EQ(s.index, 15);
  s = Parse("con017=null");
  EXPECT_EQ(s.index, 15);
}

TEST(LineSwitchTest, Defaults) {
  LineSwitch s = Parse("con=pts");
  EXPECT_EQ(s.kind, LineKind::kConsole);
  EXPECT_TRUE(s.is_default);
  EXPECT_EQ(s.spec.input.type, Type::kPts);
  EXPECT_EQ(s.spec.switch_text, "con=pts");
  s = Parse("ssl=none");
  EXPECT_EQ(s.kind, LineKind::kSerial);
  EXPECT_TRUE(s.is_default);
  EXPECT_TRUE(s.spec.none);
}

TEST(LineSwitchTest, Serial) {
  LineSwitch s = Parse("ssl63=pts");
  EXPECT_EQ(s.kind, LineKind::kSerial);
  EXPECT_EQ(s.index, 63);
  s = Parse("ssl3=tty:/dev/tty2,xterm");
  EXPECT_EQ(s.index, 3);
  EXPECT_EQ(s.spec.input.tty_path, "/dev/tty2");
  EXPECT_EQ(s.spec.output.type, Type::kXterm);
}

TEST(LineSwitchTest, NumberErrors) {
  ExpectError("con16=null", "Device number out of range");
  ExpectError("ssl64=null", "Device number out of range");
  ExpectError("con0x10=null", "Device number out of range");
  ExpectError("con99999999999999999999=null", "Device number out of range");
  ExpectError("conx=null", "Couldn't parse device number");
  ExpectError("con1x=null", "Couldn't parse device number");
  ExpectError("con1", "Couldn't parse device number");
  ExpectError("con", "Couldn't parse device number");
  ExpectError("ssl", "Couldn't parse device number");
  ExpectError("con-1=null", "Couldn't parse device number");
  // UML's prefix match makes these console switches too.
  ExpectError("consoleblank=0", "Couldn't parse device number");
  ExpectError("ssl-non-raw", "Couldn't parse device number");
}

TEST(LineSwitchTest, ChannelErrorsNameTheSwitch) {
  ExpectError("con5=bogus", "failed to parse channel pair: unknown channel");
  absl::StatusOr<LineSwitch> parsed = ParseLineSwitch("con5=bogus");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()),
              StartsWith("con5=bogus: failed to parse channel pair"));
  ExpectError("ssl0=fd:x", "failed to parse channel pair");
  ExpectError("con=", "failed to parse channel pair");
  ExpectError("con1=", "failed to parse channel pair");
  ExpectError("con1=fd:0,", "failed to parse channel pair");
}

}  // namespace
}  // namespace kuml
