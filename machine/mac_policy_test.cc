#include "machine/mac_policy.h"

#include "gtest/gtest.h"

namespace kuml {
namespace {

TEST(ChooseMac, GivenMacWinsAndMustBeUnicast) {
  MacAddress given{{0xfe, 0xfd, 1, 2, 3, 4}};
  auto mac = ChooseMac(given, Ipv4Address{{10, 0, 0, 1}});
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(mac->ToString(), "fe:fd:01:02:03:04");
  auto odd = ChooseMac(MacAddress{{0x01, 0, 0, 0, 0, 1}}, std::nullopt);
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().message().find("odd first byte"), std::string::npos);
}

TEST(ChooseMac, FromTheIpAddressAsTheHowtoSays) {
  auto mac = ChooseMac(std::nullopt, Ipv4Address{{192, 168, 0, 250}});
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(mac->ToString(), "fe:fd:c0:a8:00:fa");
}

TEST(ChooseMac, RandomIsLocallyAdministeredUnicastAndVaries) {
  auto a = ChooseMac(std::nullopt, std::nullopt);
  auto b = ChooseMac(std::nullopt, std::nullopt);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->bytes[0] & 3, 2);
  EXPECT_EQ(b->bytes[0] & 3, 2);
  EXPECT_FALSE(*a == *b);
}

TEST(KernelIpFor, ReadsTheKernelIpOption) {
  const std::vector<std::string> args = {
      "root=/dev/vda", "ip=10.0.0.5:10.0.0.1:10.0.0.1:255.255.255.0::eth1:off"};
  EXPECT_EQ(KernelIpFor(args, "eth1")->ToString(), "10.0.0.5");
  EXPECT_FALSE(KernelIpFor(args, "eth0").has_value());
  EXPECT_EQ(KernelIpFor({"ip=192.168.1.9"}, "eth0")->ToString(), "192.168.1.9");
  EXPECT_FALSE(KernelIpFor({"ip=192.168.1.9"}, "eth1").has_value());
  EXPECT_FALSE(KernelIpFor({"ip=dhcp"}, "eth0").has_value());
  EXPECT_FALSE(KernelIpFor({"--", "ip=1.2.3.4"}, "eth0").has_value());
}

}  // namespace
}  // namespace kuml
