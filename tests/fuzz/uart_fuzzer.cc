// libFuzzer target: the 16550A model (devices/serial/uart_8250.cc) under
// input-chosen register reads and writes (bytes and split wide accesses),
// host input (ReceiveInput, ReceiveBreak), an output sink that takes 0..n
// bytes per offer as the input says, TransmitRoom, the transmit observer
// and room callbacks that feed more input.
//
// Input: a sequence of ops (op byte % 10), see the switch below.
// Checks beyond ASan/UBSan, all from uart_8250.h:
//  - the bytes the sink takes are, in order, the bytes the guest wrote to
//    THR outside loopback and DLAB (until the UART reports a drop), and the
//    observer sees each of those bytes once, in order;
//  - the interrupt line is only driven on a change of level;
//  - ReceiveInput takes min(InputRoom(), offered) -- it never overruns;
//  - the room callback runs only when there is room.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "devices/serial/uart_8250.h"
#include "tests/fuzz/fuzz_input.h"
#include "vmm/interrupt_line.h"

namespace kuml {
namespace fuzz {
namespace {

class EdgeCheckingLine : public InterruptLine {
 public:
  void SetLevel(bool high) override {
    Check(high != level_);  // "driven on every change" and only then
    level_ = high;
  }

 private:
  bool level_ = false;
};

struct Harness {
  EdgeCheckingLine irq;
  std::unique_ptr<Uart8250> uart;
  // The guest's view, mirrored from what it wrote.
  uint8_t lcr = 0, mcr = 0;
  std::string expected;  // THR bytes that must reach the line, in order
  size_t sink_pos = 0;   // how much of `expected` the sink took
  size_t observed = 0;   // how much of it the observer saw
  bool observing = false;
  std::vector<uint16_t> takes;  // the sink's script
  size_t next_take = 0;
  std::string pending;  // input a room callback feeds
  int feeds = 0;
  // Budgets: every THR write costs (the UART's locks, coverage tracing), so
  // plain bursts may write 8 KiB per input -- enough to fill the 4 KiB
  // transmit buffer -- and one "magic" burst per input goes past
  // kTransmitHardLimit.
  size_t thr_bytes = 0;
  bool magic_used = false;

  size_t Sink(absl::Span<const uint8_t> data) {
    Check(!data.empty());
    size_t take = data.size();
    if (!takes.empty()) {
      take = std::min<size_t>(take, takes[next_take++ % takes.size()]);
    }
    if (uart->transmit_dropped() == 0) {
      // What is offered continues exactly where the sink stopped.
      Check(sink_pos + data.size() <= expected.size());
      Check(std::memcmp(data.data(), expected.data() + sink_pos, data.size()) ==
            0);
    }
    sink_pos += take;
    return take;
  }

  void Observe(absl::Span<const uint8_t> data) {
    Check(data.size() == 1);
    Check(observed < expected.size() &&
          static_cast<uint8_t>(expected[observed]) == data[0]);
    ++observed;
  }

  // Mirrors a byte write at `off`; returns after doing it.
  void WriteByte(uint64_t off, uint8_t v) {
    bool thr = off == 0 && !(lcr & 0x80) && !(mcr & 0x10);
    if (thr) {
      expected.push_back(static_cast<char>(v));
      if (!observing) observed = expected.size();
    }
    if (off == 3) lcr = v;
    if (off == 4) mcr = v & 0x1f;
    uart->Write(off, &v, 1);
  }

  void Feed(const std::string& bytes) {
    size_t room = uart->InputRoom();
    size_t taken = uart->ReceiveInput(absl::MakeConstSpan(
        reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    Check(taken == std::min(room, bytes.size()));
  }

  void Op(FuzzInput& in) {
    switch (in.U8() % 10) {
      case 0: {  // byte write
        uint64_t off = in.U8() % 9;
        WriteByte(off, in.U8());
        break;
      }
      case 1: {  // byte read
        uint8_t v;
        uart->Read(in.U8() % 9, &v, 1);
        break;
      }
      case 2: {  // wide access: split into bytes at consecutive offsets
        uint64_t off = in.U8() % 12;
        uint32_t size = 2u << (in.U8() % 3);
        uint64_t value = in.U64();
        uint8_t buf[8];
        std::memcpy(buf, &value, 8);
        if (in.Bool()) {
          for (uint32_t i = 0; i < size; ++i) {
            if (off + i < 8) {
              bool thr = off + i == 0 && !(lcr & 0x80) && !(mcr & 0x10);
              if (thr) {
                expected.push_back(static_cast<char>(buf[i]));
                if (!observing) observed = expected.size();
              }
              if (off + i == 3) lcr = buf[i];
              if (off + i == 4) mcr = buf[i] & 0x1f;
            }
          }
          uart->Write(off, buf, size);
        } else {
          uart->Read(off, buf, size);
        }
        break;
      }
      case 3:
        Feed(in.LengthPrefixed(64));
        break;
      case 4:
        (void)uart->ReceiveBreak(in.U8());
        break;
      case 5:
        uart->TransmitRoom();
        break;
      case 6: {  // the sink's script
        takes.assign(in.U8() % 8, 0);
        for (uint16_t& t : takes) t = in.Bool() ? in.U8() % 3 : in.U16();
        next_take = 0;
        break;
      }
      case 7:
        observing = in.Bool();
        observed = expected.size();
        if (observing) {
          uart->SetTransmitObserver(
              [this](absl::Span<const uint8_t> d) { Observe(d); });
        } else {
          uart->SetTransmitObserver(nullptr);
        }
        break;
      case 8:
        pending = in.LengthPrefixed(32);
        feeds = in.U8() % 4;
        uart->SetRoomCallback([this] {
          Check(uart->InputRoom() > 0);
          if (feeds > 0) {
            --feeds;
            Feed(pending);
          }
        });
        break;
      default: {  // a burst of THR writes (a guest printing)
        uint16_t magic = in.U16();
        uint32_t n;
        if (magic == 0xbeef && !magic_used) {
          magic_used = true;
          n = Uart8250::kTransmitHardLimit + in.U16() % 8192;
        } else {
          n = magic % 300;
          if (thr_bytes + n > 8192) break;
          thr_bytes += n;
        }
        uint8_t c = in.U8();
        for (uint32_t i = 0; i < n; ++i) {
          WriteByte(0, static_cast<uint8_t>(c + i));
          if (i % 512 == 0) {
            uint8_t lsr;
            uart->Read(5, &lsr, 1);
          }
        }
        break;
      }
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
  if (in.U8() & 1) {
    h.uart = std::make_unique<Uart8250>(&h.irq, nullptr);  // output discarded
    h.expected.clear();
  } else {
    h.uart = std::make_unique<Uart8250>(
        &h.irq, [&h](absl::Span<const uint8_t> d) { return h.Sink(d); });
  }
  for (int ops = 0; ops < 1024 && !in.empty(); ++ops) h.Op(in);
  // Everything the sink took was written; the rest is still held.
  Check(h.sink_pos <= h.expected.size() || h.uart->transmit_dropped() > 0);
  if (Debug()) {
    std::fprintf(stderr, "written %zu taken %zu observed %zu dropped %lu\n",
                 h.expected.size(), h.sink_pos, h.observed,
                 h.uart->transmit_dropped());
  }
  return 0;
}
