#include "devices/net/slirp_options.h"

#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "util/net_address.h"

namespace kuml {
namespace {

constexpr char kSyntax[] =
    "options are key=value: net=<addr>/<prefix>, host=, dns=, dhcpstart=, "
    "hostfwd=[tcp|udp]:[<host addr>]:<host port>-[<guest addr>]:<guest "
    "port>, restrict=on|off";

absl::Status Bad(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad slirp option '", field, "': ", why));
}

uint32_t ToU32(const Ipv4Address& a) {
  return (uint32_t{a.octets[0]} << 24) | (uint32_t{a.octets[1]} << 16) |
         (uint32_t{a.octets[2]} << 8) | a.octets[3];
}

Ipv4Address FromU32(uint32_t v) {
  return Ipv4Address{{static_cast<uint8_t>(v >> 24),
                      static_cast<uint8_t>(v >> 16),
                      static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)}};
}

std::optional<uint16_t> Port(absl::string_view text) {
  uint32_t port = 0;
  if (!absl::SimpleAtoi(text, &port) || port == 0 || port > 65535 ||
      text.find_first_not_of("0123456789") != absl::string_view::npos) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(port);
}

// "[<addr>]:<port>" -> address (unchanged when empty) and port.
bool AddressAndPort(absl::string_view text, Ipv4Address& address,
                    bool& address_given, uint16_t& port) {
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) return false;
  const absl::string_view addr = text.substr(0, colon);
  address_given = !addr.empty();
  if (address_given) {
    std::optional<Ipv4Address> a = ParseIpv4Address(addr);
    if (!a.has_value()) return false;
    address = *a;
  }
  std::optional<uint16_t> p = Port(text.substr(colon + 1));
  if (!p.has_value()) return false;
  port = *p;
  return true;
}

absl::StatusOr<SlirpForward> ParseForward(absl::string_view field,
                                          absl::string_view value) {
  SlirpForward f;
  f.text = std::string(field);
  absl::string_view rest = value;
  if (absl::ConsumePrefix(&rest, "udp:")) {
    f.udp = true;
  } else if (!absl::ConsumePrefix(&rest, "tcp:")) {
    absl::ConsumePrefix(&rest, ":");  // protocol left out: tcp
  }
  const std::vector<absl::string_view> sides =
      absl::StrSplit(rest, absl::MaxSplits('-', 1));
  bool given = false;
  if (sides.size() != 2 ||
      !AddressAndPort(sides[0], f.host_address, given, f.host_port)) {
    return Bad(field,
               "expected hostfwd=[tcp|udp]:[<host addr>]:<host port>-"
               "[<guest addr>]:<guest port>, e.g. "
               "hostfwd=tcp:127.0.0.1:2222-:22");
  }
  bool guest_given = false;
  if (!AddressAndPort(sides[1], f.guest_address, guest_given, f.guest_port)) {
    return Bad(field,
               "bad guest side (expected [<guest addr>]:<guest port>, e.g. "
               ":22 or 10.0.2.15:22)");
  }
  if (!guest_given) f.guest_address = Ipv4Address{};  // filled in later
  return f;
}

}  // namespace

absl::StatusOr<SlirpOptions> ParseSlirpOptions(
    const std::vector<std::string>& fields) {
  SlirpOptions o;
  bool host_set = false, dns_set = false, dhcp_set = false;
  for (const std::string& field : fields) {
    if (field.empty()) continue;
    const size_t eq = field.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", field,
          "': kuml's slirp is built in (libslirp) and runs no external slirp "
          "program, so UML's slirp,<mac>,<program> form is not supported; "
          "drop the program and give options instead (",
          kSyntax, ")"));
    }
    const absl::string_view key = absl::string_view(field).substr(0, eq);
    const absl::string_view value = absl::string_view(field).substr(eq + 1);
    auto address = [&](Ipv4Address& out, bool& set) -> absl::Status {
      std::optional<Ipv4Address> a = ParseIpv4Address(value);
      if (!a.has_value()) return Bad(field, "expected an IPv4 address");
      out = *a;
      set = true;
      return absl::OkStatus();
    };
    absl::Status s;
    if (key == "net") {
      const std::vector<absl::string_view> parts =
          absl::StrSplit(value, absl::MaxSplits('/', 1));
      std::optional<Ipv4Address> a = ParseIpv4Address(parts[0]);
      int prefix = 24;
      if (!a.has_value() ||
          (parts.size() == 2 && (!absl::SimpleAtoi(parts[1], &prefix) ||
                                 prefix < 8 || prefix > 30))) {
        return Bad(field, "expected net=<addr>/<prefix 8..30>");
      }
      o.prefix = prefix;
      const uint32_t mask = ~uint32_t{0} << (32 - prefix);
      o.network = FromU32(ToU32(*a) & mask);
    } else if (key == "host") {
      s = address(o.host, host_set);
    } else if (key == "dns") {
      s = address(o.dns, dns_set);
    } else if (key == "dhcpstart") {
      s = address(o.dhcp_start, dhcp_set);
    } else if (key == "restrict") {
      if (value != "on" && value != "off") return Bad(field, "expected on|off");
      o.restricted = value == "on";
    } else if (key == "hostfwd") {
      absl::StatusOr<SlirpForward> f = ParseForward(field, value);
      if (!f.ok()) return f.status();
      o.forwards.push_back(*std::move(f));
    } else {
      return Bad(field,
                 absl::StrCat("unknown key '", key, "' (", kSyntax, ")"));
    }
    if (!s.ok()) return s;
  }
  // Addresses left out follow the network, as in QEMU.
  const uint32_t net = ToU32(o.network);
  if (!host_set) o.host = FromU32(net + 2);
  if (!dns_set) o.dns = FromU32(net + 3);
  if (!dhcp_set) o.dhcp_start = FromU32(net + 15);
  const uint32_t mask = ~uint32_t{0} << (32 - o.prefix);
  for (const auto& [name, a] :
       {std::pair<const char*, Ipv4Address>{"host", o.host},
        {"dns", o.dns},
        {"dhcpstart", o.dhcp_start}}) {
    if ((ToU32(a) & mask) != net) {
      return absl::InvalidArgumentError(absl::StrCat(
          "slirp ", name, " address ", a.ToString(), " is outside net ",
          o.network.ToString(), "/", o.prefix));
    }
  }
  for (SlirpForward& f : o.forwards) {
    if (f.guest_address == Ipv4Address{}) f.guest_address = o.dhcp_start;
  }
  return o;
}

}  // namespace kuml
