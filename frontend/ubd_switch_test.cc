#include "frontend/ubd_switch.h"

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

UbdSwitch Parse(const std::string& arg) {
  absl::StatusOr<UbdSwitch> parsed = ParseUbdSwitch(arg);
  EXPECT_TRUE(parsed.ok()) << arg << ": " << parsed.status();
  return parsed.ok() ? *parsed : UbdSwitch{};
}

void ExpectError(const std::string& arg, const std::string& why) {
  absl::StatusOr<UbdSwitch> parsed = ParseUbdSwitch(arg);
  ASSERT_FALSE(parsed.ok()) << arg;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().message(), arg + ": " + why);
}

TEST(UbdSwitchTest, PlainFile) {
  UbdSwitch s = Parse("ubd0=root_fs");
  EXPECT_EQ(s.kind, UbdSwitch::Kind::kDevice);
  EXPECT_EQ(s.index, 0);
  EXPECT_EQ(s.spec.file, "root_fs");
  EXPECT_EQ(s.spec.backing_file, "");
  EXPECT_EQ(s.spec.serial, "");
  EXPECT_FALSE(s.spec.read_only);
  EXPECT_FALSE(s.spec.sync);
  EXPECT_FALSE(s.spec.no_cow);
  EXPECT_FALSE(s.spec.shared);
  EXPECT_FALSE(s.spec.no_trim);
  EXPECT_EQ(s.spec.switch_text, "ubd0=root_fs");
}

TEST(UbdSwitchTest, DeviceNumbers) {
  EXPECT_EQ(Parse("ubd7=f").index, 7);
  EXPECT_EQ(Parse("ubd15=f").index, 15);
  EXPECT_EQ(Parse("ubd0xf=f").index, 15);  // hex
  EXPECT_EQ(Parse("ubd017=f").index, 15);  // octal
  EXPECT_EQ(Parse("ubd010=f").index, 8);   // octal
  EXPECT_EQ(Parse("ubda=f").index, 0);
  EXPECT_EQ(Parse("ubdb=f").index, 1);
  EXPECT_EQ(Parse("ubdp=f").index, 15);
}

TEST(UbdSwitchTest, DeviceNumberErrors) {
  ExpectError("ubd16=f", "Device number out of range");
  ExpectError("ubd0x10=f", "Device number out of range");
  ExpectError("ubdq=f", "Device number out of range");
  ExpectError("ubdz=f", "Device number out of range");
  ExpectError("ubd99999999999999999999=f", "Device number out of range");
  ExpectError("ubdA=f", "Couldn't parse device number");
  ExpectError("ubd-1=f", "Couldn't parse device number");
  ExpectError("ubd", "Couldn't parse device number");
  ExpectError("ubd_0=f", "Couldn't parse device number");
}

TEST(UbdSwitchTest, Flags) {
  UbdSwitch s = Parse("ubd0r=root_fs");
  EXPECT_TRUE(s.spec.read_only);
  s = Parse("ubd3s=t3.img");
  EXPECT_TRUE(s.spec.sync);
  s = Parse("ubd4t=t4.img");
  EXPECT_TRUE(s.spec.no_trim);
  s = Parse("ubd5c=t5.img");
  EXPECT_TRUE(s.spec.shared);
  s = Parse("ubd7d=x.cow");
  EXPECT_TRUE(s.spec.no_cow);
  s = Parse("ubdbtcsr=f");  // any order, letter unit
  EXPECT_EQ(s.index, 1);
  EXPECT_TRUE(s.spec.read_only && s.spec.sync && s.spec.shared &&
              s.spec.no_trim);
  EXPECT_FALSE(s.spec.no_cow);
  s = Parse("ubd1rrrrrr=f");  // six letters: the most UML allows
  EXPECT_TRUE(s.spec.read_only);
}

TEST(UbdSwitchTest, FlagErrors) {
  ExpectError("ubd0x=foo", "Expected '=' or flag letter (r, s, c, t or d)");
  ExpectError("ubd0R=foo", "Expected '=' or flag letter (r, s, c, t or d)");
  ExpectError("ubd0", "Expected '=' or flag letter (r, s, c, t or d)");
  ExpectError("ubd0r", "Expected '=' or flag letter (r, s, c, t or d)");
  ExpectError("ubd08=f", "Expected '=' or flag letter (r, s, c, t or d)");
  ExpectError("ubd1rrrrrrr=f", "Too many flags specified");
  ExpectError("ubd1rrrrrrrr", "Missing '='");
}

TEST(UbdSwitchTest, BackingFileAndSerial) {
  UbdSwitch s = Parse("ubd6=t_cow.cow:t1.img");
  EXPECT_EQ(s.spec.file, "t_cow.cow");
  EXPECT_EQ(s.spec.backing_file, "t1.img");
  s = Parse("ubd0=root_fs_cow,root_fs_debian_22");
  EXPECT_EQ(s.spec.file, "root_fs_cow");
  EXPECT_EQ(s.spec.backing_file, "root_fs_debian_22");
  s = Parse("ubd1=t1.img,,SER-0001");
  EXPECT_EQ(s.spec.file, "t1.img");
  EXPECT_EQ(s.spec.backing_file, "");
  EXPECT_EQ(s.spec.serial, "SER-0001");
  s = Parse("ubd1=a.cow:b.img:SER");
  EXPECT_EQ(s.spec.backing_file, "b.img");
  EXPECT_EQ(s.spec.serial, "SER");
  s = Parse("ubd1=a.cow,b.img:SER");  // mixed separators
  EXPECT_EQ(s.spec.backing_file, "b.img");
  EXPECT_EQ(s.spec.serial, "SER");
  s = Parse("ubd1=/abs/path/with=equals");
  EXPECT_EQ(s.spec.file, "/abs/path/with=equals");
}

TEST(UbdSwitchTest, FieldErrors) {
  ExpectError("ubd1=a,b,c,d",
              "too many fields (expected <file>[,<backing file>][,<serial>];"
              " file names can't contain ',' or ':')");
  ExpectError("ubd1=,b", "missing file name");
  ExpectError("ubd1=,,SER", "missing file name");
  ExpectError("ubd1d=a.cow,b.img", "Can't specify both 'd' and a cow file");
  // d without a backing file is fine; d with only a serial too.
  EXPECT_TRUE(ParseUbdSwitch("ubd1d=a,,SER").ok());
}

TEST(UbdSwitchTest, EmptyFileMeansUnconfigured) {
  UbdSwitch s = Parse("ubd2r=");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.spec.file, "");
  EXPECT_TRUE(s.spec.read_only);
}

TEST(UbdSwitchTest, GlobalSync) {
  UbdSwitch s = Parse("ubd=sync");
  EXPECT_EQ(s.kind, UbdSwitch::Kind::kSync);
  ExpectError("ubd=async", "fake major not supported any more");
  ExpectError("ubd=", "fake major not supported any more");
  ExpectError("ubd=98", "fake major not supported any more");
}

TEST(UbdSwitchTest, NotAUbdSwitch) {
  EXPECT_FALSE(ParseUbdSwitch("udb0=x").ok());
}

}  // namespace
}  // namespace kuml
