// The little of the telnet protocol (RFC 854/857/858) kuml's `port:`
// channel speaks, so that a stock `telnet host port` client gets a
// character-at-a-time, guest-echoed terminal, as UML's in.telnetd gives.
//
// The server opens with WILL ECHO, WILL SUPPRESS-GO-AHEAD and DO
// SUPPRESS-GO-AHEAD, which puts clients in character mode; it refuses every
// other option either side proposes. Client-to-guest data loses the telnet
// commands and the NVT end-of-line pairs CR LF / CR NUL become a lone CR (a
// guest tty in cooked mode maps it to NL); guest-to-client data has 0xff
// doubled. No further translation: the guest's tty does ONLCR itself.
#ifndef KUML_DEVICES_CHAN_TELNET_H_
#define KUML_DEVICES_CHAN_TELNET_H_

#include <cstdint>
#include <string>

#include "absl/types/span.h"

namespace kuml {

inline constexpr uint8_t kTelnetIac = 255;
inline constexpr uint8_t kTelnetDont = 254;
inline constexpr uint8_t kTelnetDo = 253;
inline constexpr uint8_t kTelnetWont = 252;
inline constexpr uint8_t kTelnetWill = 251;
inline constexpr uint8_t kTelnetSb = 250;
inline constexpr uint8_t kTelnetSe = 240;
inline constexpr uint8_t kTelnetOptEcho = 1;
inline constexpr uint8_t kTelnetOptSga = 3;

// The server's opening negotiation.
std::string TelnetGreeting();

// Guest bytes -> wire bytes (IAC doubled).
std::string TelnetEscape(absl::Span<const uint8_t> data);

// Client bytes -> guest bytes, across arbitrary chunk boundaries.
class TelnetDecoder {
 public:
  // Appends the user's data in `in` to `data` and what the protocol
  // requires us to answer (refusals) to `reply`.
  void Decode(absl::Span<const uint8_t> in, std::string* data,
              std::string* reply);

 private:
  enum class State { kData, kIac, kOption, kSub, kSubIac };
  State state_ = State::kData;
  uint8_t command_ = 0;    // WILL/WONT/DO/DONT awaiting its option byte
  bool after_cr_ = false;  // drop a NUL or LF right after CR
};

}  // namespace kuml

#endif  // KUML_DEVICES_CHAN_TELNET_H_
