// Each transport against a real peer: kernel TCP/IP stacks in network
// namespaces the test creates (see testing/stack_tap.h) exchange traffic
// over the transport, through a real uml_switch / vde_switch where the
// transport is a switch port, and through libslirp to servers on the host's
// loopback. Needs root (namespaces, taps); no KVM.
#include <arpa/inet.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "devices/net/tap_transport.h"
#include "devices/net/testing/child_process.h"
#include "devices/net/testing/frame_pump.h"
#include "devices/net/testing/netns.h"
#include "devices/net/testing/stack_tap.h"
#include "frontend/net_switch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "machine/open_net_transport.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir ? dir : "/tmp";
}

// A fresh directory for unix sockets: TEST_TMPDIR is too long for
// sockaddr_un's 108 bytes.
std::string SocketDir() {
  char dir[] = "/tmp/kuml-net-XXXXXX";
  EXPECT_NE(::mkdtemp(dir), nullptr);
  return dir;
}

// Parses an eth switch the way the command line does, then opens it.
absl::StatusOr<std::unique_ptr<NetTransport>> Open(const std::string& arg) {
  absl::StatusOr<EthSwitch> parsed = ParseEthSwitch(arg);
  if (!parsed.ok()) return parsed.status();
  return OpenNetTransport(parsed->spec);
}

std::unique_ptr<NetTransport> OpenIn(const TestNetns& ns,
                                     const std::string& arg) {
  absl::StatusOr<std::unique_ptr<NetTransport>> t =
      absl::InternalError("not run");
  ns.Run([&] { t = Open(arg); });
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *std::move(t) : nullptr;
}

StackTap Stack(const std::string& cidr) {
  absl::StatusOr<StackTap> s = MakeStackTap(cidr);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : StackTap{};
}

// ping from `from` to `address`: ok or the ping output.
absl::Status Ping(const StackTap& from, const std::string& address) {
  absl::StatusOr<std::string> out =
      from.ns->Sh(absl::StrCat("ping -c 3 -i 0.2 -W 3 ", address));
  return out.status();
}

// Two stacks on 10.9.0.0/24, each plugged into its own transport, ping
// each other both ways.
void ExpectTwoStacksTalk(NetTransport* a, NetTransport* b) {
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  StackTap sa = Stack("10.9.0.1/24");
  StackTap sb = Stack("10.9.0.2/24");
  ASSERT_NE(sa.wire, nullptr);
  ASSERT_NE(sb.wire, nullptr);
  FramePump pa(sa.wire.get(), a);
  FramePump pb(sb.wire.get(), b);
  EXPECT_TRUE(Ping(sa, "10.9.0.2").ok()) << Ping(sa, "10.9.0.2");
  EXPECT_TRUE(Ping(sb, "10.9.0.1").ok());
  EXPECT_GT(pa.a_to_b(), 0u);
  EXPECT_GT(pb.b_to_a(), 0u);
}

TEST(McastTransport, TwoStacksShareTheGroupAndFramesAreRawOnTheWire) {
  auto wire = TestNetns::Create();
  ASSERT_TRUE(wire.ok()) << wire.status();
  auto a = OpenIn(**wire, "eth0=mcast");
  auto b = OpenIn(**wire, "eth0=mcast,,239.192.168.1,1102,1");
  // A plain UDP socket in the group sees what a UML guest would: each
  // datagram one ethernet frame, nothing in front.
  int observer = -1;
  (*wire)->Run([&] {
    observer = ::socket(AF_INET, SOCK_DGRAM, 0);
    int yes = 1;
    ::setsockopt(observer, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(1102);
    sin.sin_addr.s_addr = inet_addr("239.192.168.1");
    ASSERT_EQ(::bind(observer, reinterpret_cast<sockaddr*>(&sin), sizeof sin),
              0);
    ip_mreq mreq{};
    mreq.imr_multiaddr = sin.sin_addr;
    ASSERT_EQ(
        ::setsockopt(observer, SOL_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq),
        0);
  });
  ExpectTwoStacksTalk(a.get(), b.get());
  uint8_t frame[2048];
  ssize_t n = ::recv(observer, frame, sizeof frame, MSG_DONTWAIT);
  ASSERT_GE(n, 42);  // the first ARP request: 14 + 28 bytes
  EXPECT_EQ(frame[12], 0x08);
  EXPECT_EQ(frame[13], 0x06);  // ethertype ARP
  EXPECT_EQ(std::string(reinterpret_cast<char*>(frame), 6),
            std::string(6, '\xff'));  // broadcast destination
  ::close(observer);
}

TEST(McastTransport, WithoutAMulticastInterfaceTheErrorSaysWhatToDo) {
  auto ns = TestNetns::Create();
  ASSERT_TRUE(ns.ok());
  ASSERT_TRUE((*ns)
                  ->Sh("ip route del 224.0.0.0/4 dev lo && "
                       "ip link set lo multicast off")
                  .ok());
  absl::StatusOr<std::unique_ptr<NetTransport>> t =
      absl::InternalError("not run");
  (*ns)->Run([&] { t = Open("eth1=mcast,,239.1.2.3,4000"); });
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("eth1=mcast,,239.1.2.3,4000"));
  EXPECT_THAT(t.status().message(), HasSubstr("multicast"));
}

TEST(UcastTransport, TwoStacksOverAPointToPointUdpCable) {
  auto wire = TestNetns::Create();
  ASSERT_TRUE(wire.ok());
  auto a = OpenIn(**wire, "eth0=ucast,,127.0.0.1,5001,5002");
  auto b = OpenIn(**wire, "eth0=ucast,,127.0.0.1,5002,5001");
  ExpectTwoStacksTalk(a.get(), b.get());
}

TEST(UcastTransport, ListenPortInUseIsAnError) {
  auto wire = TestNetns::Create();
  ASSERT_TRUE(wire.ok());
  absl::StatusOr<std::unique_ptr<NetTransport>> t =
      absl::InternalError("not run");
  (*wire)->Run([&] {
    int s = ::socket(AF_INET, SOCK_DGRAM, 0);  // no SO_REUSEADDR
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(5003);
    ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
    t = Open("eth2=ucast,,127.0.0.1,5003,5004");
    ::close(s);
  });
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("eth2=ucast"));
  EXPECT_THAT(t.status().message(), HasSubstr("listen port 5003"));
}

class UmlSwitchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = SocketDir();
    ctl_ = dir_ + "/switch.ctl";
    auto sw = ChildProcess::Start({"uml_switch", "-unix", ctl_},
                                  TempDir() + "/uml_switch.log");
    ASSERT_TRUE(sw.ok()) << sw.status();
    switch_ = *std::move(sw);
    ASSERT_TRUE(WaitUntil([&] { return AcceptsConnections(ctl_); }, 5000))
        << "uml_switch did not create " << ctl_;
  }
  void TearDown() override {
    switch_.reset();
    std::remove(ctl_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string dir_;
  std::string ctl_;
  std::unique_ptr<ChildProcess> switch_;
};

TEST_F(UmlSwitchTest, TwoStacksThroughARealUmlSwitch) {
  auto a = Open(absl::StrCat("eth0=daemon,,unix,", ctl_));
  auto b = Open(absl::StrCat("eth0=daemon,fe:fd:0a:09:00:02,unix,", ctl_));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ExpectTwoStacksTalk(a->get(), b->get());
}

// The port's data socket has an abstract address any local process can send
// to: only the switch's frames may reach the guest. Before, a frame from
// anyone was received.
TEST_F(UmlSwitchTest, FramesFromOtherLocalSocketsAreNotReceived) {
  auto t = Open(absl::StrCat("eth0=daemon,,unix,", ctl_));
  ASSERT_TRUE(t.ok()) << t.status();
  sockaddr_un ours{};
  socklen_t len = sizeof ours;
  ASSERT_EQ(
      ::getsockname((*t)->poll_fd(), reinterpret_cast<sockaddr*>(&ours), &len),
      0);
  int rogue = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  ASSERT_GE(rogue, 0);
  std::string frame(60, '\xaa');  // broadcast dst: any guest would take it
  frame.replace(0, 6, std::string(6, '\xff'));
  // Refused at once (the kernel checks the peer), or at least never read.
  (void)::sendto(rogue, frame.data(), frame.size(), 0,
                 reinterpret_cast<sockaddr*>(&ours), len);
  ::close(rogue);
  uint8_t buf[kMaxFrameBytes];
  absl::StatusOr<size_t> got = (*t)->Receive(absl::MakeSpan(buf));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, 0u) << "a frame from a non-switch socket was received";
}

TEST_F(UmlSwitchTest, NoSwitchAtThePathIsAClearError) {
  auto t = Open("eth3=daemon,,unix,/nonexistent/switch.ctl");
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(),
              HasSubstr("eth3=daemon,,unix,/nonexistent/switch.ctl"));
  EXPECT_THAT(t.status().message(), HasSubstr("uml_switch"));
}

TEST(VdeTransport, TwoStacksThroughARealVdeSwitch) {
  const std::string dir = SocketDir() + "/vde";
  auto sw = ChildProcess::Start({"vde_switch", "-s", dir},
                                TempDir() + "/vde_switch.log");
  ASSERT_TRUE(sw.ok()) << sw.status();
  ASSERT_TRUE(
      WaitUntil([&] { return AcceptsConnections(dir + "/ctl"); }, 5000));
  auto a = Open(absl::StrCat("eth0=vde,", dir));
  auto b = Open(absl::StrCat("eth0=vde,", dir, ",,,,,kuml-test"));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ExpectTwoStacksTalk(a->get(), b->get());
}

TEST(VdeTransport, NoSwitchIsAClearError) {
  auto t = Open("eth0=vde,/nonexistent/vde.ctl");
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("eth0=vde,/nonexistent"));
}

// The host side uml_net gives tuntap,,,<net>.1 with a guest at <net>.2
// (UML's): the gate as a /32 on tap0; once the guest pings the gate (its
// ARP tells the address), a host route to it and proxy ARP on tap0; no tap
// left once the transport is gone.
void ExpectUmlNetHostSide(const TestNetns& host,
                          std::unique_ptr<NetTransport> t,
                          const std::string& net) {
  auto addr = host.Sh("ip -4 -o addr show");
  ASSERT_TRUE(addr.ok());
  EXPECT_THAT(*addr, HasSubstr(absl::StrCat("inet ", net, ".1/32")));
  StackTap guest = Stack(net + ".2/24");
  auto pump = std::make_unique<FramePump>(guest.wire.get(), t.get());
  EXPECT_TRUE(Ping(guest, net + ".1").ok());
  auto route =
      host.Sh(absl::StrCat("ip -4 route show ", net,
                           ".2; cat /proc/sys/net/ipv4/conf/tap0/proxy_arp"));
  ASSERT_TRUE(route.ok());
  EXPECT_THAT(*route, HasSubstr(net + ".2 dev tap0"));
  EXPECT_THAT(*route, HasSubstr("\n1"));
  pump.reset();
  t.reset();  // the tap is not persistent: it goes with its transport
  auto links = host.Sh("ip -o link show");
  ASSERT_TRUE(links.ok());
  EXPECT_THAT(*links, Not(HasSubstr("tap0")));
}

// With CAP_NET_ADMIN kuml makes the tap itself (with a virtio-net header)
// and sets up what uml_net would, the routes through uml_net's `add`.
TEST(TapTransport, CreatesATapAndConfiguresTheHostSideAsUmlNetDoes) {
  auto host = TestNetns::Create();
  ASSERT_TRUE(host.ok());
  auto t = OpenIn(**host, "eth0=tuntap,,,192.168.77.1");
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->vnet_header());
  ExpectUmlNetHostSide(**host, std::move(t), "192.168.77");
}

// Drops CAP_NET_ADMIN on the calling thread only (capabilities are per
// thread), as for a user who is not root.
void DropCapNetAdmin() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  ASSERT_EQ(::syscall(SYS_capget, &header, data), 0);
  data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
  ASSERT_EQ(::syscall(SYS_capset, &header, data), 0);
}

// Without CAP_NET_ADMIN the real setuid uml_net (uml-utilities) makes the
// tap, called as UML calls it; its `del` runs when the transport goes.
TEST(TapTransport, WithoutCapNetAdminTheUmlNetHelperMakesTheTap) {
  ASSERT_EQ(::access("/usr/bin/uml_net", X_OK), 0)
      << "the real uml_net (uml-utilities, ./setup.sh) is needed";
  auto host = TestNetns::Create();
  ASSERT_TRUE(host.ok());
  absl::StatusOr<std::unique_ptr<NetTransport>> opened =
      absl::InternalError("not run");
  (*host)->Run([&] {
    DropCapNetAdmin();
    opened = Open("eth0=tuntap,,,192.168.79.1");
  });
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_FALSE((*opened)->vnet_header());  // uml_net's tap has none
  ExpectUmlNetHostSide(**host, *std::move(opened), "192.168.79");
}

TEST(TapTransport, AttachesToAPreconfiguredTap) {
  auto host = TestNetns::Create();
  ASSERT_TRUE(host.ok());
  ASSERT_TRUE((*host)
                  ->Sh("ip tuntap add dev pre0 mode tap && "
                       "ip addr add 192.168.78.1/24 dev pre0 && "
                       "ip link set pre0 up")
                  .ok());
  for (const char* arg :
       {"eth0=tuntap,pre0", "vec0:transport=tap,ifname=pre0"}) {
    SCOPED_TRACE(arg);
    std::unique_ptr<NetTransport> t;
    (*host)->Run([&] {
      absl::StatusOr<std::unique_ptr<NetTransport>> opened =
          absl::InternalError("");
      if (absl::StartsWith(arg, "vec")) {
        auto spec = ParseVecSwitch(arg);
        ASSERT_TRUE(spec.ok());
        opened = OpenVecTransport(*spec);
      } else {
        opened = Open(arg);
      }
      ASSERT_TRUE(opened.ok()) << opened.status();
      t = *std::move(opened);
    });
    ASSERT_NE(t, nullptr);
    EXPECT_TRUE(t->vnet_header());
    StackTap guest = Stack("192.168.78.2/24");
    FramePump pump(guest.wire.get(), t.get());
    EXPECT_TRUE(Ping(guest, "192.168.78.1").ok());
  }
}

TEST(TapTransport,
     WithoutCapNetAdminOrUmlNetCreatingATapExplainsTheAlternative) {
  auto host = TestNetns::Create();
  ASSERT_TRUE(host.ok());
  absl::StatusOr<std::unique_ptr<NetTransport>> t =
      absl::InternalError("not run");
  // No uml_net on the PATH either: nothing can make the tap.
  const std::string saved_path = std::getenv("PATH");
  ::setenv("PATH", "/nonexistent", 1);
  (*host)->Run([&] {
    DropCapNetAdmin();
    t = Open("eth0=tuntap,,,192.168.0.254");
  });
  ::setenv("PATH", saved_path.c_str(), 1);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(t.status().message(), HasSubstr("eth0=tuntap,,,192.168.0.254"));
  EXPECT_THAT(t.status().message(), HasSubstr("CAP_NET_ADMIN"));
  EXPECT_THAT(t.status().message(), HasSubstr("tunctl -u"));
}

TEST(PcapTransport, ShowsWhatTheFilterLetsThroughAndSendsNothing) {
  auto host = TestNetns::Create();
  ASSERT_TRUE(host.ok());
  auto t = OpenIn(**host, "eth0=pcap,lo,udp port 7777,promisc,optimize");
  ASSERT_NE(t, nullptr);
  (*host)->Run([&] {
    int s = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int port : {7778, 7777}) {
      to.sin_port = htons(port);
      ::sendto(s, "sniffed", 7, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
    ::close(s);
  });
  std::vector<uint8_t> buf(kMaxFrameBytes);
  size_t got = 0;
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto n = t->Receive(absl::MakeSpan(buf));
        got = n.ok() ? *n : 0;
        return got > 0;
      },
      3000));
  // Ethernet (14) + IPv4 (20) + UDP (8) + payload; port 7777 only.
  ASSERT_EQ(got, 14u + 20 + 8 + 7);
  EXPECT_EQ((buf[14 + 20 + 2] << 8) | buf[14 + 20 + 3], 7777);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(&buf[42]), 7), "sniffed");
  auto more = t->Receive(absl::MakeSpan(buf));
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(*more, 0u);  // the 7778 datagram was filtered out
  iovec v{buf.data(), 60};
  EXPECT_TRUE(t->Send(absl::MakeConstSpan(&v, 1)).ok());
}

TEST(PcapTransport, BadFilterNamesTheSwitch) {
  auto host = TestNetns::Create();
  ASSERT_TRUE(host.ok());
  absl::StatusOr<std::unique_ptr<NetTransport>> t =
      absl::InternalError("not run");
  (*host)->Run([&] { t = Open("eth0=pcap,lo,no such filter"); });
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("eth0=pcap,lo,no such filter"));
  EXPECT_THAT(t.status().message(), HasSubstr("bad filter"));
}

}  // namespace
}  // namespace kuml
