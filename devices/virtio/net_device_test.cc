// VirtioNet driven from the guest side by NetTestGuest (no KVM). The wire
// is real: an AF_UNIX datagram socketpair for the unit behaviour, and taps
// into network-namespace kernel stacks for ping and bulk TCP with the
// offloads on (those need root).
#include "devices/virtio/net_device.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "devices/net/datagram_transport.h"
#include "devices/net/testing/child_process.h"
#include "devices/net/testing/stack_tap.h"
#include "devices/virtio/net_test_guest.h"
#include "devices/virtio/virtio_spec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

constexpr VirtioNet::Mac kMac = {0xfe, 0xfd, 10, 0, 0, 1};
constexpr uint64_t kLinuxFeatures =
    kVirtioFVersion1 | kVirtioFRingIndirectDesc | kVirtioFRingEventIdx |
    kVirtioNetFMac | kVirtioNetFStatus | kVirtioNetFMrgRxbuf | kVirtioNetFCsum |
    kVirtioNetFGuestCsum | kVirtioNetFHostTso4 | kVirtioNetFHostTso6 |
    kVirtioNetFHostEcn | kVirtioNetFGuestTso4 | kVirtioNetFGuestTso6 |
    kVirtioNetFGuestEcn;

std::string Header() { return std::string(12, '\0'); }

// An ethernet frame from `src` to broadcast carrying `payload`.
std::string Frame(const std::string& payload,
                  VirtioNet::Mac src = {0x02, 1, 2, 3, 4, 5}) {
  std::string f(6, '\xff');
  f.append(reinterpret_cast<const char*>(src.data()), 6);
  f += "\x88\xb5";  // local experimental ethertype
  return f + payload;
}

// Runs an EventLoop on its own thread for the test's lifetime.
class LoopThread {
 public:
  LoopThread() : loop_(*EventLoop::Create()) {
    thread_ = std::thread([this] { loop_->Run(); });
  }
  ~LoopThread() { Stop(); }
  void Stop() {
    if (!thread_.joinable()) return;
    loop_->Stop();
    thread_.join();
  }
  EventLoop* get() { return loop_.get(); }

 private:
  std::unique_ptr<EventLoop> loop_;
  std::thread thread_;
};

class VirtioNetTest : public ::testing::Test {
 protected:
  void Start(uint64_t features = kLinuxFeatures, uint32_t rx_bytes = 4096) {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, pair), 0);
    peer_.Reset(pair[1]);
    wire_ = std::make_shared<DatagramTransport>("test wire", UniqueFd(pair[0]),
                                                std::vector<uint8_t>{});
    NetTestGuest::Options options;
    options.features = features;
    options.rx_buffer_bytes = rx_bytes;
    options.queue_size = 16;
    auto g = NetTestGuest::Create(wire_, kMac, loop_.get(), options);
    ASSERT_TRUE(g.ok()) << g.status();
    guest_ = *std::move(g);
  }
  void TearDown() override {
    loop_.Stop();  // no device callbacks while the device goes away
    guest_.reset();
  }

  void PeerSend(const std::string& frame) {
    ASSERT_EQ(::send(peer_.get(), frame.data(), frame.size(), 0),
              static_cast<ssize_t>(frame.size()));
  }
  std::string PeerReceive() {
    pollfd p{peer_.get(), POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return "";
    std::string buf(70000, '\0');
    ssize_t n = ::recv(peer_.get(), buf.data(), buf.size(), 0);
    buf.resize(n > 0 ? n : 0);
    return buf;
  }
  // Waits for `count` frames from the device.
  std::vector<std::string> ReceiveFrames(size_t count) {
    std::vector<std::string> all;
    WaitUntil(
        [&] {
          for (std::string& f : guest_->Receive()) all.push_back(std::move(f));
          return all.size() >= count;
        },
        3000);
    return all;
  }

  LoopThread loop_;
  UniqueFd peer_;
  std::shared_ptr<DatagramTransport> wire_;
  std::unique_ptr<NetTestGuest> guest_;
};

TEST_F(VirtioNetTest, PlainTransportOffersNoOffloadsAndShowsTheMac) {
  Start();
  const uint64_t offered = guest_->device()->device_features();
  EXPECT_TRUE(offered & kVirtioNetFMac);
  EXPECT_TRUE(offered & kVirtioNetFMrgRxbuf);
  EXPECT_FALSE(offered & kVirtioNetFCsum);
  EXPECT_FALSE(offered & kVirtioNetFGuestTso4);
  EXPECT_EQ(guest_->device()->device_type(), kVirtioIdNet);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(guest_->driver()->ReadConfig8(i), kMac[i]) << i;
  }
  EXPECT_EQ(guest_->driver()->ReadConfig16(6), kVirtioNetSLinkUp);
}

TEST_F(VirtioNetTest, TransmitsFramesWithoutTheHeader) {
  Start();
  const std::string frame = Frame("hello from the guest");
  ASSERT_TRUE(guest_->Send(Header() + frame));
  EXPECT_EQ(PeerReceive(), frame);
  // Split over descriptors, and through an indirect table.
  const std::string big = Frame(std::string(1400, 'z'));
  const std::string packet = Header() + big;
  TestQueue* tx = guest_->tx_queue();
  GuestAllocator alloc(40 << 20);
  std::vector<TestQueue::Buffer> bufs;
  for (size_t off = 0; off < packet.size(); off += 500) {
    const size_t n = std::min<size_t>(500, packet.size() - off);
    const uint64_t gpa = alloc.Alloc(n);
    ASSERT_TRUE(guest_->memory()->Write(gpa, packet.data() + off, n).ok());
    bufs.push_back({gpa, static_cast<uint32_t>(n), false});
  }
  tx->Publish(tx->AddIndirectChain(alloc.Alloc(16 * bufs.size()), bufs));
  guest_->driver()->Notify(VirtioNet::kTxQueue);
  EXPECT_EQ(PeerReceive(), big);
  EXPECT_EQ(guest_->device()->stats().tx_frames, 2u);
}

TEST_F(VirtioNetTest, MalformedTransmitChainsAreReturnedUnsent) {
  Start();
  ASSERT_TRUE(guest_->Send(std::string(5, 'x')));  // shorter than a header
  ASSERT_TRUE(guest_->Send(Header() + "tiny"));    // no ethernet header
  ASSERT_TRUE(guest_->Send(Header() + Frame("ok")));
  EXPECT_EQ(PeerReceive(), Frame("ok"));
  const VirtioNet::Stats stats = guest_->device()->stats();
  EXPECT_EQ(stats.tx_malformed, 2u);
  EXPECT_EQ(stats.tx_frames, 1u);
  // All three chains came back to the driver.
  EXPECT_EQ(guest_->tx_queue()->UsedIdx(), 3);
}

TEST_F(VirtioNetTest, ReceivesFramesWithAHeaderAndInterrupts) {
  Start();
  guest_->StockRx();
  PeerSend(Frame("to the guest"));
  std::vector<std::string> got = ReceiveFrames(1);
  ASSERT_EQ(got.size(), 1u);
  VirtioNetHdr hdr;
  std::memcpy(&hdr, got[0].data(), 12);
  EXPECT_EQ(hdr.num_buffers, 1);
  EXPECT_EQ(hdr.flags, 0);
  EXPECT_EQ(got[0].substr(12), Frame("to the guest"));
  EXPECT_EQ(guest_->AckInterrupt() & 1, 1u);
}

TEST_F(VirtioNetTest, MergeableBuffersCarryALargeFrameAcrossSeveralBuffers) {
  Start(kLinuxFeatures, /*rx_bytes=*/256);
  guest_->StockRx();
  const std::string frame = Frame(std::string(1000, 'm'));
  PeerSend(frame);
  std::vector<std::string> got = ReceiveFrames(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].substr(12), frame);
  uint16_t buffers;
  std::memcpy(&buffers, got[0].data() + 10, 2);
  EXPECT_EQ(buffers, (12 + frame.size() + 255) / 256);
}

TEST_F(VirtioNetTest, WithoutMergeableBuffersATooLargeFrameIsDropped) {
  Start(kLinuxFeatures & ~kVirtioNetFMrgRxbuf, /*rx_bytes=*/256);
  guest_->StockRx();
  PeerSend(Frame(std::string(1000, 'm')));
  PeerSend(Frame("fits"));
  std::vector<std::string> got = ReceiveFrames(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].size(), 0u);  // the buffer back, with nothing in it
  EXPECT_EQ(got[1].substr(12), Frame("fits"));
  EXPECT_EQ(guest_->device()->stats().rx_dropped, 1u);
}

TEST_F(VirtioNetTest, FramesWaitForBuffersInsteadOfBeingLost) {
  Start();
  for (int i = 0; i < 5; ++i) PeerSend(Frame(absl::StrCat("frame ", i)));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(guest_->device()->stats().rx_frames, 0u);
  guest_->StockRx();  // the notification resumes reception
  std::vector<std::string> got = ReceiveFrames(5);
  ASSERT_EQ(got.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(got[i].substr(12), Frame(absl::StrCat("frame ", i)));
  }
  EXPECT_EQ(guest_->device()->stats().rx_dropped, 0u);
}

TEST_F(VirtioNetTest, OwnFramesEchoedBackAreDropped) {
  Start();
  guest_->StockRx();
  PeerSend(Frame("echo of our own", kMac));
  PeerSend(Frame("someone else"));
  std::vector<std::string> got = ReceiveFrames(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].substr(12), Frame("someone else"));
}

TEST_F(VirtioNetTest, BeforeActivationFramesAreDrained) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, pair), 0);
  UniqueFd peer(pair[1]);
  auto wire = std::make_shared<DatagramTransport>(
      "test wire", UniqueFd(pair[0]), std::vector<uint8_t>{});
  auto device = VirtioNet::Create(wire, kMac, loop_.get());
  ASSERT_TRUE(device.ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_GT(::send(peer.get(), Frame("x").data(), Frame("x").size(), 0), 0);
  }
  EXPECT_TRUE(
      WaitUntil([&] { return (*device)->stats().rx_dropped == 3; }, 2000));
  loop_.Stop();
}

TEST_F(VirtioNetTest, HostileReceiveChainsCannotHurtTheDevice) {
  Start();
  TestQueue* rx = guest_->rx_queue();
  // A receive "buffer" the device may only read, then a real one.
  rx->Publish(rx->AddChain({{0x20000, 64, false}}));
  rx->Publish(rx->AddChain({{0x30000, 4096, true}}));
  guest_->driver()->Notify(VirtioNet::kRxQueue);
  PeerSend(Frame("still delivered"));
  absl::optional<VirtqUsedElem> first, second;
  WaitUntil(
      [&] {
        if (!first) first = rx->PopUsed();
        if (first && !second) second = rx->PopUsed();
        return second.has_value();
      },
      2000);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->len, 0u);
  EXPECT_EQ(second->len, 12 + Frame("still delivered").size());
  // A ring that lies about avail->idx breaks the queue: DEVICE_NEEDS_RESET,
  // and nothing else happens.
  rx->SetAvailIdx(rx->avail_idx() + 1000);
  guest_->driver()->Notify(VirtioNet::kRxQueue);
  PeerSend(Frame("x"));
  EXPECT_TRUE(WaitUntil(
      [&] {
        return (guest_->transport()->status() & kVirtioStatusNeedsReset) != 0;
      },
      2000));
}

TEST_F(VirtioNetTest, DriverResetStopsTheDeviceAndItComesBack) {
  Start();
  guest_->StockRx();
  guest_->driver()->SetStatus(0);
  PeerSend(Frame("while reset"));
  EXPECT_TRUE(WaitUntil(
      [&] { return guest_->device()->stats().rx_dropped == 1; }, 2000));
}

// ---- with a real kernel stack at each end ----------------------------------

class VirtioNetTapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = MakeStackTap("10.8.0.1/24", "ga", /*vnet_header=*/true);
    ASSERT_TRUE(a.ok()) << a.status();
    guest_side_ = *std::move(a);
    auto b = MakeStackTap("10.8.0.2/24", "hb", /*vnet_header=*/true);
    ASSERT_TRUE(b.ok()) << b.status();
    host_side_ = *std::move(b);
    // The guest-side tap hands the pump what a guest kernel with offloads
    // would send: unsegmented TCP with partial checksums.
    ASSERT_TRUE(
        guest_side_.wire->SetGuestOffloads({true, true, true, true}).ok());
    host_wire_ = std::shared_ptr<NetTransport>(std::move(host_side_.wire));
    NetTestGuest::Options options;
    options.features = kLinuxFeatures;
    auto g = NetTestGuest::Create(host_wire_, kMac, loop_.get(), options);
    ASSERT_TRUE(g.ok()) << g.status();
    guest_ = *std::move(g);
    pump_ = std::make_unique<GuestPump>(guest_side_.wire.get(), guest_.get());
  }
  void TearDown() override {
    pump_.reset();
    loop_.Stop();
    guest_.reset();
  }

  LoopThread loop_;
  StackTap guest_side_, host_side_;
  std::shared_ptr<NetTransport> host_wire_;
  std::unique_ptr<NetTestGuest> guest_;
  std::unique_ptr<GuestPump> pump_;
};

TEST_F(VirtioNetTapTest, PingBothWays) {
  EXPECT_TRUE(guest_side_.ns->Sh("ping -c 3 -i 0.2 -W 3 10.8.0.2").ok());
  EXPECT_TRUE(host_side_.ns->Sh("ping -c 3 -i 0.2 -W 3 10.8.0.1").ok());
  EXPECT_TRUE(guest_->negotiated() & kVirtioNetFHostTso4);
}

// Bulk TCP through the device: the guest stack sends 64 KiB TSO frames,
// which the device hands to the host tap unsegmented.
TEST_F(VirtioNetTapTest, BulkTcpUsesSegmentationOffload) {
  constexpr size_t kBytes = 8 << 20;
  std::atomic<size_t> received{0};
  int listener = -1;
  host_side_.ns->Run([&] {
    listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(9000);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&sin), sizeof sin),
              0);
    ASSERT_EQ(::listen(listener, 1), 0);
  });
  std::thread server([&] {
    int c = ::accept(listener, nullptr, nullptr);
    char buf[65536];
    ssize_t n;
    while ((n = ::read(c, buf, sizeof buf)) > 0) received += n;
    ::close(c);
  });
  guest_side_.ns->Run([&] {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{20, 0};
    ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(9000);
    sin.sin_addr.s_addr = inet_addr("10.8.0.2");
    ASSERT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
    std::string chunk(65536, 'd');
    size_t sent = 0;
    while (sent < kBytes) {
      ssize_t n = ::write(s, chunk.data(), chunk.size());
      if (n <= 0) break;
      sent += n;
    }
    ::close(s);
  });
  server.join();
  ::close(listener);
  EXPECT_EQ(received.load(), kBytes);
  const VirtioNet::Stats stats = guest_->device()->stats();
  ASSERT_GT(stats.tx_frames, 0u);
  // Far fewer, far larger frames than 1500-byte segments would make.
  EXPECT_GT(stats.tx_bytes / stats.tx_frames, 4000u);
}

}  // namespace
}  // namespace kuml
