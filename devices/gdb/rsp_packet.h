// The framing of gdb's remote serial protocol (RSP): packets
// `$<data>#<two hex digits of checksum>` on a byte stream, each acknowledged
// with '+' (good) or '-' (send again) until both sides agree on no-ack mode
// (QStartNoAckMode), and the lone byte 0x03 a debugger sends to interrupt a
// running target.
//
// RspDecoder turns the debugger's bytes, in chunks of any size, into events.
// A hostile or broken debugger is outside input; the decoder:
//  - verifies each checksum: in ack mode it answers '+' and reports the
//    packet, or answers '-' and drops it (the debugger sends it again); in
//    no-ack mode it answers nothing and reports the packet even with a bad
//    checksum (what gdbserver does: nobody would resend it, and the stream
//    under no-ack mode is reliable);
//  - expands run-length encoding (`X*n`: n - 29 more copies of the byte
//    before, as gdb's own reader does, on the data as sent) and then undoes
//    binary escapes (`}` followed by the byte xor 0x20). Both apply to every
//    packet: in text packets '}' and '*' never occur;
//  - reports 0x03 between packets as an interrupt (inside a packet it is
//    data: binary X packets carry it raw);
//  - ignores anything else between packets (line noise, the debugger's
//    '+'), except '-', a request to send the last packet again;
//  - starts over at a '$' inside a packet (the debugger escapes '$' in data,
//    so the packet before was cut short);
//  - holds at most `max_packet_size` bytes of a packet, sent or expanded: a
//    longer packet is read to its end, acknowledged and reported as
//    oversized, for the server to answer with an error;
//  - reports a malformed packet (RLE without a byte before it or with a
//    count byte below 29, an escape at the end) instead of guessing.
//
// EncodeRspPacket frames a reply: it escapes '$', '#', '}' and '*' (only
// binary replies contain them) and appends the checksum. It never
// compresses.
//
// Not thread-safe; one decoder per connection.
#ifndef KUML_DEVICES_GDB_RSP_PACKET_H_
#define KUML_DEVICES_GDB_RSP_PACKET_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace kuml {

// The largest packet (data between '$' and '#', and the same data expanded)
// the stub takes; advertised to the debugger as PacketSize.
inline constexpr size_t kRspMaxPacketSize = 64 * 1024;

// The interrupt byte (Ctrl-C).
inline constexpr char kRspInterrupt = 0x03;

struct RspEvent {
  enum class Type {
    kPacket,     // a complete packet; `data` is its decoded payload
    kInterrupt,  // 0x03 between packets
    kNack,       // '-': the debugger wants the last packet again
    kMalformed,  // a packet that cannot be decoded; `data` says why
    kOversized,  // a packet beyond the maximum size; dropped
  };
  Type type;
  std::string data;
};

class RspDecoder {
 public:
  explicit RspDecoder(size_t max_packet_size = kRspMaxPacketSize)
      : max_packet_size_(max_packet_size) {}

  // Consumes `bytes` up to and including the first byte that completes an
  // event, which it stores in `*event` (left alone if none completed), and
  // appends the acknowledgements to send ('+'/'-', none in no-ack mode) to
  // `acks`. Returns the number of bytes consumed: feed the rest after
  // handling the event (its handling may switch to no-ack mode).
  size_t Next(absl::string_view bytes, std::optional<RspEvent>* event,
              std::string* acks);

  // Consumes all of `bytes`, appending every event to `events`.
  void Feed(absl::string_view bytes, std::vector<RspEvent>* events,
            std::string* acks);

  // After the reply to QStartNoAckMode: no more acknowledgements.
  void set_no_ack_mode(bool on) { no_ack_mode_ = on; }
  bool no_ack_mode() const { return no_ack_mode_; }

  // Back to the start of a connection: no partial packet, ack mode.
  void Reset();

 private:
  enum class State { kIdle, kData, kChecksumHigh, kChecksumLow };

  // The packet whose checksum just arrived.
  void Finish(std::optional<RspEvent>* event, std::string* acks);

  const size_t max_packet_size_;
  bool no_ack_mode_ = false;
  State state_ = State::kIdle;
  std::string raw_;        // data as sent, between '$' and '#'
  bool overflow_ = false;  // raw_ stopped growing at the maximum
  uint8_t sum_ = 0;        // running checksum of the data
  int sent_sum_ = 0;       // the checksum as sent, -1 if not hex
};

// The checksum of `data`: the sum of its bytes modulo 256.
uint8_t RspChecksum(absl::string_view data);

// `$<payload, escaped>#<checksum>`.
std::string EncodeRspPacket(absl::string_view payload);

}  // namespace kuml

#endif  // KUML_DEVICES_GDB_RSP_PACKET_H_
