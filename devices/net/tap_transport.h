// eth<n>=tuntap,... and vec<n>:transport=tap,ifname=...: frames to and from
// a host tap device (/dev/net/tun, IFF_TAP | IFF_NO_PI).
//  - tuntap,<tap>: attach to that device, as UML does without its uml_net
//    helper (HOWTO 6.7). A persistent tap (tunctl -u, ip tuntap add ...
//    user ...) needs no privilege; a missing name is created as a transient
//    tap, which needs CAP_NET_ADMIN. A <gate ip> is ignored, as in UML
//    (the host side of a pre-configured tap is the user's business).
//  - tuntap,,,<gate ip>: create a transient tap and configure its host side
//    (address <gate ip> with its classful netmask, as uml_net's ifconfig
//    did; up). Needs CAP_NET_ADMIN; otherwise a clear error says how to
//    pre-configure a tap instead. tuntap with no field at all creates an
//    unconfigured tap.
// A transient tap disappears when kuml exits.
//
// The tap is opened with IFF_VNET_HDR when the host allows (it always does
// since Linux 2.6.27), so the guest's checksum and TSO offloads reach the
// host kernel unchanged -- the offloads that pay for a tap.
#ifndef KUML_DEVICES_NET_TAP_TRANSPORT_H_
#define KUML_DEVICES_NET_TAP_TRANSPORT_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "devices/net/net_transport.h"
#include "util/net_address.h"

namespace kuml {

struct TapOptions {
  std::string device;  // empty: create a new transient tap ("tap%d")
  // Only for a tap we create: the host side's address.
  std::optional<Ipv4Address> host_address;
  bool vnet_header = true;  // ask for IFF_VNET_HDR (tests turn it off)
};

absl::StatusOr<std::unique_ptr<NetTransport>> OpenTapTransport(
    const TapOptions& options);

// The netmask ifconfig gives an address without one (class A /8, B /16,
// C and above /24).
Ipv4Address ClassfulNetmask(const Ipv4Address& address);

}  // namespace kuml

#endif  // KUML_DEVICES_NET_TAP_TRANSPORT_H_
