#include "devices/net/ucast_transport.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "devices/net/datagram_transport.h"
#include "devices/net/socket_util.h"
#include "util/errno_status.h"

namespace kuml {

absl::StatusOr<std::unique_ptr<NetTransport>> OpenUcastTransport(
    const UcastOptions& options) {
  const std::string name =
      absl::StrCat("ucast :", options.local_port, " -> ",
                   options.remote.ToString(), ":", options.remote_port);
  absl::StatusOr<UniqueFd> fd = OpenSocket(AF_INET, SOCK_DGRAM, name);
  if (!fd.ok()) return fd.status();
  const int yes = 1;
  absl::Status s = SetSocketOption(fd->get(), SOL_SOCKET, SO_REUSEADDR, &yes,
                                   sizeof yes, "SO_REUSEADDR");
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat(name, ": ", s.message()));
  }
  const sockaddr_in local =
      Ipv4SocketAddress(Ipv4Address{}, options.local_port);
  if (::bind(fd->get(), reinterpret_cast<const sockaddr*>(&local),
             sizeof local) < 0) {
    return ErrnoStatus(
        absl::StrCat(name, ": bind to listen port ", options.local_port));
  }
  return std::unique_ptr<NetTransport>(new DatagramTransport(
      name, *std::move(fd),
      AddressBytes(Ipv4SocketAddress(options.remote, options.remote_port))));
}

}  // namespace kuml
