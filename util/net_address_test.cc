// The address types shared across layers: parsing and printing.
#include "util/net_address.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;

TEST(ParseMacAddressTest, Accepts) {
  absl::StatusOr<MacAddress> mac = ParseMacAddress("fe:fd:01:02:03:04");
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(mac->bytes, (std::array<uint8_t, 6>{0xfe, 0xfd, 1, 2, 3, 4}));
  mac = ParseMacAddress("fe:fd:0:0:0:1");  // the HOWTO's spelling
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(mac->ToString(), "fe:fd:00:00:00:01");
  mac = ParseMacAddress("FE:FD:0A:0b:C:d");
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(mac->ToString(), "fe:fd:0a:0b:0c:0d");
  EXPECT_TRUE(ParseMacAddress("00:11:22:33:44:55").ok());  // global, even
}

TEST(ParseMacAddressTest, Refuses) {
  for (const char* text :
       {"", "fe:fd:00:00:00", "fe:fd:00:00:00:00:00", "fe:fd:00:00:00:",
        "fe:fd:000:00:00:01", "fe:fd:0x1:00:00:01", "fe:fd:g0:00:00:01",
        "fe-fd-00-00-00-01", "fe:fd::00:00:01", " fe:fd:00:00:00:01"}) {
    absl::StatusOr<MacAddress> mac = ParseMacAddress(text);
    ASSERT_FALSE(mac.ok()) << text;
    EXPECT_THAT(mac.status().message(), HasSubstr("bad ethernet address"));
  }
  absl::StatusOr<MacAddress> multicast = ParseMacAddress("ff:ff:ff:ff:ff:ff");
  ASSERT_FALSE(multicast.ok());
  EXPECT_THAT(multicast.status().message(), HasSubstr("multicast"));
  EXPECT_FALSE(ParseMacAddress("01:00:5e:00:00:01").ok());
  absl::StatusOr<MacAddress> zero = ParseMacAddress("0:0:0:0:0:0");
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(zero.status().message(), HasSubstr("all zero"));
}

TEST(ParseIpv4AddressTest, DottedQuadOnly) {
  std::optional<Ipv4Address> a = ParseIpv4Address("192.168.0.254");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->octets, (std::array<uint8_t, 4>{192, 168, 0, 254}));
  EXPECT_EQ(a->ToString(), "192.168.0.254");
  EXPECT_TRUE(ParseIpv4Address("0.0.0.0").has_value());
  EXPECT_TRUE(ParseIpv4Address("255.255.255.255").has_value());
  for (const char* text : {"", "239.1.1", "1.2.3.4.5", "256.1.1.1", "1.2.3.",
                           ".1.2.3", "01.2.3.4", "0x1.2.3.4", "1.2.3.-4",
                           "a.b.c.d", "1..2.3", "1.2.3.4 ", "localhost"}) {
    EXPECT_FALSE(ParseIpv4Address(text).has_value()) << text;
  }
}

TEST(NetAddressTest, ToString) {
  EXPECT_EQ((MacAddress{{0xfe, 0xfd, 0, 0x0a, 0xb0, 1}}).ToString(),
            "fe:fd:00:0a:b0:01");
  EXPECT_EQ((Ipv4Address{{10, 0, 2, 15}}).ToString(), "10.0.2.15");
}

}  // namespace
}  // namespace kuml
