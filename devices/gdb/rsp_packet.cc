#include "devices/gdb/rsp_packet.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "devices/gdb/hex.h"

namespace kuml {
namespace {

constexpr char kEscape = '}';
constexpr char kRunLength = '*';
// The count byte of a run is the number of extra copies plus this.
constexpr int kRunLengthBias = 29;

// Expands the runs of `raw` (on the bytes as sent, as gdb's reader does)
// into `out`; false with `why` set if malformed, or if longer than `max`.
bool ExpandRuns(absl::string_view raw, size_t max, std::string* out,
                bool* oversized, std::string* why) {
  out->clear();
  out->reserve(std::min(raw.size(), max));
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c != kRunLength) {
      // The bytes up to the next run in one go.
      const size_t next = std::min(raw.find(kRunLength, i), raw.size());
      if (next - i > max - out->size()) {
        *oversized = true;
        return false;
      }
      out->append(raw.data() + i, next - i);
      i = next - 1;
      continue;
    }
    if (out->empty()) {
      *why = "run-length marker '*' with no byte before it";
      return false;
    }
    if (i + 1 == raw.size()) {
      *why = "run-length marker '*' without a count";
      return false;
    }
    const int count = static_cast<uint8_t>(raw[++i]) - kRunLengthBias;
    if (count < 0) {
      *why = absl::StrFormat("run-length count byte %#x is below %d",
                             static_cast<uint8_t>(raw[i]), kRunLengthBias);
      return false;
    }
    if (static_cast<size_t>(count) > max - out->size()) {
      *oversized = true;
      return false;
    }
    out->append(static_cast<size_t>(count), out->back());
  }
  return true;
}

// Undoes the binary escapes of `data` in place; false if it ends in one.
bool Unescape(std::string* data) {
  size_t r = data->find(kEscape);
  if (r == std::string::npos) return true;
  char* const p = data->data();
  const size_t size = data->size();
  size_t w = r;
  for (; r < size; ++r) {
    char c = p[r];
    if (c == kEscape) {
      if (++r == size) return false;
      c = static_cast<char>(p[r] ^ 0x20);
    }
    p[w++] = c;
  }
  data->resize(w);
  return true;
}

}  // namespace

uint8_t RspChecksum(absl::string_view data) {
  uint8_t sum = 0;
  for (char c : data) sum += static_cast<uint8_t>(c);
  return sum;
}

std::string EncodeRspPacket(absl::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 4);
  out.push_back('$');
  size_t i = 0;
  while (i < payload.size()) {
    // Plain bytes up to the next one to escape, in one go.
    const size_t next =
        std::min(payload.find_first_of("$#}*", i), payload.size());
    out.append(payload.data() + i, next - i);
    if (next == payload.size()) break;
    out.push_back(kEscape);
    out.push_back(static_cast<char>(payload[next] ^ 0x20));
    i = next + 1;
  }
  const uint8_t sum = RspChecksum(absl::string_view(out).substr(1));
  out += absl::StrFormat("#%02x", sum);
  return out;
}

void RspDecoder::Reset() {
  no_ack_mode_ = false;
  state_ = State::kIdle;
  raw_.clear();
  overflow_ = false;
}

void RspDecoder::Feed(absl::string_view bytes, std::vector<RspEvent>* events,
                      std::string* acks) {
  while (!bytes.empty()) {
    std::optional<RspEvent> event;
    bytes.remove_prefix(Next(bytes, &event, acks));
    if (event.has_value()) events->push_back(std::move(*event));
  }
}

size_t RspDecoder::Next(absl::string_view bytes, std::optional<RspEvent>* event,
                        std::string* acks) {
  const char* const data = bytes.data();
  const size_t size = bytes.size();
  for (size_t i = 0; i < size; ++i) {
    const char c = data[i];
    switch (state_) {
      case State::kIdle:
        if (c == '$') {
          state_ = State::kData;
          raw_.clear();
          overflow_ = false;
          sum_ = 0;
        } else if (c == kRspInterrupt) {
          *event = RspEvent{RspEvent::Type::kInterrupt, ""};
          return i + 1;
        } else if (c == '-') {
          *event = RspEvent{RspEvent::Type::kNack, ""};
          return i + 1;
        }
        break;  // anything else between packets is ignored
      case State::kData:
        if (c == '#') {
          state_ = State::kChecksumHigh;
        } else if (c == '$') {  // the packet before was cut short
          raw_.clear();
          overflow_ = false;
          sum_ = 0;
        } else {
          // The data up to the next '#' or '$' in one go.
          size_t end = i;
          while (end < size && data[end] != '#' && data[end] != '$') {
            sum_ += static_cast<uint8_t>(data[end]);
            ++end;
          }
          const size_t room = max_packet_size_ - raw_.size();
          if (end - i > room) overflow_ = true;
          raw_.append(data + i, std::min(end - i, room));
          i = end - 1;
        }
        break;
      case State::kChecksumHigh: {
        const int d = HexDigitValue(c);
        sent_sum_ = d < 0 ? -1 : d << 4;
        state_ = State::kChecksumLow;
        break;
      }
      case State::kChecksumLow: {
        const int d = HexDigitValue(c);
        sent_sum_ = (sent_sum_ < 0 || d < 0) ? -1 : (sent_sum_ | d);
        state_ = State::kIdle;
        Finish(event, acks);
        if (event->has_value()) return i + 1;
        break;
      }
    }
  }
  return bytes.size();
}

void RspDecoder::Finish(std::optional<RspEvent>* event_out, std::string* acks) {
  if (!no_ack_mode_) {
    if (sent_sum_ != sum_) {
      acks->push_back('-');
      raw_.clear();
      return;
    }
    acks->push_back('+');
  }
  if (overflow_) {
    *event_out = RspEvent{RspEvent::Type::kOversized, ""};
    raw_.clear();
    return;
  }
  RspEvent event{RspEvent::Type::kPacket, ""};
  bool oversized = false;
  std::string why;
  if (!ExpandRuns(raw_, max_packet_size_, &event.data, &oversized, &why)) {
    event.type =
        oversized ? RspEvent::Type::kOversized : RspEvent::Type::kMalformed;
    event.data = why;
  } else if (!Unescape(&event.data)) {
    event.type = RspEvent::Type::kMalformed;
    event.data = "escape '}' at the end of the packet";
  }
  raw_.clear();
  *event_out = std::move(event);
}

}  // namespace kuml
