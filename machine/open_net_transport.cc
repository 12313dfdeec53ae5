#include "machine/open_net_transport.h"

#include <type_traits>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "devices/net/daemon_transport.h"
#include "devices/net/mcast_transport.h"
#include "devices/net/pcap_transport.h"
#include "devices/net/slirp_options.h"
#include "devices/net/slirp_transport.h"
#include "devices/net/tap_transport.h"
#include "devices/net/ucast_transport.h"
#include "devices/net/vde_transport.h"
#include "machine/mac_policy.h"
#include "util/net_address.h"

namespace kuml {
namespace {

// The error, prefixed with the switch it is about (unless it already is).
absl::Status ForSwitch(const std::string& switch_text,
                       const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(switch_text, ": ", status.message()));
}

// slirp's fields after "slirp,<mac>," taken from the switch text itself:
// the parsed argv has UML's '_' -> ' ' applied, which options must not get.
std::vector<std::string> SlirpFields(const EthSpec& spec) {
  std::vector<std::string> fields = absl::StrSplit(spec.config, ',');
  if (fields.size() <= 2) return {};
  return std::vector<std::string>(fields.begin() + 2, fields.end());
}

absl::Status Obsolete(const EthSpec& spec, absl::string_view what,
                      absl::string_view instead) {
  return absl::InvalidArgumentError(
      absl::StrCat(spec.switch_text, ": the ", what,
                   " transport is obsolete and not supported; use ", instead));
}

}  // namespace

std::optional<MacAddress> SpecifiedMac(const EthSpec& spec) {
  return std::visit(
      [](const auto& t) -> std::optional<MacAddress> {
        if constexpr (std::is_same_v<std::decay_t<decltype(t)>,
                                     SlipTransport>) {
          return std::nullopt;
        } else {
          return t.mac;
        }
      },
      spec.transport);
}

absl::StatusOr<std::optional<MacAddress>> SpecifiedMac(const VecSpec& spec) {
  auto it = spec.options.find("mac");
  if (it == spec.options.end()) return std::optional<MacAddress>();
  absl::StatusOr<MacAddress> mac = ParseMacAddress(it->second);
  if (!mac.ok()) return ForSwitch(spec.switch_text, mac.status());
  return std::optional<MacAddress>(*mac);
}

absl::Status CheckEthSpec(const EthSpec& spec) {
  if (std::holds_alternative<EthertapTransport>(spec.transport)) {
    return Obsolete(spec, "ethertap (Linux 2.2)",
                    "eth<n>=tuntap,<tap> or eth<n>=tuntap,,,<host ip>");
  }
  if (std::holds_alternative<SlipTransport>(spec.transport)) {
    return Obsolete(spec, "slip",
                    "eth<n>=slirp (no root needed) or eth<n>=tuntap,...");
  }
  if (std::holds_alternative<SlirpTransport>(spec.transport)) {
    absl::StatusOr<SlirpOptions> options = ParseSlirpOptions(SlirpFields(spec));
    if (!options.ok()) return ForSwitch(spec.switch_text, options.status());
  }
  absl::StatusOr<MacAddress> mac = ChooseMac(SpecifiedMac(spec), {});
  if (!mac.ok()) return ForSwitch(spec.switch_text, mac.status());
  return absl::OkStatus();
}

absl::Status CheckVecSpec(const VecSpec& spec) {
  if (spec.transport != VecTransportType::kTap) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.switch_text, ": not supported yet: vector transport ",
                     spec.options.at("transport"),
                     " (kuml has transport=tap, or use eth<n>= transports)"));
  }
  absl::StatusOr<std::optional<MacAddress>> given = SpecifiedMac(spec);
  if (!given.ok()) return given.status();
  absl::StatusOr<MacAddress> mac = ChooseMac(*given, {});
  if (!mac.ok()) return ForSwitch(spec.switch_text, mac.status());
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<NetTransport>> OpenNetTransport(
    const EthSpec& spec, const std::optional<Ipv4Address>& guest_ip) {
  absl::Status checked = CheckEthSpec(spec);
  if (!checked.ok()) return checked;
  absl::StatusOr<std::unique_ptr<NetTransport>> t = std::visit(
      [&spec, &guest_ip](const auto& transport)
          -> absl::StatusOr<std::unique_ptr<NetTransport>> {
        using T = std::decay_t<decltype(transport)>;
        if constexpr (std::is_same_v<T, TuntapTransport>) {
          TapOptions options;
          options.device = transport.device;
          options.host_address = transport.gate;
          options.guest_address = guest_ip;
          return OpenTapTransport(options);
        } else if constexpr (std::is_same_v<T, DaemonTransport>) {
          DaemonOptions options;
          options.control_socket = transport.control_socket;
          return OpenDaemonTransport(options);
        } else if constexpr (std::is_same_v<T, McastTransport>) {
          McastOptions options;
          options.group = transport.group;
          options.port = transport.port;
          options.ttl = transport.ttl;
          return OpenMcastTransport(options);
        } else if constexpr (std::is_same_v<T, UcastTransport>) {
          UcastOptions options;
          options.remote = transport.remote;
          options.local_port = transport.local_port;
          options.remote_port = transport.remote_port;
          return OpenUcastTransport(options);
        } else if constexpr (std::is_same_v<T, SlirpTransport>) {
          absl::StatusOr<SlirpOptions> options =
              ParseSlirpOptions(SlirpFields(spec));
          if (!options.ok()) return options.status();
          return OpenSlirpTransport(*options);
        } else if constexpr (std::is_same_v<T, VdeTransport>) {
          VdeOptions options;
          options.switch_path = transport.switch_path;
          options.port = transport.port;
          options.group = transport.group;
          options.mode = transport.mode;
          options.description = transport.description;
          return OpenVdeTransport(options);
        } else if constexpr (std::is_same_v<T, PcapTransport>) {
          PcapOptions options;
          options.host_interface = transport.host_interface;
          options.filter = transport.filter;
          options.promisc = transport.promisc;
          options.optimize = transport.optimize;
          return OpenPcapTransport(options);
        } else {
          // ethertap, slip: refused by CheckEthSpec().
          return absl::InvalidArgumentError("unsupported transport");
        }
      },
      spec.transport);
  if (!t.ok()) return ForSwitch(spec.switch_text, t.status());
  return t;
}

absl::StatusOr<std::unique_ptr<NetTransport>> OpenVecTransport(
    const VecSpec& spec) {
  absl::Status checked = CheckVecSpec(spec);
  if (!checked.ok()) return checked;
  TapOptions options;
  options.device = spec.options.at("ifname");
  // UML's vector tap uses vnet headers unless told vec=0/gro=0; kuml always
  // negotiates offloads with the guest, so the knobs need no meaning here.
  absl::StatusOr<std::unique_ptr<NetTransport>> t = OpenTapTransport(options);
  if (!t.ok()) return ForSwitch(spec.switch_text, t.status());
  return t;
}

}  // namespace kuml
