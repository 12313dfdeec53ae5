// eth<n>=ucast,[<mac>],<remote addr>,[<listen port>],[<remote port>]: a
// point-to-point ethernet cable over UDP, as UML's umcast_user.c in unicast
// mode: one raw frame per datagram, sent to remote:rport, received on a
// socket bound to 0.0.0.0:lport (SO_REUSEADDR) from anyone.
#ifndef KUML_DEVICES_NET_UCAST_TRANSPORT_H_
#define KUML_DEVICES_NET_UCAST_TRANSPORT_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "devices/net/net_transport.h"
#include "util/net_address.h"

namespace kuml {

struct UcastOptions {
  Ipv4Address remote;
  uint16_t local_port = 0;   // where frames are received
  uint16_t remote_port = 0;  // where frames are sent
};

absl::StatusOr<std::unique_ptr<NetTransport>> OpenUcastTransport(
    const UcastOptions& options);

}  // namespace kuml

#endif  // KUML_DEVICES_NET_UCAST_TRANSPORT_H_
