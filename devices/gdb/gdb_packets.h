// The arguments of gdb remote protocol packets, parsed strictly (a
// debugger's packets are outside input), and the stop replies the stub
// sends: the pure half of GdbServer, with no state.
//
// Numbers are hex. Thread ids: "-1" (all threads), "0" (any thread) or a
// positive id; the multiprocess form "p<pid>.<tid>" is refused (the stub
// does not offer multiprocess+).
#ifndef KUML_DEVICES_GDB_GDB_PACKETS_H_
#define KUML_DEVICES_GDB_GDB_PACKETS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "devices/gdb/debug_target.h"

namespace kuml {

inline constexpr int kAllThreads = -1;
inline constexpr int kAnyThread = 0;

// A thread id: kAllThreads, kAnyThread or 1..INT_MAX.
absl::StatusOr<int> ParseThreadId(absl::string_view text);

// "addr,length" (m, and the head of M and X).
struct MemoryRange {
  uint64_t address = 0;
  uint64_t length = 0;
};
absl::StatusOr<MemoryRange> ParseMemoryRange(absl::string_view text);

// "addr,length:data" of M (hex data) and X (binary data, already
// unescaped); the data must be `length` bytes.
struct MemoryWrite {
  uint64_t address = 0;
  std::vector<uint8_t> data;
};
absl::StatusOr<MemoryWrite> ParseMemoryWrite(absl::string_view text,
                                             bool binary);

// "type,addr,kind" of Z and z, with any ";cond..." after it ignored (the
// stub does not offer ConditionalBreakpoints).
struct BreakpointRequest {
  BreakpointType type = BreakpointType::kSoftware;
  uint64_t address = 0;
  uint64_t kind = 0;
};
absl::StatusOr<BreakpointRequest> ParseBreakpoint(absl::string_view text);

// "n=value" of P: register number and its bytes.
struct RegisterWrite {
  uint64_t regnum = 0;
  std::vector<uint8_t> value;
};
absl::StatusOr<RegisterWrite> ParseRegisterWrite(absl::string_view text);

// The actions of "vCont;<action>[:<thread>]...", after "vCont": c, C<sig>,
// s, S<sig>, t (signals are accepted and ignored: there is nothing to
// deliver them to). An action without a thread applies to every thread not
// named before it; each thread takes the leftmost action that names it.
// Returns one action per thread (index thread - 1); threads no action
// applies to stay stopped. InvalidArgument for a malformed action or a
// thread outside 1..thread_count.
absl::StatusOr<std::vector<ResumeAction>> ParseVCont(absl::string_view text,
                                                     int thread_count);

// "<annex>:<offset>,<length>" of qXfer:<object>:read.
struct XferRead {
  std::string annex;
  uint64_t offset = 0;
  uint64_t length = 0;
};
absl::StatusOr<XferRead> ParseXferRead(absl::string_view text);

// The stop reply for `event`: T05 with "swbreak:;"/"hwbreak:;" (only when
// the debugger said it understands them) or "watch/rwatch/awatch:<addr>;",
// T02 (SIGINT) for an interrupt, W<code> for an exit; "thread:<id>;" in
// every T reply.
std::string StopReply(const StopEvent& event, bool swbreak, bool hwbreak);

}  // namespace kuml

#endif  // KUML_DEVICES_GDB_GDB_PACKETS_H_
