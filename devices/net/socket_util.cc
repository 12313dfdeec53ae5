#include "devices/net/socket_util.h"

#include <sys/socket.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "util/errno_status.h"

namespace kuml {

sockaddr_in Ipv4SocketAddress(const Ipv4Address& address, uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  std::memcpy(&sin.sin_addr.s_addr, address.octets.data(), 4);
  return sin;
}

absl::StatusOr<UniqueFd> OpenSocket(int domain, int type,
                                    absl::string_view what) {
  UniqueFd fd(::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus(absl::StrCat(what, ": socket"));
  return fd;
}

absl::Status SetSocketOption(int fd, int level, int option, const void* value,
                             socklen_t size, absl::string_view name) {
  if (::setsockopt(fd, level, option, value, size) < 0) {
    return ErrnoStatus(absl::StrCat("setsockopt ", name));
  }
  return absl::OkStatus();
}

}  // namespace kuml
