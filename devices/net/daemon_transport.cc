#include "devices/net/daemon_transport.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "devices/net/datagram_transport.h"
#include "devices/net/socket_util.h"
#include "util/errno_status.h"

namespace kuml {
namespace {

constexpr uint32_t kSwitchMagic = 0xfeedface;
constexpr uint32_t kSwitchVersion = 3;
constexpr uint32_t kReqNewControl = 0;
// uml_switch answers at once; a switch that does not is not one.
constexpr int kHandshakeTimeoutMs = 5000;

// daemon_user.c's struct request_v3 (the enum is an int on every ABI UML
// runs on).
struct RequestV3 {
  uint32_t magic;
  uint32_t version;
  uint32_t type;
  sockaddr_un sock;
};

// An abstract address no other port uses: UML takes {0, pid, usecs}; a
// process-wide counter keeps two kuml devices opened in the same
// microsecond apart.
sockaddr_un LocalDataAddress() {
  static std::atomic<uint32_t> counter{0};
  struct {
    char zero;
    int pid;
    int usecs;
    uint32_t serial;
  } name{};
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  name.pid = ::getpid();
  name.usecs = static_cast<int>(tv.tv_usec);
  name.serial = counter.fetch_add(1);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, &name, sizeof name);
  return sun;
}

// Waits until `fd` is ready for `events`; DeadlineExceeded after the
// handshake timeout.
absl::Status WaitFor(int fd, short events, absl::string_view what) {
  pollfd p{fd, events, 0};
  for (;;) {
    int n = ::poll(&p, 1, kHandshakeTimeoutMs);
    if (n > 0) return absl::OkStatus();
    if (n == 0) {
      return absl::DeadlineExceededError(
          absl::StrCat(what, ": no answer from the switch"));
    }
    if (errno != EINTR) return ErrnoStatus(absl::StrCat(what, ": poll"));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<NetTransport>> OpenDaemonTransport(
    const DaemonOptions& options) {
  const std::string name = absl::StrCat("daemon unix:", options.control_socket);
  sockaddr_un ctl{};
  ctl.sun_family = AF_UNIX;
  if (options.control_socket.size() >= sizeof ctl.sun_path) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": control socket path longer than ",
                     sizeof ctl.sun_path - 1, " bytes"));
  }
  std::memcpy(ctl.sun_path, options.control_socket.data(),
              options.control_socket.size());

  absl::StatusOr<UniqueFd> control = OpenSocket(AF_UNIX, SOCK_STREAM, name);
  if (!control.ok()) return control.status();
  if (::connect(control->get(), reinterpret_cast<const sockaddr*>(&ctl),
                sizeof ctl) < 0) {
    if (errno != EINPROGRESS) {
      return ErrnoStatus(absl::StrCat(
          name,
          ": connecting to the switch's control socket (is uml_switch "
          "running there?)"));
    }
    absl::Status s = WaitFor(control->get(), POLLOUT, name);
    if (!s.ok()) return s;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(control->get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      return ErrnoStatus(
          absl::StrCat(name, ": connecting to the switch's control socket"),
          err);
    }
  }

  absl::StatusOr<UniqueFd> data = OpenSocket(AF_UNIX, SOCK_DGRAM, name);
  if (!data.ok()) return data.status();
  RequestV3 request{};
  request.magic = kSwitchMagic;
  request.version = kSwitchVersion;
  request.type = kReqNewControl;
  request.sock = LocalDataAddress();
  if (::bind(data->get(), reinterpret_cast<const sockaddr*>(&request.sock),
             sizeof request.sock) < 0) {
    return ErrnoStatus(absl::StrCat(name, ": binding the data socket"));
  }

  ssize_t n;
  do {
    n = ::send(control->get(), &request, sizeof request, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof request)) {
    return ErrnoStatus(absl::StrCat(name, ": sending the port request"),
                       n < 0 ? errno : EPIPE);
  }
  sockaddr_un peer{};
  size_t got = 0;
  auto* out = reinterpret_cast<uint8_t*>(&peer);
  while (got < sizeof peer) {
    absl::Status s = WaitFor(control->get(), POLLIN, name);
    if (!s.ok()) return s;
    n = ::recv(control->get(), out + got, sizeof peer - got, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      return absl::UnavailableError(
          absl::StrCat(name, ": the switch refused the port request (",
                       n == 0 ? "connection closed" : std::strerror(errno),
                       "); is it a version 3 uml_switch?"));
    }
    got += n;
  }
  if (peer.sun_family != AF_UNIX) {
    return absl::UnavailableError(
        absl::StrCat(name, ": the switch answered with a non-unix address"));
  }
  // Our data address is abstract: any local process can send to it. Once
  // connected, the kernel delivers only what the switch's data socket sends.
  if (::connect(data->get(), reinterpret_cast<const sockaddr*>(&peer),
                sizeof peer) < 0) {
    return ErrnoStatus(
        absl::StrCat(name, ": connecting to the switch's data socket"));
  }
  std::vector<UniqueFd> keep;
  keep.push_back(*std::move(control));
  return std::unique_ptr<NetTransport>(new DatagramTransport(
      name, *std::move(data), AddressBytes(peer), std::move(keep)));
}

}  // namespace kuml
