// libslirp transport against real peers: a kernel stack in a namespace the
// test creates plays the guest (10.0.2.15 behind slirp's 10.0.2.2), TCP
// servers and clients on the host's loopback play the outside world.
#include "devices/net/slirp_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "devices/net/slirp_options.h"
#include "devices/net/testing/frame_pump.h"
#include "devices/net/testing/stack_tap.h"
#include "frontend/net_switch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "machine/open_net_transport.h"
#include "util/unique_fd.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;

// A TCP socket bound to 127.0.0.1 (port 0: any) and listening.
UniqueFd Listen(const char* address, uint16_t port, uint16_t* bound) {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int yes = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = inet_addr(address);
  EXPECT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  EXPECT_EQ(::listen(s.get(), 4), 0);
  socklen_t len = sizeof sin;
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&sin), &len);
  if (bound != nullptr) *bound = ntohs(sin.sin_port);
  return s;
}

void SetTimeouts(int fd) {
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Connects to address:port, sends `out`, reads until EOF.
std::string Exchange(const char* address, uint16_t port,
                     const std::string& out) {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  SetTimeouts(s.get());
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = inet_addr(address);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) < 0) {
    return absl::StrCat("connect failed: ", std::strerror(errno));
  }
  if (!out.empty()) (void)!::write(s.get(), out.data(), out.size());
  ::shutdown(s.get(), SHUT_WR);
  std::string in;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(s.get(), buf, sizeof buf)) > 0) in.append(buf, n);
  return in;
}

// Accepts one connection, reads until EOF, answers `prefix` + what it read.
std::thread ServeOnce(UniqueFd listener, std::string prefix) {
  return std::thread([l = std::move(listener), prefix] {
    UniqueFd c(::accept(l.get(), nullptr, nullptr));
    if (!c.valid()) return;
    SetTimeouts(c.get());
    std::string got;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(c.get(), buf, sizeof buf)) > 0) got.append(buf, n);
    const std::string answer = prefix + got;
    (void)!::write(c.get(), answer.data(), answer.size());
  });
}

class SlirpTest : public ::testing::Test {
 protected:
  void Start(const std::string& arg) {
    auto parsed = ParseEthSwitch(arg);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    auto t = OpenNetTransport(parsed->spec);
    ASSERT_TRUE(t.ok()) << t.status();
    slirp_ = *std::move(t);
    auto g = MakeStackTap("10.0.2.15/24");
    ASSERT_TRUE(g.ok()) << g.status();
    guest_ = *std::move(g);
    ASSERT_TRUE(guest_.ns->Sh("ip route add default via 10.0.2.2").ok());
    pump_ = std::make_unique<FramePump>(guest_.wire.get(), slirp_.get());
  }
  void TearDown() override { pump_.reset(); }

  std::unique_ptr<NetTransport> slirp_;
  StackTap guest_;
  std::unique_ptr<FramePump> pump_;
};

TEST_F(SlirpTest, GuestReachesATcpServerOnTheHostLoopback) {
  Start("eth0=slirp");
  uint16_t port = 0;
  std::thread server = ServeOnce(Listen("127.0.0.1", 0, &port), "host saw: ");
  std::string answer;
  // 10.0.2.2 is the host as the guest sees it.
  guest_.ns->Run([&] { answer = Exchange("10.0.2.2", port, "hello"); });
  server.join();
  EXPECT_EQ(answer, "host saw: hello");
  EXPECT_TRUE(guest_.ns->Sh("ping -c 1 -W 3 10.0.2.2").ok());
}

TEST_F(SlirpTest, HostClientReachesAForwardedGuestPort) {
  uint16_t host_port = 0;
  { UniqueFd probe = Listen("127.0.0.1", 0, &host_port); }  // a free port
  Start(absl::StrCat("eth0=slirp,,hostfwd=tcp:127.0.0.1:", host_port, "-:22"));
  std::thread guest_server;
  guest_.ns->Run([&] {
    guest_server = ServeOnce(Listen("0.0.0.0", 22, nullptr), "guest saw: ");
  });
  const std::string answer =
      Exchange("127.0.0.1", host_port, std::string(100000, 'x'));
  guest_server.join();
  EXPECT_EQ(answer, "guest saw: " + std::string(100000, 'x'));
}

TEST_F(SlirpTest, RestrictedGuestReachesNothingOutside) {
  Start("eth0=slirp,,restrict=on");
  uint16_t port = 0;
  UniqueFd listener = Listen("127.0.0.1", 0, &port);
  std::string answer;
  guest_.ns->Run([&] { answer = Exchange("10.0.2.2", port, "hello"); });
  EXPECT_THAT(answer, HasSubstr("connect failed"));
}

TEST(SlirpOptions, DefaultsAndOptions) {
  auto o = ParseSlirpOptions({});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->host.ToString(), "10.0.2.2");
  EXPECT_EQ(o->dns.ToString(), "10.0.2.3");
  EXPECT_EQ(o->dhcp_start.ToString(), "10.0.2.15");
  o = ParseSlirpOptions({"net=192.168.50.0/24", "hostfwd=udp::5353-:53",
                         "hostfwd=tcp:0.0.0.0:8080-10.0.2.99:80"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->host.ToString(), "192.168.50.2");
  ASSERT_EQ(o->forwards.size(), 2u);
  EXPECT_TRUE(o->forwards[0].udp);
  EXPECT_EQ(o->forwards[0].host_address.ToString(), "127.0.0.1");
  EXPECT_EQ(o->forwards[0].guest_address.ToString(), "192.168.50.15");
  EXPECT_EQ(o->forwards[1].host_port, 8080);
  EXPECT_EQ(o->forwards[1].guest_address.ToString(), "10.0.2.99");
}

TEST(SlirpOptions, MalformedOptionsNameTheField) {
  struct Case {
    const char* arg;
    const char* expect;
  } cases[] = {
      {"eth0=slirp,,/usr/bin/slirp", "runs no external slirp program"},
      {"eth0=slirp,,hostfwd=tcp:127.0.0.1:22", "hostfwd=tcp:127.0.0.1:22"},
      {"eth0=slirp,,hostfwd=tcp::2222-:0", "bad guest side"},
      {"eth0=slirp,,net=10.0.2.0/33", "net=10.0.2.0/33"},
      {"eth0=slirp,,dns=10.9.9.9", "outside net"},
      {"eth0=slirp,,bogus=1", "unknown key 'bogus'"},
      {"eth0=slirp,,restrict=maybe", "restrict=maybe"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.arg);
    auto parsed = ParseEthSwitch(c.arg);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    absl::Status s = CheckEthSpec(parsed->spec);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr(c.arg));
    EXPECT_THAT(s.message(), HasSubstr(c.expect));
  }
}

TEST(SlirpTransport, ForwardToABusyPortIsAnError) {
  uint16_t port = 0;
  UniqueFd busy = Listen("127.0.0.1", 0, &port);
  auto parsed = ParseEthSwitch(
      absl::StrCat("eth0=slirp,,hostfwd=tcp:127.0.0.1:", port, "-:22"));
  ASSERT_TRUE(parsed.ok());
  auto t = OpenNetTransport(parsed->spec);
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("cannot listen on 127.0.0.1"));
}

}  // namespace
}  // namespace kuml
