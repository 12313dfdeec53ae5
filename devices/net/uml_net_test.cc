// The frame parsing behind uml_net's address routes (uml_net.h); the helper
// itself runs against the real uml_net in machine/net_transports_test.cc.
#include "devices/net/uml_net.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <vector>

#include "gtest/gtest.h"

namespace kuml {
namespace {

// An Ethernet frame with an IPv4 ARP packet from `sender`.
std::vector<uint8_t> ArpFrame(uint8_t op, std::array<uint8_t, 4> sender) {
  std::vector<uint8_t> f(42, 0);
  f[12] = 0x08;
  f[13] = 0x06;  // ARP
  const uint8_t arp[] = {0, 1, 0x08, 0, 6, 4, 0, op};
  std::copy(std::begin(arp), std::end(arp), f.begin() + 14);
  std::copy(sender.begin(), sender.end(), f.begin() + 14 + 14);
  return f;
}

TEST(ArpSenderAddress, ReadsRequestsAndReplies) {
  for (uint8_t op : {1, 2}) {
    const std::vector<uint8_t> f = ArpFrame(op, {10, 0, 9, 2});
    std::optional<Ipv4Address> a = ArpSenderAddress(f.data(), f.size());
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->ToString(), "10.0.9.2");
  }
}

TEST(ArpSenderAddress, IgnoresEverythingElse) {
  std::vector<uint8_t> f = ArpFrame(1, {10, 0, 9, 2});
  EXPECT_FALSE(ArpSenderAddress(f.data(), 41).has_value());  // short
  std::vector<uint8_t> ip = f;
  ip[13] = 0x00;  // IPv4, not ARP
  EXPECT_FALSE(ArpSenderAddress(ip.data(), ip.size()).has_value());
  std::vector<uint8_t> other = f;
  other[16] = 0x86;  // ARP for another protocol
  EXPECT_FALSE(ArpSenderAddress(other.data(), other.size()).has_value());
}

}  // namespace
}  // namespace kuml
