// Small socket helpers shared by the UDP and uml_switch transports.
#ifndef KUML_DEVICES_NET_SOCKET_UTIL_H_
#define KUML_DEVICES_NET_SOCKET_UTIL_H_

#include <netinet/in.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "util/net_address.h"
#include "util/unique_fd.h"

namespace kuml {

sockaddr_in Ipv4SocketAddress(const Ipv4Address& address, uint16_t port);

// A non-blocking, close-on-exec socket; errors name `what`.
absl::StatusOr<UniqueFd> OpenSocket(int domain, int type,
                                    absl::string_view what);

// setsockopt() with an int-sized (or smaller) value; errors name the option.
absl::Status SetSocketOption(int fd, int level, int option, const void* value,
                             socklen_t size, absl::string_view name);

}  // namespace kuml

#endif  // KUML_DEVICES_NET_SOCKET_UTIL_H_
