// eth<n>=mcast,[<mac>],[<group>],[<port>],[<ttl>]: every guest joined to the
// same UDP multicast group and port shares one virtual ethernet segment.
// Wire-compatible with UML's umcast_user.c: each datagram is one raw
// ethernet frame, the socket is bound to group:port with SO_REUSEADDR (so
// many guests on one host can join), multicast loop on (so they hear each
// other), the TTL from the switch. A guest hears its own frames too, as in
// UML; the virtio-net device drops those (source MAC = its own).
//
// Needs a multicast-capable host interface with a route for the group: in a
// bare network namespace `ip link set lo multicast on; ip route add
// 224.0.0.0/4 dev lo` is enough.
#ifndef KUML_DEVICES_NET_MCAST_TRANSPORT_H_
#define KUML_DEVICES_NET_MCAST_TRANSPORT_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "devices/net/net_transport.h"
#include "util/net_address.h"

namespace kuml {

struct McastOptions {
  Ipv4Address group;
  uint16_t port = 0;
  uint8_t ttl = 1;
};

absl::StatusOr<std::unique_ptr<NetTransport>> OpenMcastTransport(
    const McastOptions& options);

}  // namespace kuml

#endif  // KUML_DEVICES_NET_MCAST_TRANSPORT_H_
