// libFuzzer target: UML's mconsole wire format (mconsole/wire.cc) and the
// command core behind it (mconsole/command_core.cc) over the scripted
// FakeGuestControl (mconsole/fake_guest_control.h).
//
// Input: u8 mode, then a series of u16-length-prefixed datagrams that go,
// in order, to one CommandCore (so stop/go and config/remove state carries
// over between them):
//   mode % 4 == 0: each datagram through DecodeRequest as the legacy socket
//                  receives it; commands that decode are executed;
//   mode % 4 == 1: each datagram is command text, sent through
//                  EncodeRequest -> DecodeRequest first;
//   mode % 4 == 2: each datagram through DecodeReply (a client's side);
//   mode % 4 == 3: each datagram through EncodeNotify with type = its first
//                  byte.
// Checks beyond ASan/UBSan: every packet fits UML's struct, a decoded
// request's command never holds a NUL and is under 512 bytes, an encoded
// request decodes back to its command, and every reply splits into packets
// that DecodeReply reads back to the reply's text with `more` on all but the
// last.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mconsole/command_core.h"
#include "mconsole/fake_guest_control.h"
#include "mconsole/reply.h"
#include "mconsole/wire.h"
#include "tests/fuzz/fuzz_input.h"

namespace kuml {
namespace fuzz {
namespace {

using namespace ::kuml::mconsole;  // NOLINT

absl::Span<const uint8_t> AsBytes(const std::string& s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()),
                             s.size());
}

void CheckReplyRoundTrip(const Reply& reply) {
  std::vector<std::string> packets = EncodeReply(reply.err, reply.text);
  Check(!packets.empty());
  std::string text;
  for (size_t i = 0; i < packets.size(); ++i) {
    Check(packets[i].size() <= kMaxReplyBytes);
    ReplyPacket p;
    Check(DecodeReply(AsBytes(packets[i]), &p));
    Check(p.err == reply.err);
    Check(p.more == (i + 1 < packets.size()));
    text += p.data;
  }
  // A NUL inside the text ends its packet's data early (as in C).
  if (reply.text.find('\0') == std::string::npos) Check(text == reply.text);
}

void Run(CommandCore& core, const std::string& command) {
  Outcome outcome = core.Execute(command);
  CheckReplyRoundTrip(outcome.reply);
  Check(outcome.reply.ok() == (outcome.reply.code == absl::StatusCode::kOk));
  outcome.Finish();
}

void Datagram(CommandCore& core, const std::string& datagram) {
  DecodedRequest d = DecodeRequest(AsBytes(datagram));
  for (const std::string& early : d.early_replies) {
    Check(early.size() <= kMaxReplyBytes);
  }
  Check(d.execute || !d.early_replies.empty());
  if (!d.execute) return;
  Check(d.command.size() < kMaxData);
  Check(d.command.find('\0') == std::string::npos);
  Run(core, d.command);
}

}  // namespace
}  // namespace fuzz
}  // namespace kuml

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuml;            // NOLINT
  using namespace kuml::fuzz;      // NOLINT
  using namespace kuml::mconsole;  // NOLINT
  FuzzInput in(data, size);
  FakeGuestControl control;
  CommandCore core(&control);
  const uint8_t mode = in.U8() % 4;
  for (int n = 0; n < 64 && !in.empty(); ++n) {
    std::string d = in.LengthPrefixed(2048, true);
    switch (mode) {
      case 0:
        Datagram(core, d);
        break;
      case 1: {
        const uint32_t version = d.size() > 600 ? 1 : kProtocolVersion;
        std::string packet = EncodeRequest(d, version);
        Check(packet.size() == kRequestBytes);
        DecodedRequest r = DecodeRequest(AsBytes(packet));
        if (d.size() < kMaxData) {
          Check(r.execute);
          Check(r.command == d.substr(0, d.find('\0')));
        } else {
          Check(!r.execute);  // "Request too large"
        }
        Datagram(core, packet);
        break;
      }
      case 2: {
        ReplyPacket p;
        if (DecodeReply(AsBytes(d), &p)) {
          Check(d.size() >= kReplyHeaderBytes);
          Check(p.data.size() < kMaxData + 1);
          Check(p.data.find('\0') == std::string::npos);
        }
        break;
      }
      default: {
        NotifyType type =
            static_cast<NotifyType>(d.empty() ? 0 : uint8_t(d[0]) % 4);
        std::string packet = EncodeNotify(type, d);
        Check(packet.size() <= 16 + kMaxData);
        break;
      }
    }
  }
  return 0;
}
