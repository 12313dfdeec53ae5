#include "devices/chan/port_channel.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "util/errno_status.h"

namespace kuml {
namespace {

constexpr size_t kChunk = 4096;
// Per client: plenty for a terminal, and what a client that stops reading
// can make the host hold (the kernel doubles it). Beyond it the line's
// output waits in the guest.
constexpr int kClientSendBuffer = 32 * 1024;

// send() that never raises SIGPIPE nor blocks; -1/errno as send().
ssize_t SendNow(int fd, const char* data, size_t len) {
  ssize_t n;
  do {
    n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return n;
}

bool WouldBlock() { return errno == EAGAIN || errno == EWOULDBLOCK; }

}  // namespace

// ---------------------------------------------------------------------------
// PortServer

absl::StatusOr<std::shared_ptr<PortServer>> PortServer::Listen(
    uint16_t port, std::optional<Ipv4Address> address) {
  const std::string what =
      address.has_value()
          ? absl::StrCat("port:", address->ToString(), ":", port)
          : absl::StrCat("port:", port);
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return ErrnoStatus(what + ": socket");
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (address.has_value()) {
    std::memcpy(&addr.sin_addr.s_addr, address->octets.data(), 4);
  }
  addr.sin_port = htons(port);
  if (bind(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) !=
      0) {
    return ErrnoStatus(what + ": bind");
  }
  if (listen(fd.get(), 16) != 0) return ErrnoStatus(what + ": listen");
  socklen_t len = sizeof addr;  // port 0 (tests): the one the kernel chose
  if (getsockname(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), &len) !=
      0) {
    return ErrnoStatus(what + ": getsockname");
  }
  port = ntohs(addr.sin_port);
  UniqueFd stop(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop.valid()) return ErrnoStatus(what + ": eventfd");
  std::shared_ptr<PortServer> server(
      new PortServer(port, address, std::move(fd), std::move(stop)));
  server->accept_thread_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

PortServer::PortServer(uint16_t port, std::optional<Ipv4Address> address,
                       UniqueFd listen_fd, UniqueFd stop_fd)
    : port_(port),
      address_(std::move(address)),
      listen_fd_(std::move(listen_fd)),
      stop_fd_(std::move(stop_fd)),
      spare_fd_(open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

PortServer::~PortServer() {
  uint64_t one = 1;
  (void)!write(stop_fd_.get(), &one, sizeof one);
  if (accept_thread_.joinable()) accept_thread_.join();
}

void PortServer::AcceptLoop() {
  const std::string greeting = TelnetGreeting();
  bool backing_off = false;
  for (;;) {
    // The listening socket (unless out of descriptors: then a pause, not a
    // busy loop), the stop eventfd, and every waiting connection, so one
    // that hangs up is dropped at once.
    std::vector<struct pollfd> p = {
        {backing_off ? -1 : listen_fd_.get(), POLLIN, 0},
        {stop_fd_.get(), POLLIN, 0}};
    {
      absl::MutexLock lock(&mu_);
      for (const UniqueFd& fd : waiting_) p.push_back({fd.get(), POLLRDHUP, 0});
    }
    int ready = poll(p.data(), p.size(), backing_off ? 100 : -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents != 0) return;
    backing_off = false;
    if (p.size() > 2) DropHungUpWaiting();
    if (p[0].revents != 0) backing_off = !AcceptOne(greeting);
  }
}

bool PortServer::AcceptOne(const std::string& greeting) {
  UniqueFd client(accept4(listen_fd_.get(), nullptr, nullptr,
                          SOCK_CLOEXEC | SOCK_NONBLOCK));
  if (!client.valid()) {
    if (errno != EMFILE && errno != ENFILE) return true;  // the peer gave up
    // Out of descriptors: take the connection with the spare one and close
    // it, so the listening socket empties instead of staying readable.
    spare_fd_.Reset();
    UniqueFd turned_away(accept4(listen_fd_.get(), nullptr, nullptr,
                                 SOCK_CLOEXEC | SOCK_NONBLOCK));
    spare_fd_.Reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
    absl::MutexLock lock(&mu_);
    ++refused_;
    return turned_away.valid();
  }
  {
    absl::MutexLock lock(&mu_);
    if (waiting_.size() >= kMaxWaiting) {
      ++refused_;
      const std::string busy = absl::StrCat("kuml: every line on port ", port_,
                                            " is in use; try again later\r\n");
      (void)SendNow(client.get(), busy.data(), busy.size());
      return true;  // closed on the way out
    }
  }
  setsockopt(client.get(), SOL_SOCKET, SO_SNDBUF, &kClientSendBuffer,
             sizeof kClientSendBuffer);
  // What in.telnetd would negotiate; a full socket buffer this early is
  // impossible, and a client that is gone shows up as EOF later.
  (void)SendNow(client.get(), greeting.data(), greeting.size());
  {
    absl::MutexLock lock(&mu_);
    waiting_.push_back(std::move(client));
  }
  Assign();
  return true;
}

void PortServer::DropHungUpWaiting() {
  absl::MutexLock lock(&mu_);
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    struct pollfd p = {it->get(), POLLRDHUP, 0};
    if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
}

uint64_t PortServer::refused() const {
  absl::MutexLock lock(&mu_);
  return refused_;
}

void PortServer::Assign() {
  absl::MutexLock lock(&mu_);
  for (PortChannel* line : lines_) {
    if (waiting_.empty()) return;
    if (line->TryAttach(waiting_.front())) waiting_.pop_front();
  }
}

size_t PortServer::waiting() const {
  absl::MutexLock lock(&mu_);
  return waiting_.size();
}

absl::StatusOr<std::unique_ptr<PortChannel>> PortServer::NewLine() {
  UniqueFd in(epoll_create1(EPOLL_CLOEXEC));
  UniqueFd out(epoll_create1(EPOLL_CLOEXEC));
  if (!in.valid() || !out.valid()) {
    return ErrnoStatus(absl::StrCat("port:", port_, ": epoll_create1"));
  }
  std::unique_ptr<PortChannel> line(
      new PortChannel(shared_from_this(), std::move(in), std::move(out)));
  {
    absl::MutexLock lock(&mu_);
    lines_.push_back(line.get());
  }
  Assign();  // a connection may already be waiting
  return line;
}

void PortServer::Unregister(PortChannel* line) {
  absl::MutexLock lock(&mu_);
  lines_.erase(std::remove(lines_.begin(), lines_.end(), line), lines_.end());
}

// ---------------------------------------------------------------------------
// PortChannel

PortChannel::~PortChannel() { Close(); }

bool PortChannel::TryAttach(UniqueFd& fd) {
  absl::MutexLock lock(&mu_);
  if (closed_ || client_ != nullptr) return false;
  struct epoll_event in = {};
  in.events = EPOLLIN | EPOLLRDHUP;
  struct epoll_event out = {};
  out.events = EPOLLOUT;
  if (epoll_ctl(in_epoll_.get(), EPOLL_CTL_ADD, fd.get(), &in) != 0) {
    return false;
  }
  if (epoll_ctl(out_epoll_.get(), EPOLL_CTL_ADD, fd.get(), &out) != 0) {
    epoll_ctl(in_epoll_.get(), EPOLL_CTL_DEL, fd.get(), nullptr);
    return false;
  }
  client_ = std::make_shared<UniqueFd>(std::move(fd));
  decoder_ = TelnetDecoder();
  pending_.clear();
  return true;
}

void PortChannel::DropClient(const Client& client) {
  {
    absl::MutexLock lock(&mu_);
    if (client == nullptr || client_ != client) return;
    epoll_ctl(in_epoll_.get(), EPOLL_CTL_DEL, client->get(), nullptr);
    epoll_ctl(out_epoll_.get(), EPOLL_CTL_DEL, client->get(), nullptr);
    client_.reset();
    pending_.clear();
  }
  server_->Assign();
}

bool PortChannel::has_client() const {
  absl::MutexLock lock(&mu_);
  return client_ != nullptr;
}

void PortChannel::set_discard_without_client(bool discard) {
  absl::MutexLock lock(&mu_);
  discard_without_client_ = discard;
}

bool PortChannel::WaitForClient(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto attached = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return client_ != nullptr || closed_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&attached), timeout);
  return client_ != nullptr;
}

absl::StatusOr<size_t> PortChannel::Read(absl::Span<uint8_t> buffer) {
  Client gone;
  size_t got = 0;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::FailedPreconditionError("channel is closed");
    if (client_ == nullptr || buffer.empty()) {
      return absl::UnavailableError("no client");
    }
    ssize_t n;
    do {
      n = recv(client_->get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && WouldBlock()) return absl::UnavailableError("no input");
    if (n <= 0) {
      gone = client_;  // EOF or reset: the client left
    } else {
      std::string data, reply;
      decoder_.Decode(absl::MakeConstSpan(buffer.data(), n), &data, &reply);
      if (!reply.empty())
        (void)SendNow(client_->get(), reply.data(), reply.size());
      std::copy(data.begin(), data.end(), buffer.begin());  // never longer
      got = data.size();
    }
  }
  if (gone != nullptr) DropClient(gone);
  if (got == 0) return absl::UnavailableError("no input");
  return got;
}

bool PortChannel::SendAll(const Client& client, const std::string& wire) {
  size_t done = 0;
  while (done < wire.size()) {
    ssize_t n = SendNow(client->get(), wire.data() + done, wire.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && WouldBlock()) {
      struct pollfd p = {client->get(), POLLOUT, 0};
      if (poll(&p, 1, -1) < 0 && errno != EINTR) return false;
    } else {
      return false;
    }
  }
  return true;
}

absl::Status PortChannel::Write(absl::Span<const uint8_t> data) {
  absl::MutexLock write_lock(&write_mu_);
  Client client;
  std::string wire;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::FailedPreconditionError("channel is closed");
    if (client_ == nullptr) return absl::OkStatus();  // see the header
    client = client_;
    wire.swap(pending_);
  }
  wire += TelnetEscape(data);
  if (!SendAll(client, wire)) DropClient(client);
  return absl::OkStatus();
}

absl::StatusOr<size_t> PortChannel::WriteSome(absl::Span<const uint8_t> data) {
  Client gone;
  size_t consumed = 0;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return absl::FailedPreconditionError("channel is closed");
    if (client_ == nullptr) return discard_without_client_ ? data.size() : 0;
    const int fd = client_->get();
    // Earlier output first, so bytes stay in order.
    if (!pending_.empty()) {
      ssize_t n = SendNow(fd, pending_.data(), pending_.size());
      if (n < 0 && !WouldBlock()) gone = client_;
      if (n > 0) pending_.erase(0, static_cast<size_t>(n));
    }
    if (gone == nullptr && pending_.empty() && !data.empty()) {
      const size_t take = std::min(data.size(), kChunk);
      std::string wire = TelnetEscape(data.subspan(0, take));
      ssize_t n = SendNow(fd, wire.data(), wire.size());
      if (n < 0 && !WouldBlock()) {
        gone = client_;
      } else {
        pending_ = wire.substr(n < 0 ? 0 : static_cast<size_t>(n));
        consumed = take;
      }
    }
  }
  // A client that left takes nothing: the output waits for the next one.
  if (gone != nullptr) DropClient(gone);
  return consumed;
}

Channel::Wakeup PortChannel::output_wakeup() const {
  Wakeup wakeup;
  wakeup.fd = out_epoll_.get();
  wakeup.events = EPOLLIN;
  return wakeup;
}

void PortChannel::Close() {
  Client client;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    client = client_;
    if (client != nullptr) {
      epoll_ctl(in_epoll_.get(), EPOLL_CTL_DEL, client->get(), nullptr);
      epoll_ctl(out_epoll_.get(), EPOLL_CTL_DEL, client->get(), nullptr);
    }
    client_.reset();
  }
  server_->Unregister(this);
}

}  // namespace kuml
