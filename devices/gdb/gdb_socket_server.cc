#include "devices/gdb/gdb_socket_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "devices/gdb/rsp_packet.h"
#include "util/errno_status.h"

namespace kuml {
namespace {

constexpr size_t kReadChunk = 16 * 1024;

// Writes `bytes` to `fd` (blocking, with the socket's send timeout); false
// if the peer is gone or too slow.
bool SendAll(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

absl::StatusOr<UniqueFd> ListenTcp(const std::string& what, uint16_t* port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus(what + ": socket");
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(*port);
  if (bind(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) !=
      0) {
    return ErrnoStatus(what + ": bind");
  }
  if (listen(fd.get(), 4) != 0) return ErrnoStatus(what + ": listen");
  socklen_t len = sizeof addr;
  if (getsockname(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), &len) !=
      0) {
    return ErrnoStatus(what + ": getsockname");
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

// Removes a unix socket at `path` that nobody listens on; an error for a
// live one or for any other kind of file.
absl::Status ClearStaleSocket(const std::string& what,
                              const struct sockaddr_un& addr) {
  struct stat st;
  if (lstat(addr.sun_path, &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(what + ": stat");
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::AlreadyExistsError(what +
                                    ": the path exists and is not a socket");
  }
  UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return ErrnoStatus(what + ": socket");
  if (connect(probe.get(), reinterpret_cast<const struct sockaddr*>(&addr),
              sizeof addr) == 0) {
    return absl::AlreadyExistsError(what + ": something listens there already");
  }
  if (errno != ECONNREFUSED) return ErrnoStatus(what + ": connect");
  if (unlink(addr.sun_path) != 0) return ErrnoStatus(what + ": unlink");
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> ListenUnix(const std::string& what,
                                    const std::string& path) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": the path must be 1 to ", sizeof addr.sun_path - 1,
                     " bytes long"));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  absl::Status s = ClearStaleSocket(what, addr);
  if (!s.ok()) return s;
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus(what + ": socket");
  if (bind(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) !=
      0) {
    return ErrnoStatus(what + ": bind");
  }
  if (listen(fd.get(), 4) != 0) {
    absl::Status err = ErrnoStatus(what + ": listen");
    unlink(path.c_str());
    return err;
  }
  return fd;
}

}  // namespace

std::string GdbEndpoint::ToString() const {
  return is_unix ? absl::StrCat("unix:", path)
                 : absl::StrCat("tcp:127.0.0.1:", port);
}

absl::StatusOr<std::unique_ptr<GdbSocketServer>> GdbSocketServer::Start(
    const GdbEndpoint& endpoint, DebugTarget* target) {
  const std::string what = absl::StrCat("gdb ", endpoint.ToString());
  uint16_t port = endpoint.port;
  absl::StatusOr<UniqueFd> listen_fd = endpoint.is_unix
                                           ? ListenUnix(what, endpoint.path)
                                           : ListenTcp(what, &port);
  if (!listen_fd.ok()) return listen_fd.status();
  UniqueFd wake(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) {
    absl::Status err = ErrnoStatus(what + ": eventfd");
    if (endpoint.is_unix) unlink(endpoint.path.c_str());
    return err;
  }
  std::unique_ptr<GdbSocketServer> server(
      new GdbSocketServer(endpoint, endpoint.is_unix ? 0 : port,
                          std::move(*listen_fd), std::move(wake), target));
  server->thread_ = std::thread([s = server.get()] { s->Loop(); });
  return server;
}

GdbSocketServer::GdbSocketServer(const GdbEndpoint& endpoint, uint16_t port,
                                 UniqueFd listen_fd, UniqueFd wake_fd,
                                 DebugTarget* target)
    : endpoint_(endpoint),
      port_(port),
      listen_fd_(std::move(listen_fd)),
      wake_fd_(std::move(wake_fd)),
      server_(std::make_unique<GdbServer>(
          target, [this](absl::string_view bytes) { Send(bytes); },
          [this] { Wake(); })) {}

GdbSocketServer::~GdbSocketServer() {
  stopping_.store(true);
  Wake();
  if (thread_.joinable()) thread_.join();
  DropClient();
  if (endpoint_.is_unix) unlink(endpoint_.path.c_str());
}

void GdbSocketServer::Wake() {
  const uint64_t one = 1;
  ssize_t n = write(wake_fd_.get(), &one, sizeof one);
  (void)n;  // EAGAIN: the counter is already non-zero, a wakeup is pending
}

void GdbSocketServer::Loop() {
  std::vector<struct pollfd> fds;
  while (!stopping_.load()) {
    fds.clear();
    fds.push_back({wake_fd_.get(), POLLIN, 0});
    fds.push_back({listen_fd_.get(), POLLIN, 0});
    fds.push_back({client_fd_.get(), POLLIN, 0});  // -1 without a client
    for (const Refused& r : refused_conns_) {
      fds.push_back({r.fd.get(), POLLIN, 0});
    }
    int timeout_ms = -1;
    if (!refused_conns_.empty()) {
      absl::Time first = refused_conns_[0].deadline;
      for (const Refused& r : refused_conns_)
        first = std::min(first, r.deadline);
      timeout_ms = static_cast<int>(std::max<int64_t>(
          0, absl::ToInt64Milliseconds(first - absl::Now()) + 1));
    }
    if (poll(fds.data(), fds.size(), timeout_ms) < 0) {
      if (errno == EINTR) continue;
      break;  // cannot happen with valid descriptors
    }
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      ssize_t n = read(wake_fd_.get(), &count, sizeof count);
      (void)n;
      if (stopping_.load()) break;
      if (client_fd_.valid()) server_->DeliverStops();
    }
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) ReadClient();
    if (client_fd_.valid() && (client_broken_ || server_->session_over())) {
      DropClient();
    }
    ServeRefused(fds.data() + 3, fds.size() - 3);
    if (fds[1].revents & POLLIN) Accept();
  }
}

void GdbSocketServer::Accept() {
  UniqueFd fd(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!fd.valid()) return;  // the peer left already, or out of descriptors
  struct timeval tv = {};
  tv.tv_sec = absl::ToInt64Seconds(kSendTimeout);
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (client_fd_.valid()) {
    refused_.fetch_add(1);
    Refuse(std::move(fd), kBusyMessage);
    return;
  }
  if (!endpoint_.is_unix) {
    int one = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  absl::Status s = server_->Connect();
  if (!s.ok()) {
    Refuse(std::move(fd), absl::StrCat("kuml: cannot attach: ", s.message()));
    return;
  }
  client_fd_ = std::move(fd);
  client_broken_ = false;
  sessions_.fetch_add(1);
  connected_.store(true);
}

void GdbSocketServer::Refuse(UniqueFd fd, absl::string_view message) {
  if (refused_conns_.size() < kMaxRefused) {
    refused_conns_.push_back({std::move(fd), absl::Now() + kRefusalLinger,
                              absl::StrCat("E.", message)});
  }
}

void GdbSocketServer::ServeRefused(const struct pollfd* fds, size_t n) {
  const absl::Time now = absl::Now();
  std::vector<Refused> keep;
  for (size_t i = 0; i < refused_conns_.size(); ++i) {
    Refused& r = refused_conns_[i];
    bool tell = false;
    bool done = false;
    if (i < n && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buf[1024];
      const ssize_t got = recv(r.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (got > 0) tell = !r.told;
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
        done = true;
      }
    }
    if (now >= r.deadline) {
      if (r.told) done = true;
      tell = !r.told;
    }
    if (tell && !done) {
      SendAll(r.fd.get(), absl::StrCat("+", EncodeRspPacket(r.message)));
      shutdown(r.fd.get(), SHUT_WR);
      r.told = true;
      r.deadline = now + kRefusalLinger;
    }
    if (!done) keep.push_back(std::move(r));
  }
  refused_conns_ = std::move(keep);
}

void GdbSocketServer::ReadClient() {
  char buf[kReadChunk];
  ssize_t n;
  do {
    n = recv(client_fd_.get(), buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    DropClient();
    return;
  }
  server_->Receive(absl::string_view(buf, static_cast<size_t>(n)));
}

void GdbSocketServer::DropClient() {
  if (!client_fd_.valid()) return;
  server_->Disconnect();
  client_fd_.Reset();
  client_broken_ = false;
  connected_.store(false);
}

void GdbSocketServer::Send(absl::string_view bytes) {
  if (!client_fd_.valid() || client_broken_) return;
  if (!SendAll(client_fd_.get(), bytes)) client_broken_ = true;
}

}  // namespace kuml
