// libFuzzer target: the virtio-net device (devices/virtio/net_device.cc)
// behind the virtio-mmio transport over a fake NetTransport, driven by a
// hostile guest (virtio_guest.h): transmit chains (virtio_net_hdr + frame,
// any length, 1..80 pieces so both the scatter-gather and the bounce path
// run), receive buffers of any size with and without MRG_RXBUF, frames
// arriving from the host (runts, our own MAC echoed, 64 KiB TSO frames,
// with and without a vnet header), transport errors, and the event loop's
// readable callback (EventLoop::Run once, stopped by a posted Stop).
//
// Input: u8 transport flags (bit0 vnet header, bit1 SetGuestOffloads
// fails), then FuzzGuest steps; the device step (op 15) is one of NetOp.
// Checks beyond ASan/UBSan: the NetTransport contract -- every frame sent
// is between an ethernet header and kMaxFrameBytes (plus the vnet header
// when the transport takes it) and in at most IOV_MAX pieces, every receive
// buffer holds the largest frame.
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "devices/net/net_transport.h"
#include "devices/virtio/mmio_transport.h"
#include "devices/virtio/net_device.h"
#include "devices/virtio/virtio_spec.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/virtio_guest.h"
#include "vmm/event_loop.h"

namespace kuml {
namespace fuzz {
namespace {

constexpr VirtioNet::Mac kMac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

class FakeTransport : public NetTransport {
 public:
  FakeTransport(bool vnet, bool offload_fails)
      : vnet_(vnet),
        offload_fails_(offload_fails),
        fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    Check(fd_ >= 0);
  }
  ~FakeTransport() override { ::close(fd_); }

  std::string description() const override { return "fuzz"; }
  int poll_fd() const override { return fd_; }
  bool vnet_header() const override { return vnet_; }
  absl::Status SetGuestOffloads(const GuestOffloads& o) override {
    if (!vnet_) Check(!o.csum && !o.tso4 && !o.tso6 && !o.ecn);
    if (offload_fails_ && (o.csum || o.tso4 || o.tso6 || o.ecn)) {
      return absl::InternalError("injected TUNSETOFFLOAD error");
    }
    return absl::OkStatus();
  }

  absl::Status Send(absl::Span<const iovec> frame) override {
    Check(frame.size() <= 1024);
    static uint8_t sink[kVirtioNetHdrBytes + kMaxFrameBytes];
    size_t total = 0;
    for (const iovec& v : frame) {
      // ASan checks that every byte handed over is readable.
      if (v.iov_len > 0) {
        std::memcpy(sink, v.iov_base, std::min(v.iov_len, sizeof sink));
      }
      total += v.iov_len;
    }
    const size_t hdr = vnet_ ? kVirtioNetHdrBytes : 0;
    Check(total >= hdr + 14 && total <= hdr + kMaxFrameBytes);
    ++sent_;
    if (send_fails_) return absl::InternalError("injected send error");
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> Receive(absl::Span<uint8_t> buffer) override {
    Check(buffer.size() >= kMaxFrameBytes + (vnet_ ? kVirtioNetHdrBytes : 0));
    if (receive_fails_) return absl::InternalError("injected receive error");
    if (frames_.empty()) return 0;
    std::string f = std::move(frames_.front());
    frames_.pop_front();
    if (frames_.empty()) {
      uint64_t v;
      (void)!::read(fd_, &v, sizeof v);  // no longer readable
    }
    size_t n = std::min(f.size(), buffer.size());
    std::memcpy(buffer.data(), f.data(), n);
    return n;
  }

  void Queue(std::string frame) {
    if (frames_.size() >= 256) return;
    frames_.push_back(std::move(frame));
    uint64_t one = 1;
    (void)!::write(fd_, &one, sizeof one);
  }
  void SetFailures(uint8_t mask) {
    send_fails_ = mask & 1;
    receive_fails_ = mask & 2;
  }

 private:
  const bool vnet_;
  const bool offload_fails_;
  const int fd_;
  std::deque<std::string> frames_;
  bool send_fails_ = false;
  bool receive_fails_ = false;
  uint64_t sent_ = 0;
};

std::string Header(FuzzInput& in) {
  VirtioNetHdr h{};
  if (in.Bool()) {
    h.flags = in.U8();
    h.gso_type = in.U8();
    h.hdr_len = in.U16();
    h.gso_size = in.U16();
    h.csum_start = in.U16();
    h.csum_offset = in.U16();
    h.num_buffers = in.U16();
  }
  return std::string(reinterpret_cast<const char*>(&h), sizeof h);
}

// An ethernet frame: input bytes, or a big one of an input-chosen length.
std::string Frame(FuzzInput& in, bool own_source) {
  std::string f;
  if (in.U8() < 0xe0) {
    f = in.LengthPrefixed(2048, true);
  } else {
    f.assign(in.U32() % (kMaxFrameBytes + 64), '\x42');
  }
  if (own_source && f.size() >= 12) {
    f.replace(6, 6, reinterpret_cast<const char*>(kMac.data()), 6);
  }
  return f;
}

struct Harness {
  FuzzGuest g;
  std::unique_ptr<EventLoop> loop;
  std::shared_ptr<FakeTransport> fake;
  VirtioNet* net = nullptr;
  bool ran_loop = false;

  void NetOp(FuzzInput& in) {
    const uint8_t op = in.U8();  // low nibble: what; high nibble: flags
    switch ((op & 0x0f) % 7) {
      case 0: {  // a frame from the host
        std::string f;
        if (fake->vnet_header()) f = Header(in);
        f += Frame(in, op & 0x80);
        fake->Queue(std::move(f));
        if (op & 0x40) g.Notify(VirtioNet::kRxQueue, op & 0x20);
        break;
      }
      case 1: {  // a frame from the guest, in pieces
        std::string pkt = Header(in);
        pkt += Frame(in, false);
        if (op & 0x80) pkt.resize(in.U8() % 40);  // runt
        uint32_t pieces = 1 + in.U8() % 80;
        uint64_t gpa = g.Put(pkt);
        uint32_t len = static_cast<uint32_t>(pkt.size());
        uint32_t step = len / pieces;
        std::vector<FuzzGuest::Segment> segs;
        for (uint32_t i = 0; i < pieces; ++i) {
          uint32_t n = i + 1 == pieces ? len - step * i : step;
          segs.push_back({gpa + uint64_t{step} * i, n, false});
        }
        if (op & 0x40) segs.push_back({g.Reserve(16), 16, true});
        g.AddChain(VirtioNet::kTxQueue, segs, op & 0x20);
        g.Notify(VirtioNet::kTxQueue, op & 0x10);
        break;
      }
      case 2: {  // receive buffers
        int n = 1 + in.U8() % 8;
        static constexpr uint32_t kLens[] = {0,    1,    11,   12,    26,
                                             1514, 1526, 4096, 65550, 65562};
        uint8_t l = in.U8();
        uint32_t len = l < 200 ? kLens[l % 10] : in.U16() % 2048;
        for (int i = 0; i < n; ++i) {
          std::vector<FuzzGuest::Segment> segs;
          if (in.Bool()) segs.push_back({g.Reserve(8), 8, true});  // split
          segs.push_back({g.Reserve(len), len, true});
          g.AddChain(VirtioNet::kRxQueue, segs, op & 0x80);
        }
        g.Notify(VirtioNet::kRxQueue, op & 0x40);
        break;
      }
      case 3:
        fake->SetFailures(in.U8());
        break;
      case 4: {  // the event loop sees the transport readable, once
        if (ran_loop) break;
        ran_loop = true;
        EventLoop* l = loop.get();
        l->Post([l] { l->Stop(); });
        l->Run();
        break;
      }
      default:
        (void)net->stats();
        (void)net->last_error();
        break;
    }
  }
};

}  // namespace
}  // namespace fuzz
}  // namespace kuml

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuml;        // NOLINT
  using namespace kuml::fuzz;  // NOLINT
  FuzzInput in(data, size);
  Harness h;
  const uint8_t flags = in.U8();
  auto loop = EventLoop::Create();
  Check(loop.ok());
  h.loop = std::move(*loop);
  h.fake = std::make_shared<FakeTransport>(flags & 1, flags & 2);
  auto dev = VirtioNet::Create(h.fake, kMac, h.loop.get());
  Check(dev.ok());
  h.net = dev->get();
  {
    MmioTransport t(*std::move(dev), h.g.memory(), h.g.irq());
    h.g.Attach(&t);
    h.g.Initialize(in);
    for (int ops = 0; ops < 512 && !in.empty(); ++ops) {
      h.g.Step(in, [&](FuzzInput& in) { h.NetOp(in); });
    }
    if (Debug()) {
      VirtioNet::Stats s = h.net->stats();
      std::fprintf(stderr,
                   "status %#x rx %lu/%lu bytes dropped %lu tx %lu/%lu bytes "
                   "malformed %lu errors %lu '%s' '%s'\n",
                   t.status(), s.rx_frames, s.rx_bytes, s.rx_dropped,
                   s.tx_frames, s.tx_bytes, s.tx_malformed, s.tx_errors,
                   h.net->last_error().c_str(), t.last_error().c_str());
    }
  }  // the device goes before its loop
  return 0;
}
