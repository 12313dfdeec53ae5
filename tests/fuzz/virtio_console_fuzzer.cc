// libFuzzer target: the virtio-console device (devices/virtio/
// console_device.cc) behind the virtio-mmio transport, driven by a hostile
// guest (virtio_guest.h): control messages on the control transmit queue
// (DEVICE_READY, PORT_READY, PORT_OPEN, unknown events and port ids, short
// messages), control receive buffers of any size, port output of any shape
// and host input into ports, with port handlers that take only part of what
// they are offered, call back into the device (ResumeOutput, Input) and
// room callbacks that feed more input.
//
// Input: u8 port count - 1 (1..4 ports), per port u8 flags (bit0 console,
// bit1 no handler, bit2 echo input back, bit3 named) [+ name], then
// FuzzGuest steps; the device step (op 15) is one of the console actions in
// ConsoleOp. Checks beyond ASan/UBSan: a handler is never offered an empty
// or over-long chunk, or called for a port it does not serve.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "devices/virtio/console_device.h"
#include "devices/virtio/mmio_transport.h"
#include "devices/virtio/virtio_spec.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/virtio_guest.h"

namespace kuml {
namespace fuzz {
namespace {

class Handler : public ConsolePortHandler {
 public:
  explicit Handler(bool echo) : echo_(echo) {}

  void Bind(VirtioConsole* console, uint32_t port) override {
    Check(console_ == nullptr);
    console_ = console;
    port_ = port;
  }
  size_t OnGuestOutput(absl::Span<const uint8_t> data) override {
    Check(console_ != nullptr);
    Check(!data.empty() && data.size() <= 4096);
    static uint8_t sink[4096];
    std::memcpy(sink, data.data(), data.size());  // ASan: all readable
    size_t take = data.size();
    if (!takes_.empty()) {
      take = std::min<size_t>(take, takes_[next_take_++ % takes_.size()]);
    }
    // Budgets keep a handler that keeps calling back from looping forever.
    if (echo_ && callbacks_ > 0) {
      --callbacks_;
      (void)console_->Input(port_)->ReceiveInput(data.first(take));
    }
    if (take < data.size() && resumes_ > 0) {
      --resumes_;
      console_->ResumeOutput(port_);  // "room already": the tx_again path
    }
    return take;
  }
  void OnGuestOpen(bool open) override { open_ = open; }

  void SetScript(std::vector<uint16_t> takes, int resumes, int callbacks) {
    takes_ = std::move(takes);
    next_take_ = 0;
    resumes_ = resumes;
    callbacks_ = callbacks;
  }

 private:
  const bool echo_;
  VirtioConsole* console_ = nullptr;
  uint32_t port_ = 0;
  std::vector<uint16_t> takes_;
  size_t next_take_ = 0;
  int resumes_ = 0;
  int callbacks_ = 0;
  bool open_ = false;
};

struct Harness {
  FuzzGuest g;
  VirtioConsole* console = nullptr;
  std::vector<std::shared_ptr<Handler>> handlers;  // null: no handler
  uint32_t ports = 0;
  int room_feeds = 0;  // budget of room callbacks that feed input
  std::string pending_input;

  static uint16_t Rx(uint32_t p) { return p == 0 ? 0 : 2 + 2 * p; }
  static uint16_t Tx(uint32_t p) { return p == 0 ? 1 : 3 + 2 * p; }

  void SendControl(uint32_t id, uint16_t event, uint16_t value,
                   const std::string& extra, bool split) {
    VirtioConsoleControl c{id, event, value};
    std::string m(reinterpret_cast<const char*>(&c), sizeof c);
    m += extra;
    std::vector<FuzzGuest::Segment> segs;
    if (split && m.size() > 3) {
      segs.push_back({g.Put(m.substr(0, 3)), 3, false});
      segs.push_back(
          {g.Put(m.substr(3)), static_cast<uint32_t>(m.size() - 3), false});
    } else {
      segs.push_back({g.Put(m), static_cast<uint32_t>(m.size()), false});
    }
    g.AddChain(3, segs, false);
    g.Notify(3, false);
  }

  void PostBuffers(int q, int n, uint32_t len) {
    for (int i = 0; i < n; ++i) {
      g.AddChain(q, {{g.Reserve(len), len, true}}, false);
    }
    g.Notify(q, false);
  }

  // What Linux's probe does: DEVICE_READY, control buffers, PORT_READY and
  // PORT_OPEN for every port, receive buffers.
  void Handshake() {
    PostBuffers(2, 4, 256);
    SendControl(kVirtioConsoleBadId, kVirtioConsoleDeviceReady, 1, "", false);
    for (uint32_t p = 0; p < ports; ++p) {
      SendControl(p, kVirtioConsolePortReady, 1, "", false);
      PostBuffers(2, 3, 256);
      SendControl(p, kVirtioConsolePortOpen, 1, "", false);
      if (Rx(p) < g.num_queues()) PostBuffers(Rx(p), 2, 64);
    }
  }

  void FeedInput(uint32_t p, const std::string& bytes) {
    InputSink* sink = console->Input(p);
    Check(sink != nullptr);
    (void)sink->InputRoom();
    size_t taken = sink->ReceiveInput(absl::MakeConstSpan(
        reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    Check(taken <= bytes.size());
  }

  void ConsoleOp(FuzzInput& in) {
    const uint8_t op = in.U8();
    const uint32_t p = in.U8() % ports;
    switch (op % 10) {
      case 0:
        Handshake();
        break;
      case 1: {  // a control message, any fields
        uint8_t f = in.U8();
        uint32_t id = (f & 1) ? in.U32() : p;
        uint16_t event = (f & 2) ? in.U16() : in.U8() % 8;
        uint16_t value = (f & 4) ? in.U16() : in.U8() % 2;
        std::string extra = (f & 8) ? in.LengthPrefixed(64) : "";
        if (f & 0x20) {  // a short message
          std::string raw = in.LengthPrefixed(7);
          g.AddChain(3,
                     {{g.Put(raw), static_cast<uint32_t>(raw.size()), false}},
                     false);
          g.Notify(3, f & 0x40);
        } else {
          SendControl(id, event, value, extra, f & 0x10);
        }
        break;
      }
      case 2: {  // control receive buffers of any size
        const int n = 1 + in.U8() % 8;
        PostBuffers(2, n, in.U16() % 512);
        break;
      }
      case 3: {  // receive buffers for a port
        uint16_t q = Rx(p);
        const int n = 1 + in.U8() % 4;
        const uint32_t len = in.U16() % 600;
        if (q < g.num_queues()) PostBuffers(q, n, len);
        break;
      }
      case 4: {  // guest output on a port, in pieces
        uint16_t q = Tx(p);
        if (q >= g.num_queues()) break;
        std::string data = in.LengthPrefixed(8192, true);
        int pieces = 1 + in.U8() % 4;
        uint64_t gpa = g.Put(data);
        uint32_t len = static_cast<uint32_t>(data.size());
        uint32_t step = len / pieces;
        std::vector<FuzzGuest::Segment> segs;
        for (int i = 0; i < pieces; ++i) {
          uint32_t n = i + 1 == pieces ? len - step * i : step;
          segs.push_back({gpa + uint64_t{step} * i, n, false});
        }
        uint8_t how = in.U8();
        g.AddChain(q, segs, how & 1);
        g.Notify(q, how & 2);
        break;
      }
      case 5:  // host input
        FeedInput(p, in.LengthPrefixed(1024, true));
        break;
      case 6:  // the host side can take more
        console->ResumeOutput(in.Bool() ? p : in.U32());
        break;
      case 7: {  // a room callback that feeds what is pending
        pending_input = in.LengthPrefixed(256);
        room_feeds = in.U8() % 4;
        console->Input(p)->SetRoomCallback([this, p] {
          if (room_feeds <= 0) return;
          --room_feeds;
          FeedInput(p, pending_input);
        });
        break;
      }
      case 8: {  // a handler's script: how much it takes per offer
        if (!handlers[p]) break;
        std::vector<uint16_t> takes(in.U8() % 8);
        for (uint16_t& t : takes) t = in.Bool() ? in.U8() % 4 : in.U16() % 5000;
        const int resumes = in.U8() % 4;
        handlers[p]->SetScript(std::move(takes), resumes, in.U8() % 4);
        break;
      }
      default:
        (void)console->control_backlog();
        (void)console->stats(in.U32());
        (void)console->Input(p)->InputRoom();
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
  h.ports = 1 + in.U8() % 4;
  std::vector<VirtioConsole::PortConfig> configs;
  for (uint32_t p = 0; p < h.ports; ++p) {
    const uint8_t f = in.U8();
    VirtioConsole::PortConfig c;
    c.console = f & 1;
    if (f & 8)
      c.name = in.LengthPrefixed(255) + ((f & 16) ? std::string(200, 'n') : "");
    std::shared_ptr<Handler> handler;
    if (!(f & 2)) handler = std::make_shared<Handler>(f & 4);
    c.handler = handler;
    h.handlers.push_back(handler);
    configs.push_back(std::move(c));
  }
  auto dev = std::make_unique<VirtioConsole>(std::move(configs));
  h.console = dev.get();
  MmioTransport t(std::move(dev), h.g.memory(), h.g.irq());
  h.g.Attach(&t);
  h.g.Initialize(in);
  for (int ops = 0; ops < 512 && !in.empty(); ++ops) {
    h.g.Step(in, [&](FuzzInput& in) { h.ConsoleOp(in); });
  }
  if (Debug()) {
    std::fprintf(stderr, "status %#x backlog %zu", t.status(),
                 h.console->control_backlog());
    for (uint32_t p = 0; p < h.ports; ++p) {
      VirtioConsole::PortStats s = h.console->stats(p);
      std::fprintf(stderr, " | port %u out %lu in %lu open %d", p, s.bytes_out,
                   s.bytes_in, s.guest_open);
    }
    std::fprintf(stderr, " | '%s'\n", t.last_error().c_str());
  }
  return 0;
}
