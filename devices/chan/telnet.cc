#include "devices/chan/telnet.h"

namespace kuml {
namespace {

bool IsOurs(uint8_t command, uint8_t option) {
  // What the greeting proposed: we WILL echo and suppress go-ahead, and we
  // asked the client to suppress go-ahead. Agreement needs no answer.
  if (command == kTelnetDo || command == kTelnetDont) {
    return option == kTelnetOptEcho || option == kTelnetOptSga;
  }
  return option == kTelnetOptSga;
}

}  // namespace

std::string TelnetGreeting() {
  const uint8_t bytes[] = {kTelnetIac, kTelnetWill, kTelnetOptEcho,
                           kTelnetIac, kTelnetWill, kTelnetOptSga,
                           kTelnetIac, kTelnetDo,   kTelnetOptSga};
  return std::string(reinterpret_cast<const char*>(bytes), sizeof bytes);
}

std::string TelnetEscape(absl::Span<const uint8_t> data) {
  std::string out;
  out.reserve(data.size());
  for (uint8_t b : data) {
    out.push_back(static_cast<char>(b));
    if (b == kTelnetIac) out.push_back(static_cast<char>(kTelnetIac));
  }
  return out;
}

void TelnetDecoder::Decode(absl::Span<const uint8_t> in, std::string* data,
                           std::string* reply) {
  for (uint8_t b : in) {
    switch (state_) {
      case State::kData:
        if (b == kTelnetIac) {
          state_ = State::kIac;
          break;
        }
        if (after_cr_ && (b == '\n' || b == '\0')) {
          after_cr_ = false;
          break;
        }
        after_cr_ = b == '\r';
        data->push_back(static_cast<char>(b));
        break;
      case State::kIac:
        if (b == kTelnetIac) {  // an escaped 0xff data byte
          after_cr_ = false;
          data->push_back(static_cast<char>(b));
          state_ = State::kData;
        } else if (b >= kTelnetWill && b <= kTelnetDont) {
          command_ = b;
          state_ = State::kOption;
        } else if (b == kTelnetSb) {
          state_ = State::kSub;
        } else {
          state_ = State::kData;  // NOP, GA, AYT, ...: nothing to do
        }
        break;
      case State::kOption:
        if (!IsOurs(command_, b) &&
            (command_ == kTelnetDo || command_ == kTelnetWill)) {
          reply->push_back(static_cast<char>(kTelnetIac));
          reply->push_back(static_cast<char>(
              command_ == kTelnetDo ? kTelnetWont : kTelnetDont));
          reply->push_back(static_cast<char>(b));
        }
        state_ = State::kData;
        break;
      case State::kSub:
        if (b == kTelnetIac) state_ = State::kSubIac;
        break;
      case State::kSubIac:
        state_ = b == kTelnetSe ? State::kData : State::kSub;
        break;
    }
  }
}

}  // namespace kuml
