#include "devices/gdb/gdb_packets.h"

#include <climits>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "devices/gdb/hex.h"

namespace kuml {
namespace {

// Splits `text` at the first `sep` into `head` and `tail`.
bool Cut(absl::string_view text, char sep, absl::string_view* head,
         absl::string_view* tail) {
  const size_t at = text.find(sep);
  if (at == absl::string_view::npos) return false;
  *head = text.substr(0, at);
  *tail = text.substr(at + 1);
  return true;
}

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed ", what));
}

}  // namespace

absl::StatusOr<int> ParseThreadId(absl::string_view text) {
  if (text == "-1") return kAllThreads;
  absl::StatusOr<uint64_t> id = ParseHexNumber(text);
  if (!id.ok() || *id > INT_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad thread id '", text.substr(0, 20), "'"));
  }
  return static_cast<int>(*id);
}

absl::StatusOr<MemoryRange> ParseMemoryRange(absl::string_view text) {
  absl::string_view addr, len;
  if (!Cut(text, ',', &addr, &len)) return Malformed("address,length");
  absl::StatusOr<uint64_t> a = ParseHexNumber(addr);
  absl::StatusOr<uint64_t> n = ParseHexNumber(len);
  if (!a.ok() || !n.ok()) return Malformed("address,length");
  return MemoryRange{*a, *n};
}

absl::StatusOr<MemoryWrite> ParseMemoryWrite(absl::string_view text,
                                             bool binary) {
  absl::string_view range_text, data;
  if (!Cut(text, ':', &range_text, &data)) {
    return Malformed("memory write (no ':')");
  }
  absl::StatusOr<MemoryRange> range = ParseMemoryRange(range_text);
  if (!range.ok()) return range.status();
  MemoryWrite out;
  out.address = range->address;
  if (binary) {
    out.data.assign(data.begin(), data.end());
  } else {
    absl::StatusOr<std::vector<uint8_t>> bytes = HexDecode(data);
    if (!bytes.ok()) return bytes.status();
    out.data = std::move(*bytes);
  }
  if (out.data.size() != range->length) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "memory write of %u bytes carries %u", range->length, out.data.size()));
  }
  return out;
}

absl::StatusOr<BreakpointRequest> ParseBreakpoint(absl::string_view text) {
  absl::string_view args, conditions;
  if (!Cut(text, ';', &args, &conditions)) args = text;
  std::vector<absl::string_view> parts = absl::StrSplit(args, ',');
  if (parts.size() != 3 || parts[0].size() != 1 || parts[0][0] < '0' ||
      parts[0][0] > '4') {
    return Malformed("breakpoint (type,address,kind)");
  }
  absl::StatusOr<uint64_t> addr = ParseHexNumber(parts[1]);
  absl::StatusOr<uint64_t> kind = ParseHexNumber(parts[2]);
  if (!addr.ok() || !kind.ok()) return Malformed("breakpoint address or kind");
  return BreakpointRequest{static_cast<BreakpointType>(parts[0][0] - '0'),
                           *addr, *kind};
}

absl::StatusOr<RegisterWrite> ParseRegisterWrite(absl::string_view text) {
  absl::string_view num, value;
  if (!Cut(text, '=', &num, &value)) return Malformed("register write");
  absl::StatusOr<uint64_t> n = ParseHexNumber(num);
  if (!n.ok()) return Malformed("register number");
  absl::StatusOr<std::vector<uint8_t>> bytes = HexDecode(value);
  if (!bytes.ok()) return bytes.status();
  return RegisterWrite{*n, std::move(*bytes)};
}

absl::StatusOr<std::vector<ResumeAction>> ParseVCont(absl::string_view text,
                                                     int thread_count) {
  if (text.empty() || text[0] != ';') return Malformed("vCont (no action)");
  std::vector<ResumeAction> actions(thread_count, ResumeAction::kStop);
  std::vector<bool> decided(thread_count, false);
  for (absl::string_view item : absl::StrSplit(text.substr(1), ';')) {
    absl::string_view verb = item, thread_text;
    const bool has_thread = Cut(item, ':', &verb, &thread_text);
    if (verb.empty()) return Malformed("vCont (empty action)");
    ResumeAction action;
    switch (verb[0]) {
      case 'c':
      case 'C':
        action = ResumeAction::kContinue;
        break;
      case 's':
      case 'S':
        action = ResumeAction::kStep;
        break;
      case 't':
        action = ResumeAction::kStop;
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("vCont action '", absl::CHexEscape(verb.substr(0, 8)),
                         "' is not supported"));
    }
    const bool takes_signal = verb[0] == 'C' || verb[0] == 'S';
    if (takes_signal ? !ParseHexNumber(verb.substr(1)).ok() || verb.size() > 3
                     : verb.size() != 1) {
      return Malformed("vCont action");
    }
    int first = 1, last = thread_count;
    if (has_thread) {
      absl::StatusOr<int> id = ParseThreadId(thread_text);
      if (!id.ok()) return id.status();
      if (*id != kAllThreads) {
        if (*id < 1 || *id > thread_count) {
          return absl::InvalidArgumentError(
              absl::StrFormat("vCont names thread %d, which does not exist "
                              "(threads 1..%d)",
                              *id, thread_count));
        }
        first = last = *id;
      }
    }
    for (int t = first; t <= last; ++t) {
      if (decided[t - 1]) continue;
      decided[t - 1] = true;
      actions[t - 1] = action;
    }
  }
  return actions;
}

absl::StatusOr<XferRead> ParseXferRead(absl::string_view text) {
  absl::string_view annex, range_text;
  if (!Cut(text, ':', &annex, &range_text)) return Malformed("qXfer read");
  absl::StatusOr<MemoryRange> range = ParseMemoryRange(range_text);
  if (!range.ok()) return Malformed("qXfer offset,length");
  return XferRead{std::string(annex), range->address, range->length};
}

std::string StopReply(const StopEvent& event, bool swbreak, bool hwbreak) {
  const std::string thread = absl::StrCat(
      "thread:", HexNumber(static_cast<uint64_t>(event.thread)), ";");
  switch (event.reason) {
    case StopEvent::Reason::kBreakpoint:
      return absl::StrCat("T05", thread, swbreak ? "swbreak:;" : "");
    case StopEvent::Reason::kHardwareBreakpoint:
      return absl::StrCat("T05", thread, hwbreak ? "hwbreak:;" : "");
    case StopEvent::Reason::kWatchpoint: {
      const char* kind = "watch";
      if (event.watch_type == BreakpointType::kReadWatch) kind = "rwatch";
      if (event.watch_type == BreakpointType::kAccessWatch) kind = "awatch";
      return absl::StrCat("T05", kind, ":", HexNumber(event.watch_address), ";",
                          thread);
    }
    case StopEvent::Reason::kSingleStep:
      return absl::StrCat("T05", thread);
    case StopEvent::Reason::kInterrupted:
      return absl::StrCat("T02", thread);
    case StopEvent::Reason::kExited:
      return absl::StrFormat("W%02x", event.exit_code & 0xff);
  }
  return absl::StrCat("T05", thread);
}

}  // namespace kuml
