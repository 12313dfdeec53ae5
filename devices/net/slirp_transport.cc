#include "devices/net/slirp_transport.h"

#include <arpa/inet.h>
#include <poll.h>
#include <slirp/libslirp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "devices/net/datagram_transport.h"
#include "util/errno_status.h"
#include "util/unique_fd.h"

namespace kuml {
namespace {

// Frames the stack thread takes from the guest per poll round.
constexpr int kInputBatch = 64;
// Room for many frames in flight between the device and the stack.
constexpr int kSocketBuffer = 4 << 20;

in_addr InAddr(const Ipv4Address& a) {
  in_addr in;
  std::memcpy(&in.s_addr, a.octets.data(), 4);
  return in;
}

int64_t NowNs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

class SlirpStack : public NetTransport {
 public:
  SlirpStack(const SlirpOptions& options, UniqueFd device_side,
             UniqueFd stack_side, UniqueFd wake)
      : device_(DescriptionOf(options), std::move(device_side), {}),
        stack_fd_(std::move(stack_side)),
        wake_(std::move(wake)) {}

  ~SlirpStack() override {
    if (thread_.joinable()) {
      stop_.store(true);
      Wake();
      thread_.join();
    }
    if (slirp_ != nullptr) slirp_cleanup(slirp_);
  }

  // Creates the stack and its forwards, then starts the thread.
  absl::Status Start(const SlirpOptions& options) {
    SlirpConfig cfg{};
    cfg.version = 4;
    cfg.restricted = options.restricted ? 1 : 0;
    cfg.in_enabled = true;
    cfg.vnetwork = InAddr(options.network);
    const uint32_t mask = ~uint32_t{0} << (32 - options.prefix);
    cfg.vnetmask.s_addr = htonl(mask);
    cfg.vhost = InAddr(options.host);
    cfg.in6_enabled = false;
    cfg.vhostname = "kuml";
    cfg.vdhcp_start = InAddr(options.dhcp_start);
    cfg.vnameserver = InAddr(options.dns);
    cfg.disable_host_loopback = false;
    callbacks_.send_packet = &SlirpStack::SendPacket;
    callbacks_.guest_error = &SlirpStack::GuestError;
    callbacks_.clock_get_ns = [](void*) -> int64_t { return NowNs(); };
    callbacks_.timer_new = &SlirpStack::TimerNew;
    callbacks_.timer_free = &SlirpStack::TimerFree;
    callbacks_.timer_mod = &SlirpStack::TimerMod;
    callbacks_.register_poll_fd = [](int, void*) {};
    callbacks_.unregister_poll_fd = [](int, void*) {};
    callbacks_.notify = [](void* opaque) {
      static_cast<SlirpStack*>(opaque)->Wake();
    };
    slirp_ = slirp_new(&cfg, &callbacks_, this);
    if (slirp_ == nullptr) {
      return absl::InternalError("slirp: libslirp refused the configuration");
    }
    for (const SlirpForward& f : options.forwards) {
      if (slirp_add_hostfwd(slirp_, f.udp ? 1 : 0, InAddr(f.host_address),
                            f.host_port, InAddr(f.guest_address),
                            f.guest_port) < 0) {
        return absl::UnavailableError(absl::StrCat(
            f.text, ": cannot listen on ", f.host_address.ToString(), ":",
            f.host_port, " (", f.udp ? "udp" : "tcp",
            " port in use, or not permitted)"));
      }
    }
    thread_ = std::thread([this] { Run(); });
    return absl::OkStatus();
  }

  std::string description() const override { return device_.description(); }
  int poll_fd() const override { return device_.poll_fd(); }
  absl::Status Send(absl::Span<const iovec> frame) override {
    return device_.Send(frame);
  }
  absl::StatusOr<size_t> Receive(absl::Span<uint8_t> buffer) override {
    return device_.Receive(buffer);
  }

 private:
  struct Timer {
    SlirpTimerCb cb;
    void* cb_opaque;
    int64_t expire_ms = -1;  // -1: not armed
  };

  static std::string DescriptionOf(const SlirpOptions& o) {
    return absl::StrCat("slirp ", o.network.ToString(), "/", o.prefix, " host ",
                        o.host.ToString(), " dns ", o.dns.ToString(),
                        o.forwards.empty() ? "" : ", ", o.forwards.size(),
                        o.forwards.empty() ? "" : " forwards");
  }

  void Wake() {
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
  }

  // --- libslirp callbacks (all on the stack thread) ---
  static ssize_t SendPacket(const void* buf, size_t len, void* opaque) {
    auto* self = static_cast<SlirpStack*>(opaque);
    // Full: dropped, and TCP inside slirp retransmits.
    ssize_t n =
        ::send(self->stack_fd_.get(), buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    return n < 0 ? static_cast<ssize_t>(len) : n;
  }
  static void GuestError(const char* msg, void*) {
    std::fprintf(stderr, "kuml: slirp: guest error: %s\n", msg);
  }
  static void* TimerNew(SlirpTimerCb cb, void* cb_opaque, void* opaque) {
    auto* self = static_cast<SlirpStack*>(opaque);
    self->timers_.push_back(Timer{cb, cb_opaque});
    return &self->timers_.back();
  }
  static void TimerFree(void* timer, void* opaque) {
    auto* self = static_cast<SlirpStack*>(opaque);
    self->timers_.remove_if([timer](const Timer& t) { return &t == timer; });
  }
  static void TimerMod(void* timer, int64_t expire_ms, void*) {
    static_cast<Timer*>(timer)->expire_ms = expire_ms;
  }
  static int AddPoll(int fd, int events, void* opaque) {
    auto* self = static_cast<SlirpStack*>(opaque);
    short e = 0;
    if (events & SLIRP_POLL_IN) e |= POLLIN;
    if (events & SLIRP_POLL_OUT) e |= POLLOUT;
    if (events & SLIRP_POLL_PRI) e |= POLLPRI;
    self->pollfds_.push_back(pollfd{fd, e, 0});
    return static_cast<int>(self->pollfds_.size() - 1);
  }
  static int GetRevents(int index, void* opaque) {
    auto* self = static_cast<SlirpStack*>(opaque);
    if (index < 0 || static_cast<size_t>(index) >= self->pollfds_.size()) {
      return 0;
    }
    const short r = self->pollfds_[index].revents;
    int e = 0;
    if (r & POLLIN) e |= SLIRP_POLL_IN;
    if (r & POLLOUT) e |= SLIRP_POLL_OUT;
    if (r & POLLPRI) e |= SLIRP_POLL_PRI;
    if (r & POLLERR) e |= SLIRP_POLL_ERR;
    if (r & POLLHUP) e |= SLIRP_POLL_HUP;
    return e;
  }

  void RunTimers() {
    const int64_t now_ms = NowNs() / 1000000;
    // A callback may modify or free timers: collect first, then fire.
    std::vector<Timer*> due;
    for (Timer& t : timers_) {
      if (t.expire_ms >= 0 && t.expire_ms <= now_ms) due.push_back(&t);
    }
    for (Timer* t : due) {
      bool alive = false;
      for (Timer& u : timers_) alive |= &u == t;
      if (!alive || t->expire_ms < 0 || t->expire_ms > now_ms) continue;
      t->expire_ms = -1;
      t->cb(t->cb_opaque);
    }
  }

  int PollTimeoutMs(uint32_t slirp_timeout) const {
    int64_t timeout = slirp_timeout == UINT32_MAX ? 1000 : slirp_timeout;
    const int64_t now_ms = NowNs() / 1000000;
    for (const Timer& t : timers_) {
      if (t.expire_ms >= 0) {
        timeout = std::min<int64_t>(timeout,
                                    std::max<int64_t>(0, t.expire_ms - now_ms));
      }
    }
    return static_cast<int>(timeout);
  }

  void Run() {
    std::vector<uint8_t> frame(kMaxFrameBytes);
    while (!stop_.load()) {
      pollfds_.clear();
      pollfds_.push_back(pollfd{wake_.get(), POLLIN, 0});
      pollfds_.push_back(pollfd{stack_fd_.get(), POLLIN, 0});
      uint32_t timeout = UINT32_MAX;
      slirp_pollfds_fill(slirp_, &timeout, &SlirpStack::AddPoll, this);
      const int n =
          ::poll(pollfds_.data(), pollfds_.size(), PollTimeoutMs(timeout));
      if (n < 0 && errno != EINTR) break;
      if (pollfds_[0].revents & POLLIN) {
        uint64_t count;
        (void)!::read(wake_.get(), &count, sizeof count);
      }
      if (stop_.load()) break;
      slirp_pollfds_poll(slirp_, n < 0 ? 1 : 0, &SlirpStack::GetRevents, this);
      if (pollfds_[1].revents & POLLIN) {
        for (int i = 0; i < kInputBatch; ++i) {
          ssize_t len =
              ::recv(stack_fd_.get(), frame.data(), frame.size(), MSG_DONTWAIT);
          if (len <= 0) break;
          slirp_input(slirp_, frame.data(), static_cast<int>(len));
        }
      }
      RunTimers();
    }
  }

  DatagramTransport device_;  // the device's end of the socketpair
  const UniqueFd stack_fd_;   // the stack thread's end
  const UniqueFd wake_;       // eventfd: stop, or libslirp's notify
  SlirpCb callbacks_{};
  Slirp* slirp_ = nullptr;
  std::list<Timer> timers_;  // stable addresses: libslirp keeps pointers
  std::vector<pollfd> pollfds_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<NetTransport>> OpenSlirpTransport(
    const SlirpOptions& options) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                   pair) < 0) {
    return ErrnoStatus("slirp: socketpair");
  }
  UniqueFd device_side(pair[0]), stack_side(pair[1]);
  for (int fd : pair) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBuffer,
                 sizeof kSocketBuffer);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBuffer,
                 sizeof kSocketBuffer);
  }
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) return ErrnoStatus("slirp: eventfd");
  auto transport = std::make_unique<SlirpStack>(
      options, std::move(device_side), std::move(stack_side), std::move(wake));
  absl::Status s = transport->Start(options);
  if (!s.ok()) return s;
  return std::unique_ptr<NetTransport>(std::move(transport));
}

}  // namespace kuml
