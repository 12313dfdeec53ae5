// Options of kuml's built-in user-mode networking (libslirp):
//
//   eth<n>=slirp[,<mac>[,<option>...]]
//
// with each option key=value:
//   net=<addr>/<prefix>   the virtual network (default 10.0.2.0/24)
//   host=<addr>           the gateway: the host's loopback as the guest
//                         sees it (default <net>.2)
//   dns=<addr>            DNS forwarder to the host's resolvers (<net>.3)
//   dhcpstart=<addr>      first DHCP lease, also the default guest address
//                         of hostfwd (<net>.15)
//   hostfwd=[tcp|udp]:[<host addr>]:<host port>-[<guest addr>]:<guest port>
//                         forward a host port into the guest; may repeat.
//                         <host addr> defaults to 127.0.0.1 (kuml is
//                         stricter than QEMU's 0.0.0.0: give 0.0.0.0 to
//                         listen on every interface)
//   restrict=on|off       on: the guest reaches nothing outside (only
//                         forwarded ports in); default off
// UML's own form `slirp,<mac>,<slirp program>[,<arg>...]` ran an external
// SLIP program; kuml refuses it with a pointer to these options (a field
// without '=' is taken as such a program).
#ifndef KUML_DEVICES_NET_SLIRP_OPTIONS_H_
#define KUML_DEVICES_NET_SLIRP_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "util/net_address.h"

namespace kuml {

struct SlirpForward {
  bool udp = false;
  Ipv4Address host_address{{127, 0, 0, 1}};
  uint16_t host_port = 0;
  Ipv4Address guest_address;  // set to dhcp_start when not given
  uint16_t guest_port = 0;
  std::string text;  // "hostfwd=tcp:127.0.0.1:2222-:22", for messages
};

struct SlirpOptions {
  Ipv4Address network{{10, 0, 2, 0}};
  int prefix = 24;
  Ipv4Address host{{10, 0, 2, 2}};
  Ipv4Address dns{{10, 0, 2, 3}};
  Ipv4Address dhcp_start{{10, 0, 2, 15}};
  bool restricted = false;
  std::vector<SlirpForward> forwards;
};

// `fields` are the switch's fields after the MAC. Errors are
// InvalidArgument naming the offending field and what was expected.
absl::StatusOr<SlirpOptions> ParseSlirpOptions(
    const std::vector<std::string>& fields);

}  // namespace kuml

#endif  // KUML_DEVICES_NET_SLIRP_OPTIONS_H_
