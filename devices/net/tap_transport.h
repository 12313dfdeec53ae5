// eth<n>=tuntap,... and vec<n>:transport=tap,ifname=...: frames to and from
// a host tap device (/dev/net/tun, IFF_TAP | IFF_NO_PI).
//  - tuntap,<tap>: attach to that device, as UML does without its uml_net
//    helper (HOWTO 6.7). A persistent tap (tunctl -u, ip tuntap add ...
//    user ...) needs no privilege; a missing name is created as a transient
//    tap, which needs CAP_NET_ADMIN. A <gate ip> is ignored, as in UML
//    (the host side of a pre-configured tap is the user's business).
//  - tuntap,,,<gate ip>: a transient tap with the host side UML's setuid
//    helper gives it (uml_net.h): <gate ip>/32, up, and for every address
//    the guest uses on it (the sender of its ARP packets, or ip= on the
//    kernel command line) a host route and proxy ARP, removed again when
//    kuml ends. With CAP_NET_ADMIN kuml creates the tap itself (with a
//    virtio-net header) and leaves the routes to uml_net's `add`; without
//    it, `uml_net 4 tuntap up <gate>` creates it, exactly as UML calls it
//    (root or group uml-net may run it). Where uml_net is not installed,
//    root gets the gate's classful network on the tap instead (reachable
//    without per-address routes), anyone else a clear error saying how to
//    pre-configure a tap. tuntap with no field at all creates an
//    unconfigured tap (CAP_NET_ADMIN).
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
  // The guest's address on it, when known in advance (ip=): routed at once.
  std::optional<Ipv4Address> guest_address;
  // Whether uml_net may be used (tests turn it off to see the fallbacks).
  bool use_uml_net = true;
  bool vnet_header = true;  // ask for IFF_VNET_HDR (tests turn it off)
};

absl::StatusOr<std::unique_ptr<NetTransport>> OpenTapTransport(
    const TapOptions& options);

// The netmask ifconfig gives an address without one (class A /8, B /16,
// C and above /24).
Ipv4Address ClassfulNetmask(const Ipv4Address& address);

}  // namespace kuml

#endif  // KUML_DEVICES_NET_TAP_TRANSPORT_H_
