#include "mconsole/legacy_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "util/errno_status.h"

namespace kuml::mconsole {
namespace {

absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path '", path, "' is empty or longer than ",
                     sizeof(addr.sun_path) - 1, " bytes"));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

timeval TimevalOf(absl::Duration d) {
  timeval tv;
  tv.tv_sec = absl::ToInt64Seconds(d);
  tv.tv_usec = absl::ToInt64Microseconds(d - absl::Seconds(tv.tv_sec));
  return tv;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LegacyServer>> LegacyServer::Start(
    const std::string& path, CommandCore* core, LegacyServerOptions options) {
  absl::StatusOr<sockaddr_un> addr = UnixAddress(path);
  if (!addr.ok()) return addr.status();
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus("mconsole socket");
  ::unlink(path.c_str());
  // UML binds with sizeof(struct sockaddr_un); so do we.
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof(*addr)) !=
      0) {
    return ErrnoStatus(absl::StrCat("binding the mconsole socket ", path));
  }
  int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0) {
    return ErrnoStatus("SO_PASSCRED on the mconsole socket");
  }
  timeval tv = TimevalOf(options.send_timeout);
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
    return ErrnoStatus("SO_SNDTIMEO on the mconsole socket");
  }
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) return ErrnoStatus("eventfd");
  if (options.owner_uid == static_cast<uid_t>(-1)) {
    options.owner_uid = ::geteuid();
  }
  std::unique_ptr<LegacyServer> server(
      new LegacyServer(path, std::move(fd), std::move(wake), core, options));
  server->thread_ = std::thread([s = server.get()] { s->Loop(); });
  return server;
}

LegacyServer::LegacyServer(std::string path, UniqueFd socket, UniqueFd wake,
                           CommandCore* core, LegacyServerOptions options)
    : path_(std::move(path)),
      socket_(std::move(socket)),
      wake_(std::move(wake)),
      core_(core),
      options_(options) {}

LegacyServer::~LegacyServer() {
  Shutdown();
  ::unlink(path_.c_str());
}

void LegacyServer::Shutdown() {
  uint64_t one = 1;
  (void)::write(wake_.get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
}

void LegacyServer::Loop() {
  for (;;) {
    pollfd fds[2] = {{socket_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents & POLLIN) HandleDatagram();
  }
}

void LegacyServer::HandleDatagram() {
  uint8_t buffer[kRequestBytes];
  sockaddr_storage origin{};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
  iovec iov{buffer, sizeof(buffer)};
  msghdr msg{};
  msg.msg_name = &origin;
  msg.msg_namelen = sizeof(origin);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  // A longer datagram is cut to the request struct, as UML's recvfrom does.
  ssize_t got = ::recvmsg(socket_.get(), &msg, MSG_DONTWAIT);
  if (got < 0) return;
  stats_.requests.fetch_add(1, std::memory_order_relaxed);

  const ucred* cred = nullptr;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
       c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      cred = reinterpret_cast<const ucred*>(CMSG_DATA(c));
    }
  }
  const socklen_t origin_len = msg.msg_namelen;
  if (origin_len <= sizeof(sa_family_t)) return;  // unbound sender: no reply
  if (cred == nullptr || (cred->uid != options_.owner_uid &&
                          !(cred->uid == 0 && options_.allow_root))) {
    stats_.refused_peers.fetch_add(1, std::memory_order_relaxed);
    for (const std::string& p :
         EncodeReply(1,
                     "Permission denied: only the guest's owner may "
                     "command it")) {
      Send(p, &origin, origin_len);
    }
    return;
  }

  DecodedRequest request =
      DecodeRequest(absl::MakeConstSpan(buffer, static_cast<size_t>(got)));
  for (const std::string& p : request.early_replies) {
    Send(p, &origin, origin_len);
  }
  if (!request.execute) return;
  Outcome outcome = core_->Execute(request.command);
  for (const std::string& p :
       EncodeReply(outcome.reply.err, outcome.reply.text)) {
    Send(p, &origin, origin_len);
  }
  outcome.Finish();
}

void LegacyServer::Send(const std::string& packet, const void* addr,
                        socklen_t addr_len) {
  // Blocking send with SO_SNDTIMEO: waits while the client's receive queue
  // is full instead of dropping the packet.
  for (;;) {
    ssize_t n =
        ::sendto(socket_.get(), packet.data(), packet.size(), MSG_NOSIGNAL,
                 static_cast<const sockaddr*>(addr), addr_len);
    if (n >= 0) {
      stats_.packets_sent.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (errno == EINTR) continue;
    stats_.packets_lost.fetch_add(1, std::memory_order_relaxed);
    return;
  }
}

absl::Status SendNotify(const std::string& socket_path, NotifyType type,
                        absl::string_view data) {
  absl::StatusOr<sockaddr_un> addr = UnixAddress(socket_path);
  if (!addr.ok()) return addr.status();
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus("notify socket");
  std::string packet = EncodeNotify(type, data);
  if (::sendto(fd.get(), packet.data(), packet.size(), MSG_DONTWAIT,
               reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) < 0) {
    return ErrnoStatus(absl::StrCat("mconsole notify to ", socket_path));
  }
  return absl::OkStatus();
}

}  // namespace kuml::mconsole
