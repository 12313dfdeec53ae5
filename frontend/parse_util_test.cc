#include "frontend/parse_util.h"

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;

TEST(ParseNumberPrefixTest, BaseZeroFollowsCRules) {
  NumberPrefix n = ParseNumberPrefix("123=x", 0);
  EXPECT_EQ(n.value, 123u);
  EXPECT_EQ(n.length, 3u);
  EXPECT_FALSE(n.overflow);

  n = ParseNumberPrefix("0x1fZ", 0);
  EXPECT_EQ(n.value, 0x1fu);
  EXPECT_EQ(n.length, 4u);

  n = ParseNumberPrefix("0X1F", 0);
  EXPECT_EQ(n.value, 0x1fu);
  EXPECT_EQ(n.length, 4u);

  n = ParseNumberPrefix("017", 0);
  EXPECT_EQ(n.value, 017u);
  EXPECT_EQ(n.length, 3u);

  // Octal stops at 8; "0" alone is a number.
  n = ParseNumberPrefix("08", 0);
  EXPECT_EQ(n.value, 0u);
  EXPECT_EQ(n.length, 1u);

  // "0x" without a hex digit reads as "0" (simple_strtoul does the same).
  n = ParseNumberPrefix("0x=", 0);
  EXPECT_EQ(n.value, 0u);
  EXPECT_EQ(n.length, 1u);
}

TEST(ParseNumberPrefixTest, NoDigits) {
  EXPECT_EQ(ParseNumberPrefix("", 0).length, 0u);
  EXPECT_EQ(ParseNumberPrefix("x1", 0).length, 0u);
  EXPECT_EQ(ParseNumberPrefix("-1", 0).length, 0u);
  EXPECT_EQ(ParseNumberPrefix(" 1", 10).length, 0u);
  EXPECT_EQ(ParseNumberPrefix("8", 8).length, 0u);
  EXPECT_EQ(ParseNumberPrefix("g", 16).length, 0u);
}

TEST(ParseNumberPrefixTest, ExplicitBases) {
  EXPECT_EQ(ParseNumberPrefix("0x10", 10).value, 0u);  // stops at 'x'
  EXPECT_EQ(ParseNumberPrefix("0x10", 16).value, 16u);
  EXPECT_EQ(ParseNumberPrefix("ff", 16).value, 255u);
  EXPECT_EQ(ParseNumberPrefix("0755", 8).value, 0755u);
  EXPECT_EQ(ParseNumberPrefix("0755", 10).value, 755u);
}

TEST(ParseNumberPrefixTest, Overflow) {
  EXPECT_FALSE(ParseNumberPrefix("18446744073709551615", 10).overflow);
  EXPECT_EQ(ParseNumberPrefix("18446744073709551615", 10).value, UINT64_MAX);
  EXPECT_TRUE(ParseNumberPrefix("18446744073709551616", 10).overflow);
  EXPECT_TRUE(ParseNumberPrefix("99999999999999999999", 0).overflow);
  EXPECT_FALSE(ParseNumberPrefix("0xffffffffffffffff", 0).overflow);
  EXPECT_TRUE(ParseNumberPrefix("0x10000000000000000", 0).overflow);
}

TEST(ParseWholeNumberTest, WholeStringOnly) {
  EXPECT_EQ(ParseWholeNumber("42", 10), 42u);
  EXPECT_EQ(ParseWholeNumber("0x2a", 0), 42u);
  EXPECT_EQ(ParseWholeNumber("052", 0), 42u);
  EXPECT_FALSE(ParseWholeNumber("42x", 10).has_value());
  EXPECT_FALSE(ParseWholeNumber("", 10).has_value());
  EXPECT_FALSE(ParseWholeNumber("x", 10).has_value());
  EXPECT_FALSE(ParseWholeNumber("99999999999999999999", 10).has_value());
  EXPECT_EQ(ParseWholeNumber("255", 10, 255), 255u);
  EXPECT_FALSE(ParseWholeNumber("256", 10, 255).has_value());
}

uint64_t MiB(uint64_t n) { return n << 20; }

TEST(ParseMemSizeTest, Suffixes) {
  EXPECT_EQ(*ParseMemSize("128M"), MiB(128));
  EXPECT_EQ(*ParseMemSize("128m"), MiB(128));
  EXPECT_EQ(*ParseMemSize("16384K"), MiB(16));
  EXPECT_EQ(*ParseMemSize("16384k"), MiB(16));
  EXPECT_EQ(*ParseMemSize("1G"), uint64_t{1} << 30);
  EXPECT_EQ(*ParseMemSize("2g"), uint64_t{2} << 30);
  EXPECT_EQ(*ParseMemSize("1T"), uint64_t{1} << 40);
  EXPECT_EQ(*ParseMemSize("1t"), uint64_t{1} << 40);
  EXPECT_EQ(*ParseMemSize("1P"), uint64_t{1} << 50);
  EXPECT_EQ(*ParseMemSize("1E"), uint64_t{1} << 60);
  EXPECT_EQ(*ParseMemSize("16777216"), MiB(16));
}

TEST(ParseMemSizeTest, NumberBases) {
  EXPECT_EQ(*ParseMemSize("0x10M"), MiB(16));
  EXPECT_EQ(*ParseMemSize("0x1000000"), MiB(16));
  // A leading 0 is octal: 020M is 16M, 010M is 8M (too small).
  EXPECT_EQ(*ParseMemSize("020M"), MiB(16));
  absl::StatusOr<uint64_t> octal = ParseMemSize("010M");
  ASSERT_FALSE(octal.ok());
  EXPECT_THAT(octal.status().message(), HasSubstr("8388608 bytes"));
  EXPECT_THAT(octal.status().message(), HasSubstr("minimum of 16M"));
  // In hex, 'e' is a digit and not the exa suffix.
  EXPECT_EQ(*ParseMemSize("0x100000e"), uint64_t{0x1001000});
}

TEST(ParseMemSizeTest, RoundsUpToPages) {
  EXPECT_EQ(*ParseMemSize("16777217"), MiB(16) + 4096);
  EXPECT_EQ(*ParseMemSize("16777215"), MiB(16));
}

TEST(ParseMemSizeTest, Refusals) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"", "missing memory size"},
      {"0", "must not be zero"},
      {"0M", "must not be zero"},
      {"12Q", "trailing 'Q'"},
      {"64MB", "trailing 'B'"},
      {"M", "bad memory size 'M'"},
      {"-1", "bad memory size"},
      {" 64M", "bad memory size"},
      {"0x", "trailing 'x'"},
      {"99999999999999999999", "too large"},
      {"16777216T", "too large"},
      {"16E", "too large"},
      {"18446744073709551615", "too large"},
      {"15M", "below the minimum"},
      {"4096", "below the minimum"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<uint64_t> size = ParseMemSize(c.text);
    ASSERT_FALSE(size.ok()) << c.text;
    EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(size.status().message(), HasSubstr(c.message)) << c.text;
  }
  EXPECT_TRUE(ParseMemSize("16777215T").ok());
}

TEST(IsValidInterfaceNameTest, LinuxRules) {
  EXPECT_TRUE(IsValidInterfaceName("tap0"));
  EXPECT_TRUE(IsValidInterfaceName("umlreftap0"));
  EXPECT_TRUE(IsValidInterfaceName("abcdefghijklmno"));    // 15
  EXPECT_FALSE(IsValidInterfaceName("abcdefghijklmnop"));  // 16
  EXPECT_FALSE(IsValidInterfaceName(""));
  EXPECT_FALSE(IsValidInterfaceName("."));
  EXPECT_FALSE(IsValidInterfaceName(".."));
  EXPECT_FALSE(IsValidInterfaceName("a/b"));
  EXPECT_FALSE(IsValidInterfaceName("a:b"));
  EXPECT_FALSE(IsValidInterfaceName("a b"));
  EXPECT_FALSE(IsValidInterfaceName("a\tb"));
  EXPECT_FALSE(IsValidInterfaceName(std::string("a\x01", 2)));
}

}  // namespace
}  // namespace kuml
