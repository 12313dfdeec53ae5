#include "devices/net/mcast_transport.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "devices/net/datagram_transport.h"
#include "devices/net/socket_util.h"
#include "util/errno_status.h"

namespace kuml {

absl::StatusOr<std::unique_ptr<NetTransport>> OpenMcastTransport(
    const McastOptions& options) {
  const std::string name = absl::StrCat("mcast ", options.group.ToString(), ":",
                                        options.port, " ttl ", options.ttl);
  absl::StatusOr<UniqueFd> fd = OpenSocket(AF_INET, SOCK_DGRAM, name);
  if (!fd.ok()) return fd.status();
  const int yes = 1;
  const int ttl = options.ttl;
  absl::Status s = SetSocketOption(fd->get(), SOL_SOCKET, SO_REUSEADDR, &yes,
                                   sizeof yes, "SO_REUSEADDR");
  if (s.ok()) {
    s = SetSocketOption(fd->get(), SOL_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl,
                        "IP_MULTICAST_TTL");
  }
  if (s.ok()) {
    s = SetSocketOption(fd->get(), SOL_IP, IP_MULTICAST_LOOP, &yes, sizeof yes,
                        "IP_MULTICAST_LOOP");
  }
  if (!s.ok())
    return absl::Status(s.code(), absl::StrCat(name, ": ", s.message()));

  const sockaddr_in group = Ipv4SocketAddress(options.group, options.port);
  if (::bind(fd->get(), reinterpret_cast<const sockaddr*>(&group),
             sizeof group) < 0) {
    return ErrnoStatus(absl::StrCat(name, ": bind"));
  }
  ip_mreq mreq{};
  mreq.imr_multiaddr = group.sin_addr;
  mreq.imr_interface.s_addr = htonl(INADDR_ANY);
  if (::setsockopt(fd->get(), SOL_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) <
      0) {
    const int err = errno;
    std::string hint;
    if (err == ENODEV) {
      hint =
          " (no multicast-capable host interface routes the group; in a "
          "network namespace with only lo: ip link set lo multicast on; ip "
          "route add 224.0.0.0/4 dev lo)";
    }
    return ErrnoStatus(absl::StrCat(name, ": joining the group", hint), err);
  }
  return std::unique_ptr<NetTransport>(
      new DatagramTransport(name, *std::move(fd), AddressBytes(group)));
}

}  // namespace kuml
