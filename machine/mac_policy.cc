#include "machine/mac_policy.h"

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "util/net_address.h"

namespace kuml {

absl::StatusOr<MacAddress> ChooseMac(const std::optional<MacAddress>& given,
                                     const std::optional<Ipv4Address>& ip) {
  if (given.has_value()) {
    if (given->bytes[0] & 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ethernet address ", given->ToString(),
          " has an odd first byte, which makes it a multicast (broadcast) "
          "address no device may have; use an even first byte, e.g. "
          "fe:fd:..."));
    }
    return *given;
  }
  MacAddress mac;
  if (ip.has_value()) {
    mac.bytes = {0xfe,          0xfd,          ip->octets[0],
                 ip->octets[1], ip->octets[2], ip->octets[3]};
    return mac;
  }
  absl::BitGen gen;
  for (uint8_t& b : mac.bytes) b = absl::Uniform<uint8_t>(gen);
  mac.bytes[0] = (mac.bytes[0] & 0xfe) | 0x02;  // unicast, locally assigned
  return mac;
}

std::optional<Ipv4Address> KernelIpFor(const std::vector<std::string>& args,
                                       const std::string& interface) {
  std::optional<Ipv4Address> found;
  for (const std::string& arg : args) {
    if (arg == "--") break;  // the rest is init's
    if (!absl::StartsWith(arg, "ip=")) continue;
    // ip=<client>:<server>:<gw>:<netmask>:<hostname>:<device>:<autoconf>
    const std::vector<std::string> f =
        absl::StrSplit(absl::string_view(arg).substr(3), ':');
    const std::string device = f.size() > 5 ? f[5] : "";
    if (!(device == interface || (device.empty() && interface == "eth0"))) {
      found.reset();  // a later ip= replaces an earlier one
      continue;
    }
    found = ParseIpv4Address(f[0]);
  }
  return found;
}

}  // namespace kuml
