// eth<n>=slirp[,<mac>[,<option>...]]: user-mode networking with no root and
// no host setup, on libslirp (the TCP/IP stack QEMU's -netdev user uses).
// The guest sees a router at <net>.2 (the host itself: connecting there
// reaches the host's loopback), a DNS forwarder at <net>.3 and a DHCP
// server; its TCP and UDP flows leave through ordinary host sockets, and
// hostfwd= options forward host ports into it. See slirp_options.h for the
// options.
//
// libslirp is not thread-safe and wants to poll its own sockets and run
// timers, so each transport runs the stack on a thread of its own; frames
// cross between that thread and the device over an AF_UNIX datagram
// socketpair, which makes the device side one fd like every other
// transport.
#ifndef KUML_DEVICES_NET_SLIRP_TRANSPORT_H_
#define KUML_DEVICES_NET_SLIRP_TRANSPORT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "devices/net/net_transport.h"
#include "devices/net/slirp_options.h"

namespace kuml {

absl::StatusOr<std::unique_ptr<NetTransport>> OpenSlirpTransport(
    const SlirpOptions& options);

}  // namespace kuml

#endif  // KUML_DEVICES_NET_SLIRP_TRANSPORT_H_
