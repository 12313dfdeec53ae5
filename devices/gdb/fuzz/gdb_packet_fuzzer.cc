// libFuzzer target: a hostile debugger. The input is the byte stream a
// debugger sends (after one control byte), fed in chunks to a GdbServer
// over a FakeDebugTarget with real guest memory and page tables; resumes
// stop at once or wait for a Ctrl-C, as the control byte says. A session
// that ends (D, k, exit) is reconnected and the stream goes on.
//
// Beyond not crashing (ASan/UBSan) or growing without bound:
//  - everything the server sends is acks and well-formed packets with
//    good checksums, nothing half-sent;
//  - every packet the decoder takes from the input survives an
//    encode/decode round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "devices/gdb/gdb_server.h"
#include "devices/gdb/hex.h"
#include "devices/gdb/rsp_packet.h"
#include "devices/gdb/testing/fake_debug_target.h"

namespace {

using kuml::RspDecoder;
using kuml::RspEvent;

void Check(bool ok) {
  if (!ok) std::abort();
}

// The server's output: acks ('+', '-') and "$data#cs" packets with good
// checksums whose data holds no unescaped '$', '#' or '*'.
void CheckOutput(const std::string& wire) {
  size_t i = 0;
  while (i < wire.size()) {
    const char c = wire[i];
    if (c == '+' || c == '-') {
      ++i;
      continue;
    }
    Check(c == '$');
    const size_t end = wire.find('#', i);
    Check(end != std::string::npos && end + 2 < wire.size());
    const absl::string_view body(wire.data() + i + 1, end - i - 1);
    Check(body.find_first_of("$*") == absl::string_view::npos);
    const int hi = kuml::HexDigitValue(wire[end + 1]);
    const int lo = kuml::HexDigitValue(wire[end + 2]);
    Check(hi >= 0 && lo >= 0 && kuml::RspChecksum(body) == (hi << 4 | lo));
    i = end + 3;
  }
}

// Packets decoded from the input encode and decode back to themselves.
void CheckRoundTrip(const uint8_t* data, size_t size) {
  RspDecoder decoder;
  decoder.set_no_ack_mode(true);
  std::vector<RspEvent> events;
  std::string acks;
  decoder.Feed(absl::string_view(reinterpret_cast<const char*>(data), size),
               &events, &acks);
  int checked = 0;
  for (const RspEvent& e : events) {
    if (e.type != RspEvent::Type::kPacket) continue;
    if (++checked > 16) break;  // enough; the rest costs without finding more
    RspDecoder again;
    std::vector<RspEvent> back;
    std::string back_acks;
    again.Feed(kuml::EncodeRspPacket(e.data), &back, &back_acks);
    Check(back_acks == "+");
    Check(back.size() == 1 && back[0].type == RspEvent::Type::kPacket &&
          back[0].data == e.data);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t control = data[0];
  ++data;
  --size;
  CheckRoundTrip(data, size);

  // One fake for all inputs (building it is slow); reset before each, and
  // its RAM restored after any input that wrote to it.
  static kuml::FakeDebugTarget* const fake =
      kuml::FakeDebugTarget::Create(3).value().release();
  static const std::vector<uint8_t>* const pristine = [] {
    auto* ram = new std::vector<uint8_t>(fake->memory().ram_bytes());
    Check(fake->memory().Read(0, ram->data(), ram->size()).ok());
    return ram;
  }();
  static uint64_t writes_seen = 0;
  if (fake->memory_writes() != writes_seen) {
    Check(fake->memory().Write(0, pristine->data(), pristine->size()).ok());
    writes_seen = fake->memory_writes();
  }
  fake->Reset();
  const bool stop_at_once = (control & 0x80) == 0;
  fake->set_interrupt_stops(true);
  int resumes = 0;
  fake->on_resume = [&](absl::Span<const kuml::ResumeAction> actions) {
    ++resumes;
    if (!stop_at_once) return;  // runs until Ctrl-C
    for (size_t i = 0; i < actions.size(); ++i) {
      if (actions[i] == kuml::ResumeAction::kStep) {
        fake->ReportStop(kuml::StopEvent::SingleStep(static_cast<int>(i) + 1));
        return;
      }
    }
    switch (resumes % 4) {
      case 0:
        fake->ReportStop(kuml::StopEvent::Breakpoint(2));
        break;
      case 1:
        fake->ReportStop(
            kuml::StopEvent::Watchpoint(3, kuml::FakeDebugTarget::kDataBase,
                                        kuml::BreakpointType::kAccessWatch));
        break;
      case 2:
        fake->ReportStop(kuml::StopEvent::HardwareBreakpoint(1));
        break;
      default:
        fake->ReportStop(kuml::StopEvent::Exited(resumes));
        break;
    }
  };
  if (control & 0x40) {
    fake->set_unsupported({kuml::BreakpointType::kReadWatch});
  }

  std::string wire;
  kuml::GdbServer server(
      fake, [&](absl::string_view b) { absl::StrAppend(&wire, b); });
  Check(server.Connect().ok());
  const size_t chunk = (control & 0x3f) + 1;
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty()) {
    const absl::string_view piece = in.substr(0, chunk);
    in.remove_prefix(piece.size());
    server.Receive(piece);
    server.DeliverStops();
    if (server.session_over()) {
      server.Disconnect();
      CheckOutput(wire);
      wire.clear();
      Check(server.Connect().ok());
    }
  }
  server.Disconnect();
  CheckOutput(wire);
  return 0;
}
