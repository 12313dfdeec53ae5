// From a parsed eth<n>= / vec<n>: switch to the host side of the interface:
// the one place that maps UML's transports onto kuml's, shared by the
// command line and mconsole's `config eth<n>=...`.
//
//   tuntap            tap_transport.h        daemon    daemon_transport.h
//   mcast             mcast_transport.h      ucast     ucast_transport.h
//   slirp             slirp_transport.h      vde       vde_transport.h
//   pcap              pcap_transport.h
//   vec<n>:transport=tap,ifname=<tap>   the same as eth<n>=tuntap,<tap>
// ethertap and slip are refused as obsolete (with what to use instead), as
// are the vector transports other than tap.
#ifndef KUML_MACHINE_OPEN_NET_TRANSPORT_H_
#define KUML_MACHINE_OPEN_NET_TRANSPORT_H_

#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "devices/net/net_transport.h"
#include "frontend/machine_spec.h"

namespace kuml {

// Checks what can be checked without touching the host (obsolete
// transports, slirp options, the MAC's first byte). InvalidArgument naming
// the switch.
absl::Status CheckEthSpec(const EthSpec& spec);
absl::Status CheckVecSpec(const VecSpec& spec);

// Opens the host side. Errors start with the switch text. `guest_ip`: the
// guest's address on the interface when the kernel command line gives it
// (ip=), for the host routes of tuntap,,,<gate> (devices/net/uml_net.h).
absl::StatusOr<std::unique_ptr<NetTransport>> OpenNetTransport(
    const EthSpec& spec,
    const std::optional<Ipv4Address>& guest_ip = std::nullopt);
absl::StatusOr<std::unique_ptr<NetTransport>> OpenVecTransport(
    const VecSpec& spec);

// The MAC given on the switch, if any.
std::optional<MacAddress> SpecifiedMac(const EthSpec& spec);
absl::StatusOr<std::optional<MacAddress>> SpecifiedMac(const VecSpec& spec);

}  // namespace kuml

#endif  // KUML_MACHINE_OPEN_NET_TRANSPORT_H_
