// Parsers for UML network switches:
//   eth<n>=<transport>[,<positional fields>]      (drivers/net_kern.c and
//                                                   the *_kern.c transports)
//   vec<n>:<key>=<value>[,<key>=<value>...]       (drivers/vector_kern.c)
// Shared with mconsole's `config eth<n>=...` / `config vec<n>:...`.
#ifndef KUML_FRONTEND_NET_SWITCH_H_
#define KUML_FRONTEND_NET_SWITCH_H_

#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "frontend/machine_spec.h"

namespace kuml {

struct EthSwitch {
  EthSpec spec;
  // What UML would only print: ignored daemon data socket, ignored extra vde
  // fields, a globally administered MAC.
  std::vector<std::string> warnings;
};

// `arg` is the whole switch ("eth0=mcast,,239.192.168.1,1102,1"). The
// transport name must be followed by ',' or the end. Positional fields: an
// empty one keeps the default; too many is an error (UML: "Extra garbage").
// Stricter than UML, which ignores an unknown transport and replaces a bad
// MAC by a random one: both are errors here, as are malformed IPv4 addresses
// (UML's in_aton never fails), non-multicast mcast groups, port 0 and bad
// interface names. Errors: InvalidArgument("<arg>: <field problem>").
absl::StatusOr<EthSwitch> ParseEthSwitch(absl::string_view arg);

// `arg` is the whole switch ("vec0:transport=tap,ifname=tap0"). Every item
// must be key=value with a known key, once; transport= is required and one
// of tap|hybrid|raw|gre|l2tpv3|bess|fd; tap/hybrid/raw need ifname=, fd
// needs fd=, gre/l2tpv3 need src= and dst=, bess needs dst=. Numeric keys
// are checked (decimal), flag keys are 0 or 1.
absl::StatusOr<VecSpec> ParseVecSwitch(absl::string_view arg);

// "tap", "hybrid", ... for messages and round trips.
absl::string_view VecTransportName(VecTransportType type);

// Either kind of network switch, parsed (mconsole hot-plug hands one from
// the command parser to the launcher).
using NetDeviceSpec = std::variant<EthSpec, VecSpec>;

// "tuntap", "mcast", ... : the name of the transport a spec holds.
absl::string_view EthTransportName(const EthTransport& transport);

}  // namespace kuml

#endif  // KUML_FRONTEND_NET_SWITCH_H_
