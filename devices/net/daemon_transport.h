// eth<n>=daemon,[<mac>],[unix],[<control socket>]: a port on a uml_switch
// (Debian's uml-utilities), speaking the protocol of UML's daemon_user.c so
// that kuml and UML guests can share one switch:
//  1. connect a SOCK_STREAM to the switch's control socket;
//  2. bind a SOCK_DGRAM data socket to an abstract unix address of our own;
//  3. write struct request_v3 {magic 0xfeedface, version 3, REQ_NEW_CONTROL,
//     our data address as a sockaddr_un};
//  4. read back the switch's data socket address (a whole sockaddr_un).
// Then every datagram between the two data sockets is one raw ethernet
// frame. The control connection stays open: closing it is how the switch
// learns that the port is gone.
#ifndef KUML_DEVICES_NET_DAEMON_TRANSPORT_H_
#define KUML_DEVICES_NET_DAEMON_TRANSPORT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "devices/net/net_transport.h"

namespace kuml {

struct DaemonOptions {
  std::string control_socket;  // the switch's unix control socket
};

absl::StatusOr<std::unique_ptr<NetTransport>> OpenDaemonTransport(
    const DaemonOptions& options);

}  // namespace kuml

#endif  // KUML_DEVICES_NET_DAEMON_TRANSPORT_H_
