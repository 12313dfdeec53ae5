#include "frontend/net_switch.h"

#include <climits>
#include <optional>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "frontend/parse_util.h"
#include "util/net_address.h"
#include "util/status_macros.h"

namespace kuml {
namespace {

absl::Status Error(absl::string_view arg, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(arg, ": ", why));
}

// The positional fields after "<transport>," (UML's split_if_spec): an absent
// or empty field reads as "" and means "keep the default".
class Fields {
 public:
  explicit Fields(std::vector<absl::string_view> fields)
      : fields_(std::move(fields)) {}
  absl::string_view Get(size_t i) const {
    return i < fields_.size() ? fields_[i] : absl::string_view();
  }
  size_t size() const { return fields_.size(); }
  // The text of the fields from `i` on (what split_if_spec leaves over).
  std::string From(size_t i) const {
    if (i >= fields_.size()) return "";
    return absl::StrJoin(fields_.begin() + i, fields_.end(), ",");
  }

 private:
  std::vector<absl::string_view> fields_;
};

// Refuses fields beyond `count`, naming the syntax.
absl::Status CheckFieldCount(absl::string_view arg, const Fields& fields,
                             size_t count, absl::string_view syntax) {
  if (fields.size() <= count) return absl::OkStatus();
  return Error(
      arg, absl::StrCat("extra garbage on specification: '", fields.From(count),
                        "' (expected ", syntax, ")"));
}

absl::StatusOr<std::optional<MacAddress>> MacField(absl::string_view arg,
                                                   absl::string_view text,
                                                   EthSwitch& out) {
  if (text.empty()) return std::optional<MacAddress>();
  absl::StatusOr<MacAddress> mac = ParseMacAddress(text);
  if (!mac.ok()) return Error(arg, mac.status().message());
  // The locally administered bit (0x02) marks made-up addresses.
  if ((mac->bytes[0] & 2) == 0) {
    out.warnings.push_back(absl::StrCat(
        arg, ": assigning a globally valid ethernet address to a device"));
  }
  return std::optional<MacAddress>(*mac);
}

absl::StatusOr<std::optional<Ipv4Address>> Ipv4Field(absl::string_view arg,
                                                     absl::string_view text,
                                                     absl::string_view what) {
  if (text.empty()) return std::optional<Ipv4Address>();
  std::optional<Ipv4Address> address = ParseIpv4Address(text);
  if (!address.has_value()) {
    return Error(arg, absl::StrCat("bad ", what, " '", text,
                                   "' (expected an IPv4 address a.b.c.d)"));
  }
  return address;
}

absl::Status PortField(absl::string_view arg, absl::string_view text,
                       absl::string_view what, uint16_t& port) {
  if (text.empty()) return absl::OkStatus();
  const std::optional<uint64_t> value = ParseWholeNumber(text, 10, 65535);
  if (!value.has_value() || *value == 0) {
    return Error(arg, absl::StrCat("bad ", what, " '", text, "' (1..65535)"));
  }
  port = static_cast<uint16_t>(*value);
  return absl::OkStatus();
}

absl::Status InterfaceField(absl::string_view arg, absl::string_view text,
                            absl::string_view what) {
  if (text.empty() || IsValidInterfaceName(text)) return absl::OkStatus();
  return Error(arg, absl::StrCat("bad ", what, " '", text,
                                 "' (1..15 characters, no '/', ':' or "
                                 "spaces)"));
}

// --- one function per transport --------------------------------------------

absl::StatusOr<EthTransport> ParseTuntap(absl::string_view arg, const Fields& f,
                                         EthSwitch& out) {
  RETURN_IF_ERROR(
      CheckFieldCount(arg, f, 3, "tuntap,[<tap dev>],[<mac>],[<gate ip>]"));
  TuntapTransport t;
  RETURN_IF_ERROR(InterfaceField(arg, f.Get(0), "tap device name"));
  t.device = std::string(f.Get(0));
  ASSIGN_OR_RETURN(t.mac, MacField(arg, f.Get(1), out));
  ASSIGN_OR_RETURN(t.gate, Ipv4Field(arg, f.Get(2), "gateway address"));
  return EthTransport(std::move(t));
}

absl::StatusOr<EthTransport> ParseEthertap(absl::string_view arg,
                                           const Fields& f, EthSwitch& out) {
  RETURN_IF_ERROR(
      CheckFieldCount(arg, f, 3, "ethertap,<tap dev>,[<mac>],[<gate ip>]"));
  EthertapTransport t;
  if (f.Get(0).empty()) return Error(arg, "missing tap device name");
  RETURN_IF_ERROR(InterfaceField(arg, f.Get(0), "tap device name"));
  t.device = std::string(f.Get(0));
  ASSIGN_OR_RETURN(t.mac, MacField(arg, f.Get(1), out));
  ASSIGN_OR_RETURN(t.gate, Ipv4Field(arg, f.Get(2), "gateway address"));
  return EthTransport(std::move(t));
}

absl::StatusOr<EthTransport> ParseDaemon(absl::string_view arg, const Fields& f,
                                         EthSwitch& out) {
  DaemonTransport t;
  if (f.size() > 3) {
    // The old data-socket field; UML 6.1 ignores it with this warning.
    out.warnings.push_back(absl::StrCat(
        arg, ": ignoring data socket specification '", f.From(3), "'"));
  }
  if (!f.Get(1).empty()) {
    if (f.Get(1) != "unix") {
      return Error(arg, absl::StrCat("unknown socket type '", f.Get(1),
                                     "' (only 'unix')"));
    }
    t.socket_type = std::string(f.Get(1));
  }
  if (!f.Get(2).empty()) t.control_socket = std::string(f.Get(2));
  ASSIGN_OR_RETURN(t.mac, MacField(arg, f.Get(0), out));
  return EthTransport(std::move(t));
}

absl::StatusOr<EthTransport> ParseMcast(absl::string_view arg, const Fields& f,
                                        EthSwitch& out) {
  RETURN_IF_ERROR(CheckFieldCount(
      arg, f, 4, "mcast,[<mac>],[<group addr>],[<port>],[<ttl>]"));
  McastTransport t;
  // UML checks port and ttl in mcast_setup; kuml's extra checks follow.
  RETURN_IF_ERROR(PortField(arg, f.Get(2), "multicast port", t.port));
  if (!f.Get(3).empty()) {
    const std::optional<uint64_t> ttl = ParseWholeNumber(f.Get(3), 10, 255);
    if (!ttl.has_value()) {
      return Error(arg,
                   absl::StrCat("bad multicast ttl '", f.Get(3), "' (0..255)"));
    }
    t.ttl = static_cast<uint8_t>(*ttl);
  }
  ASSIGN_OR_RETURN(t.mac, MacField(arg, f.Get(0), out));
  if (!f.Get(1).empty()) {
    const std::optional<Ipv4Address> group = ParseIpv4Address(f.Get(1));
    if (!group.has_value() || group->octets[0] < 224 ||
        group->octets[0] > 239) {
      return Error(arg, absl::StrCat("bad multicast address '", f.Get(1),
                                     "' (expected 224.0.0.0 to "
                                     "239.255.255.255)"));
    }
    t.group = *group;
  }
  return EthTransport(std::move(t));
}

absl::StatusOr<EthTransport> ParseUcast(absl::string_view arg, const Fields& f,
                                        EthSwitch& out) {
  RETURN_IF_ERROR(CheckFieldCount(
      arg, f, 4,
      "ucast,[<mac>],<remote addr>,[<listen port>],[<remote port>]"));
  UcastTransport t;
  RETURN_IF_ERROR(PortField(arg, f.Get(2), "listen port", t.local_port));
  RETURN_IF_ERROR(PortField(arg, f.Get(3), "remote port", t.remote_port));
  ASSIGN_OR_RETURN(t.mac, MacField(arg, f.Get(0), out));
  if (f.Get(1).empty()) return Error(arg, "missing remote address");
  std::optional<Ipv4Address> remote;
  ASSIGN_OR_RETURN(remote, Ipv4Field(arg, f.Get(1), "remote address"));
  t.remote = *remote;
  return EthTransport(std::move(t));
}

absl::StatusOr<EthTransport> ParseSlirp(absl::string_view arg, const Fields& f,
                                        EthSwitch& out) {
  SlirpTransport t;
  ASSIGN_OR_RETURN(t.mac, MacField(arg, f.Get(0), out));
  if (f.size() > 1) {
    if (f.Get(1).empty()) return Error(arg, "missing slirp command");
    t.argv.clear();
    for (size_t i = 1; i < f.size(); ++i) {
      // Arguments can't hold ',' and the command line can't hold ' ', so
      // UML writes spaces as '_'.
      t.argv.push_back(absl::StrReplaceAll(f.Get(i), {{"_", " "}}));
    }
  }
  return EthTransport(std::move(t));
}

absl::StatusOr<EthTransport> ParseSlip(absl::string_view arg, const Fields& f,
                                       EthSwitch&) {
  RETURN_IF_ERROR(CheckFieldCount(arg, f, 1, "slip,<gate ip>"));
  SlipTransport t;
  ASSIGN_OR_RETURN(t.gate, Ipv4Field(arg, f.Get(0), "gateway address"));
  return EthTransport(std::move(t));
}

absl::StatusOr<EthTransport> ParseVde(absl::string_view arg, const Fields& f,
                                      EthSwitch& out) {
  VdeTransport t;
  if (f.size() > 6) {
    out.warnings.push_back(
        absl::StrCat(arg, ": ignoring extra data '", f.From(6), "'"));
  }
  if (!f.Get(2).empty()) {
    const std::optional<uint64_t> port =
        ParseWholeNumber(f.Get(2), 10, INT_MAX);
    if (!port.has_value()) {
      return Error(arg, absl::StrCat("bad port '", f.Get(2), "'"));
    }
    t.port = static_cast<uint32_t>(*port);
  }
  if (!f.Get(4).empty()) {
    const std::optional<uint64_t> mode = ParseWholeNumber(f.Get(4), 8, 07777);
    if (!mode.has_value()) {
      return Error(
          arg, absl::StrCat("bad mode '", f.Get(4), "' (octal, at most 7777)"));
    }
    t.mode = static_cast<uint32_t>(*mode);
  }
  t.switch_path = std::string(f.Get(0));
  ASSIGN_OR_RETURN(t.mac, MacField(arg, f.Get(1), out));
  t.group = std::string(f.Get(3));
  t.description = std::string(f.Get(5));
  return EthTransport(std::move(t));
}

absl::StatusOr<EthTransport> ParsePcap(absl::string_view arg, const Fields& f,
                                       EthSwitch& out) {
  RETURN_IF_ERROR(CheckFieldCount(
      arg, f, 5, "pcap,[<host if>],[<filter>],[<option>],[<option>],[<mac>]"));
  PcapTransport t;
  for (size_t i = 2; i <= 3; ++i) {
    const absl::string_view option = f.Get(i);
    if (option.empty()) continue;
    if (option == "promisc") {
      t.promisc = true;
    } else if (option == "nopromisc") {
      t.promisc = false;
    } else if (option == "optimize") {
      t.optimize = true;
    } else if (option == "nooptimize") {
      t.optimize = false;
    } else {
      return Error(arg, absl::StrCat("bad option '", option,
                                     "' (promisc, nopromisc, optimize or "
                                     "nooptimize)"));
    }
  }
  if (!f.Get(0).empty()) {
    RETURN_IF_ERROR(InterfaceField(arg, f.Get(0), "host interface"));
    t.host_interface = std::string(f.Get(0));
  }
  t.filter = std::string(f.Get(1));
  ASSIGN_OR_RETURN(t.mac, MacField(arg, f.Get(4), out));
  return EthTransport(std::move(t));
}

using TransportParser = absl::StatusOr<EthTransport> (*)(absl::string_view,
                                                         const Fields&,
                                                         EthSwitch&);
struct TransportEntry {
  absl::string_view name;
  TransportParser parse;
};

constexpr TransportEntry kTransports[] = {
    {"tuntap", ParseTuntap}, {"ethertap", ParseEthertap},
    {"daemon", ParseDaemon}, {"mcast", ParseMcast},
    {"ucast", ParseUcast},   {"slirp", ParseSlirp},
    {"slip", ParseSlip},     {"vde", ParseVde},
    {"pcap", ParsePcap},
};
// EthTransportName() indexes this table with the variant's index.
static_assert(std::variant_size_v<EthTransport> ==
                  sizeof(kTransports) / sizeof(kTransports[0]),
              "kTransports must list the EthTransport alternatives in order");

// --- vec<n>: -----------------------------------------------------------------

enum class VecValue {
  kString,
  kInterface,
  kMac,
  kFlag,
  kU32,
  kU64,
  kPort,
  kMtu,
  kDepth,
  kFd,
  kTransport
};

struct VecKey {
  absl::string_view key;
  VecValue value;
};

constexpr VecKey kVecKeys[] = {
    {"transport", VecValue::kTransport},
    {"ifname", VecValue::kInterface},
    {"mac", VecValue::kMac},
    {"mtu", VecValue::kMtu},
    {"depth", VecValue::kDepth},
    {"headroom", VecValue::kU32},
    {"gro", VecValue::kFlag},
    {"vec", VecValue::kFlag},
    {"bpffile", VecValue::kString},
    {"bpfflash", VecValue::kFlag},
    {"ifup", VecValue::kString},
    {"fd", VecValue::kFd},
    {"src", VecValue::kString},
    {"dst", VecValue::kString},
    {"srcport", VecValue::kPort},
    {"dstport", VecValue::kPort},
    {"v6", VecValue::kFlag},
    {"udp", VecValue::kFlag},
    {"rx_key", VecValue::kU32},
    {"tx_key", VecValue::kU32},
    {"sequence", VecValue::kFlag},
    {"pin_sequence", VecValue::kFlag},
    {"rx_session", VecValue::kU32},
    {"tx_session", VecValue::kU32},
    {"cookie64", VecValue::kFlag},
    {"rx_cookie", VecValue::kU64},
    {"tx_cookie", VecValue::kU64},
    {"counter", VecValue::kFlag},
    {"pin_counter", VecValue::kFlag},
};

struct VecTransportEntry {
  absl::string_view name;
  VecTransportType type;
};

constexpr VecTransportEntry kVecTransports[] = {
    {"tap", VecTransportType::kTap},
    {"hybrid", VecTransportType::kHybrid},
    {"raw", VecTransportType::kRaw},
    {"gre", VecTransportType::kGre},
    {"l2tpv3", VecTransportType::kL2tpv3},
    {"bess", VecTransportType::kBess},
    {"fd", VecTransportType::kFd},
};

// Checks one value; returns the problem or "".
std::string CheckVecValue(VecValue kind, absl::string_view value) {
  auto number = [&](uint64_t min, uint64_t max) -> std::string {
    const std::optional<uint64_t> n = ParseWholeNumber(value, 10, max);
    if (n.has_value() && *n >= min) return "";
    return absl::StrCat("expected a decimal number ", min, "..", max);
  };
  switch (kind) {
    case VecValue::kString:
      return value.empty() ? "empty value" : "";
    case VecValue::kInterface:
      return IsValidInterfaceName(value)
                 ? ""
                 : "bad interface name (1..15 characters, no '/', ':' or "
                   "spaces)";
    case VecValue::kMac: {
      absl::StatusOr<MacAddress> mac = ParseMacAddress(value);
      return mac.ok() ? "" : std::string(mac.status().message());
    }
    case VecValue::kFlag:
      return value == "0" || value == "1" ? "" : "expected 0 or 1";
    case VecValue::kU32:
      return number(0, UINT32_MAX);
    case VecValue::kU64:
      return number(0, UINT64_MAX);
    case VecValue::kPort:
      return number(1, 65535);
    case VecValue::kMtu:
      return number(68, 65535);
    case VecValue::kDepth:
      return number(1, 65536);
    case VecValue::kFd:
      return number(0, INT_MAX);
    case VecValue::kTransport:
      for (const VecTransportEntry& t : kVecTransports) {
        if (value == t.name) return "";
      }
      return "expected tap, hybrid, raw, gre, l2tpv3, bess or fd";
  }
  return "unknown";
}

}  // namespace

absl::string_view VecTransportName(VecTransportType type) {
  for (const VecTransportEntry& t : kVecTransports) {
    if (t.type == type) return t.name;
  }
  return "?";
}

absl::string_view EthTransportName(const EthTransport& transport) {
  return kTransports[transport.index()].name;
}

absl::StatusOr<EthSwitch> ParseEthSwitch(absl::string_view arg) {
  absl::string_view rest = arg;
  if (!absl::ConsumePrefix(&rest, "eth")) {
    return Error(arg, "not an eth switch");
  }
  // eth_parse(): simple_strtoul(base 0), then '='.
  const NumberPrefix n = ParseNumberPrefix(rest, 0);
  if (n.length == 0) return Error(arg, "Couldn't parse device number");
  if (n.overflow || n.value >= kMaxNetDevices) {
    return Error(arg, absl::StrCat("Device number out of range (0..",
                                   kMaxNetDevices - 1, ")"));
  }
  rest.remove_prefix(n.length);
  if (!absl::ConsumePrefix(&rest, "=")) {
    return Error(arg, "expected '=' after device number");
  }

  EthSwitch result;
  result.spec.index = static_cast<int>(n.value);
  result.spec.config = std::string(rest);
  result.spec.switch_text = std::string(arg);
  for (const TransportEntry& transport : kTransports) {
    absl::string_view options = rest;
    if (!absl::ConsumePrefix(&options, transport.name)) continue;
    std::vector<absl::string_view> fields;
    if (absl::ConsumePrefix(&options, ",")) {
      fields = absl::StrSplit(options, ',');
    } else if (!options.empty()) {
      continue;  // "tuntapx": the name must end at ',' or the end
    }
    absl::StatusOr<EthTransport> parsed =
        transport.parse(arg, Fields(std::move(fields)), result);
    if (!parsed.ok()) return parsed.status();
    result.spec.transport = *std::move(parsed);
    return result;
  }
  // UML silently ignores a transport it does not know.
  const absl::string_view name = rest.substr(0, rest.find(','));
  return Error(arg, absl::StrCat("unknown transport '", name,
                                 "' (expected tuntap, ethertap, daemon, mcast, "
                                 "ucast, slirp, slip, vde or pcap)"));
}

absl::StatusOr<VecSpec> ParseVecSwitch(absl::string_view arg) {
  absl::string_view rest = arg;
  if (!absl::ConsumePrefix(&rest, "vec")) {
    return Error(arg, "not a vec switch");
  }
  // vector_parse(): the number runs up to the first ':' (kstrtouint base 0).
  const size_t colon = rest.find(':');
  if (colon == absl::string_view::npos) {
    return Error(arg, "Expected ':' after device number");
  }
  const absl::string_view number = rest.substr(0, colon);
  const NumberPrefix n = ParseNumberPrefix(number, 0);
  if (n.length == 0 || n.length != number.size()) {
    return Error(arg, "Bad device number");
  }
  if (n.overflow || n.value >= kMaxNetDevices) {
    return Error(arg, absl::StrCat("Device number out of range (0..",
                                   kMaxNetDevices - 1, ")"));
  }
  rest.remove_prefix(colon + 1);

  VecSpec spec;
  spec.index = static_cast<int>(n.value);
  spec.config = std::string(rest);
  spec.switch_text = std::string(arg);
  if (rest.empty()) return Error(arg, "missing transport=");
  for (absl::string_view item : absl::StrSplit(rest, ',')) {
    const std::vector<absl::string_view> kv =
        absl::StrSplit(item, absl::MaxSplits('=', 1));
    if (kv.size() != 2 || kv[0].empty() ||
        kv[1].find('=') != absl::string_view::npos) {
      return Error(arg,
                   absl::StrCat("expected <key>=<value>, got '", item, "'"));
    }
    const VecKey* key = nullptr;
    for (const VecKey& k : kVecKeys) {
      if (k.key == kv[0]) key = &k;
    }
    if (key == nullptr) {
      return Error(arg, absl::StrCat("unknown option '", kv[0], "'"));
    }
    const std::string problem = CheckVecValue(key->value, kv[1]);
    if (!problem.empty()) {
      return Error(arg, absl::StrCat("bad value '", kv[1], "' for '", kv[0],
                                     "': ", problem));
    }
    if (!spec.options.emplace(std::string(kv[0]), std::string(kv[1])).second) {
      return Error(arg, absl::StrCat("option '", kv[0], "' given twice"));
    }
  }

  auto has = [&](absl::string_view key) {
    return spec.options.count(std::string(key)) > 0;
  };
  if (!has("transport")) return Error(arg, "missing transport=");
  const std::string& transport = spec.options["transport"];
  for (const VecTransportEntry& t : kVecTransports) {
    if (transport == t.name) spec.transport = t.type;
  }
  std::vector<absl::string_view> required;
  switch (spec.transport) {
    case VecTransportType::kTap:
    case VecTransportType::kHybrid:
    case VecTransportType::kRaw:
      required = {"ifname"};
      break;
    case VecTransportType::kGre:
    case VecTransportType::kL2tpv3:
      required = {"src", "dst"};
      break;
    case VecTransportType::kBess:
      required = {"dst"};
      break;
    case VecTransportType::kFd:
      required = {"fd"};
      break;
  }
  for (absl::string_view key : required) {
    if (!has(key)) {
      return Error(arg,
                   absl::StrCat("transport=", transport, " needs ", key, "="));
    }
  }
  return spec;
}

}  // namespace kuml
