// Ethernet and IPv4 addresses: plain value types shared by the command line
// (frontend/), the network transports (devices/net/) and the machine's
// assembly, which is why they live at the bottom of the house. Pure
// functions, no I/O.
#ifndef KUML_UTIL_NET_ADDRESS_H_
#define KUML_UTIL_NET_ADDRESS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kuml {

struct MacAddress {
  std::array<uint8_t, 6> bytes{};
  std::string ToString() const;  // "fe:fd:00:00:00:01"
  friend bool operator==(const MacAddress& a, const MacAddress& b) {
    return a.bytes == b.bytes;
  }
  friend bool operator!=(const MacAddress& a, const MacAddress& b) {
    return !(a == b);
  }
};

struct Ipv4Address {
  std::array<uint8_t, 4> octets{};
  std::string ToString() const;  // "192.168.0.254"
  friend bool operator==(const Ipv4Address& a, const Ipv4Address& b) {
    return a.octets == b.octets;
  }
  friend bool operator!=(const Ipv4Address& a, const Ipv4Address& b) {
    return !(a == b);
  }
};

// "xx:xx:xx:xx:xx:xx", 1 or 2 hex digits per byte (the HOWTO writes
// fe:fd:0:0:0:1). Refuses multicast (odd first byte) and all-zero addresses,
// where UML would print an error and pick a random address.
absl::StatusOr<MacAddress> ParseMacAddress(absl::string_view text);

// Strict dotted quad: four decimal numbers 0..255 without leading zeros.
std::optional<Ipv4Address> ParseIpv4Address(absl::string_view text);

}  // namespace kuml

#endif  // KUML_UTIL_NET_ADDRESS_H_
