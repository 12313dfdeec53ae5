// Host-side virtio-net throughput per transport, no KVM: a NetTestGuest
// (guest RAM + virtio-mmio + a driver played by this program) pushes frames
// through kuml's VirtioNet into each transport, and a real peer on the far
// side (a second member of the group / the other end of the cable / another
// switch port) counts what arrives; then the other way round. This measures
// the device and the transport -- the part of guest networking kuml owns --
// not a guest kernel. For tap, a namespace's kernel stack drives the device
// (GuestPump) and bulk TCP runs to a second namespace.
//
// usage: net_bench [frames]   (needs root: namespaces, taps)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "devices/net/testing/child_process.h"
#include "devices/net/testing/netns.h"
#include "devices/net/testing/stack_tap.h"
#include "devices/virtio/net_test_guest.h"
#include "devices/virtio/virtio_spec.h"
#include "frontend/net_switch.h"
#include "machine/open_net_transport.h"

ABSL_FLAG(int, count, 200000, "frames per transport");

namespace kuml {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kFeatures =
    kVirtioFVersion1 | kVirtioFRingIndirectDesc | kVirtioFRingEventIdx |
    kVirtioNetFMac | kVirtioNetFMrgRxbuf | kVirtioNetFCsum |
    kVirtioNetFGuestCsum | kVirtioNetFHostTso4 | kVirtioNetFHostTso6 |
    kVirtioNetFGuestTso4 | kVirtioNetFGuestTso6;

std::unique_ptr<NetTransport> MustOpen(const std::string& arg) {
  auto parsed = ParseEthSwitch(arg);
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s\n", parsed.status().ToString().c_str());
    std::exit(1);
  }
  auto t = OpenNetTransport(parsed->spec);
  if (!t.ok()) {
    std::fprintf(stderr, "%s\n", t.status().ToString().c_str());
    std::exit(1);
  }
  return *std::move(t);
}

std::string Frame(size_t size) {
  std::string f(size, 'p');
  f.replace(0, 6, "\xff\xff\xff\xff\xff\xff");
  f.replace(6, 6, "\x02\x00\x00\x00\x00\x09");
  f[12] = '\x88', f[13] = '\xb5';
  return f;
}

struct Rate {
  double pps = 0, mbit = 0, delivered = 0;
};

void Print(const std::string& transport, const std::string& direction,
           size_t size, const Rate& r) {
  std::printf(
      "%-11s %-14s %5zu B  %9.0f frames/s  %8.1f Mbit/s  %5.1f%% "
      "delivered\n",
      transport.c_str(), direction.c_str(), size, r.pps, r.mbit,
      100 * r.delivered);
}

// guest -> peer: the driver sends `count` frames; the peer counts arrivals.
Rate GuestToPeer(NetTestGuest* guest, NetTransport* peer, size_t size,
                 int count) {
  const std::string packet = std::string(12, '\0') + Frame(size);
  std::vector<uint8_t> buf(kMaxFrameBytes + 12);
  int received = 0;
  auto drain = [&] {
    for (;;) {
      auto n = peer->Receive(absl::MakeSpan(buf));
      if (!n.ok() || *n == 0) return;
      ++received;
    }
  };
  const auto start = Clock::now();
  for (int sent = 0; sent < count;) {
    if (guest->Send(packet)) {
      ++sent;
    } else {
      drain();
    }
    if ((sent & 63) == 0) drain();
  }
  WaitUntil(
      [&] {
        drain();
        return received >= count;
      },
      500);
  const double s = std::chrono::duration<double>(Clock::now() - start).count();
  return {received / s, received * size * 8 / s / 1e6,
          static_cast<double>(received) / count};
}

// peer -> guest: the peer sends `count` frames; the driver collects them.
Rate PeerToGuest(NetTestGuest* guest, NetTransport* peer, size_t size,
                 int count) {
  const std::string frame = Frame(size);
  iovec v{const_cast<char*>(frame.data()), frame.size()};
  guest->StockRx();
  int received = 0;
  const auto start = Clock::now();
  for (int sent = 0; sent < count; ++sent) {
    peer->Send(absl::MakeConstSpan(&v, 1)).IgnoreError();
    if ((sent & 31) == 0) received += guest->Receive().size();
  }
  WaitUntil(
      [&] {
        received += guest->Receive().size();
        return received >= count;
      },
      500);
  const double s = std::chrono::duration<double>(Clock::now() - start).count();
  return {received / s, received * size * 8 / s / 1e6,
          static_cast<double>(received) / count};
}

void Bench(const std::string& name, std::unique_ptr<NetTransport> device_side,
           std::unique_ptr<NetTransport> peer, EventLoop* loop, int count) {
  NetTestGuest::Options options;
  options.features = kFeatures;
  auto guest = NetTestGuest::Create(std::move(device_side),
                                    {0xfe, 0xfd, 10, 0, 0, 1}, loop, options);
  if (!guest.ok()) {
    std::fprintf(stderr, "%s\n", guest.status().ToString().c_str());
    std::exit(1);
  }
  for (size_t size : {60, 1514}) {
    Print(name, "guest->peer", size,
          GuestToPeer(guest->get(), peer.get(), size, count));
    Print(name, "peer->guest", size,
          PeerToGuest(guest->get(), peer.get(), size, count));
  }
}

// Bulk TCP between two namespace stacks with kuml's device in the middle
// (tap with offloads at both ends).
void TapTcp(EventLoop* loop) {
  auto a = MakeStackTap("10.8.0.1/24", "ga", true);
  auto b = MakeStackTap("10.8.0.2/24", "hb", true);
  if (!a.ok() || !b.ok()) {
    std::fprintf(stderr, "tap setup failed\n");
    std::exit(1);
  }
  a->wire->SetGuestOffloads({true, true, true, true}).IgnoreError();
  NetTestGuest::Options options;
  options.features = kFeatures;
  auto guest =
      NetTestGuest::Create(std::shared_ptr<NetTransport>(std::move(b->wire)),
                           {0xfe, 0xfd, 10, 8, 0, 3}, loop, options);
  if (!guest.ok()) std::exit(1);
  GuestPump pump(a->wire.get(), guest->get());
  for (const bool upload : {true, false}) {
    const TestNetns& server_ns = upload ? *b->ns : *a->ns;
    const TestNetns& client_ns = upload ? *a->ns : *b->ns;
    const char* server_ip = upload ? "10.8.0.2" : "10.8.0.1";
    constexpr size_t kBytes = 256 << 20;
    int listener = -1;
    server_ns.Run([&] {
      listener = ::socket(AF_INET, SOCK_STREAM, 0);
      int yes = 1;
      ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      sockaddr_in sin{};
      sin.sin_family = AF_INET;
      sin.sin_port = htons(9001);
      ::bind(listener, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
      ::listen(listener, 1);
    });
    size_t got = 0;
    std::thread server([&] {
      int c = ::accept(listener, nullptr, nullptr);
      static char buf[1 << 16];
      ssize_t n;
      while ((n = ::read(c, buf, sizeof buf)) > 0) got += n;
      ::close(c);
    });
    const auto start = Clock::now();
    client_ns.Run([&] {
      int s = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in sin{};
      sin.sin_family = AF_INET;
      sin.sin_port = htons(9001);
      sin.sin_addr.s_addr = inet_addr(server_ip);
      ::connect(s, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
      static char chunk[1 << 16];
      size_t sent = 0;
      while (sent < kBytes) {
        ssize_t n = ::write(s, chunk, sizeof chunk);
        if (n <= 0) break;
        sent += n;
      }
      ::close(s);
    });
    server.join();
    ::close(listener);
    const double s =
        std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("%-11s %-14s bulk TCP  %8.0f Mbit/s (%zu MiB in %.2f s)\n",
                "tap", upload ? "guest->host" : "host->guest",
                got * 8 / s / 1e6, got >> 20, s);
  }
}

int Main() {
  const int count = absl::GetFlag(FLAGS_count);
  auto loop = EventLoop::Create();
  std::thread loop_thread([&] { (*loop)->Run(); });
  auto wire = TestNetns::Create();
  if (!wire.ok()) {
    std::fprintf(stderr, "%s\n", wire.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<NetTransport> a, b;
  (*wire)->Run([&] {
    a = MustOpen("eth0=mcast");
    b = MustOpen("eth0=mcast");
  });
  Bench("mcast", std::move(a), std::move(b), loop->get(), count);
  (*wire)->Run([&] {
    a = MustOpen("eth0=ucast,,127.0.0.1,7001,7002");
    b = MustOpen("eth0=ucast,,127.0.0.1,7002,7001");
  });
  Bench("ucast", std::move(a), std::move(b), loop->get(), count);
  char dir[] = "/tmp/kuml-net-bench-XXXXXX";
  ::mkdtemp(dir);
  const std::string ctl = std::string(dir) + "/switch.ctl";
  auto sw = ChildProcess::Start({"uml_switch", "-hub", "-unix", ctl},
                                std::string(dir) + "/switch.log");
  WaitUntil([&] { return ::access(ctl.c_str(), F_OK) == 0; }, 5000);
  Bench("uml_switch", MustOpen("eth0=daemon,,unix," + ctl),
        MustOpen("eth0=daemon,,unix," + ctl), loop->get(), count);
  const std::string vde = std::string(dir) + "/vde";
  auto vsw = ChildProcess::Start({"vde_switch", "-hub", "-s", vde},
                                 std::string(dir) + "/vde.log");
  WaitUntil([&] { return ::access((vde + "/ctl").c_str(), F_OK) == 0; }, 5000);
  Bench("vde", MustOpen("eth0=vde," + vde), MustOpen("eth0=vde," + vde),
        loop->get(), count);
  TapTcp(loop->get());
  (*loop)->Stop();
  loop_thread.join();
  std::system(absl::StrCat("rm -rf ", dir).c_str());
  return 0;
}

}  // namespace
}  // namespace kuml

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "virtio-net and each transport driven host-side (needs root): "
      "net_bench [--count=N]");
  absl::ParseCommandLine(argc, argv);
  return kuml::Main();
}
