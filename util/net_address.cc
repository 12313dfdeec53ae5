#include "util/net_address.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace kuml {
namespace {

// 0..15 for a hex digit, 16 for anything else.
int HexValue(char c) {
  if (absl::ascii_isdigit(c)) return c - '0';
  c = absl::ascii_tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return 16;
}

}  // namespace

std::string MacAddress::ToString() const {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1],
                         bytes[2], bytes[3], bytes[4], bytes[5]);
}

std::string Ipv4Address::ToString() const {
  return absl::StrFormat("%d.%d.%d.%d", octets[0], octets[1], octets[2],
                         octets[3]);
}

absl::StatusOr<MacAddress> ParseMacAddress(absl::string_view text) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  MacAddress mac;
  bool ok = parts.size() == mac.bytes.size();
  for (size_t i = 0; ok && i < parts.size(); ++i) {
    const absl::string_view part = parts[i];
    // No "0x" here: each byte is one or two bare hex digits.
    ok = !part.empty() && part.size() <= 2;
    int value = 0;
    for (size_t d = 0; ok && d < part.size(); ++d) {
      const int digit = HexValue(part[d]);
      ok = digit < 16;
      value = value * 16 + digit;
    }
    if (ok) mac.bytes[i] = static_cast<uint8_t>(value);
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad ethernet address '", text,
                     "' (expected xx:xx:xx:xx:xx:xx in hex)"));
  }
  if (mac.bytes[0] & 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "multicast ethernet address '", text,
        "' can't be assigned to a device (the first byte must be even)"));
  }
  if (mac == MacAddress{}) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ethernet address '", text, "' (all zero)"));
  }
  return mac;
}

std::optional<Ipv4Address> ParseIpv4Address(absl::string_view text) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  if (parts.size() != 4) return std::nullopt;
  Ipv4Address address;
  for (size_t i = 0; i < parts.size(); ++i) {
    const absl::string_view part = parts[i];
    if (part.empty() || part.size() > 3) return std::nullopt;
    if (part.size() > 1 && part[0] == '0') return std::nullopt;
    int value = 0;
    for (char c : part) {
      if (!absl::ascii_isdigit(c)) return std::nullopt;
      value = value * 10 + (c - '0');
    }
    if (value > 255) return std::nullopt;
    address.octets[i] = static_cast<uint8_t>(value);
  }
  return address;
}

}  // namespace kuml
