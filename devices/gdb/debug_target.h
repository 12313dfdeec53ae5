// DebugTarget: what the gdb stub (GdbServer) needs from the machine it
// debugs, and StopSink, how the machine tells it that the machine stopped.
// kuml implements DebugTarget over KVM (vCPU registers, guest-debug
// breakpoints and single-step, the page walk for memory); the stub's tests
// over a fake.
//
// The model is gdb's all-stop mode: the whole machine is either stopped or
// running. Threads are the vCPUs, numbered 1..thread_count() (gdb's thread
// ids; vCPU index + 1). Every call but Interrupt() is made while the
// machine is stopped, from the server's thread (the thread driving the
// connection; see gdb_server.h), one at a time.
//
//   Attach()      a debugger connected: stop every vCPU, wait until they
//                 are stopped, then return (the server reports this stop,
//                 thread 1, to the debugger's '?').
//   Resume(a)     start the machine: vCPU i+1 continues, single-steps or
//                 stays stopped as a[i] says. Returns once started; the
//                 target reports the next stop to the StopSink.
//   Interrupt()   the debugger pressed Ctrl-C while running: stop every
//                 vCPU, asynchronously (return at once; report the stop
//                 later, Reason::kInterrupted). Called from the server's
//                 thread while the machine runs.
//   Detach()      the debugger left (D packet, or its connection dropped):
//                 remove every breakpoint and watchpoint, clear
//                 single-step, let every vCPU run. No stop follows.
//   Kill()        the debugger killed the program (k packet): what that
//                 means for a VM is the target's choice (kuml: stop the
//                 machine as `halt` does). No stop follows; the
//                 connection is closed.
//
// Stops: when the machine stops after Resume() -- a breakpoint, watchpoint,
// completed single-step, Interrupt(), or the guest ended -- the target stops
// every vCPU, then calls StopSink::OnStop() once, from any thread, naming the
// vCPU that caused it. Further events met while stopping the others (two
// vCPUs hitting breakpoints at once) are the target's to keep for a later
// Resume() or to drop; the server reports one stop per resume and drops
// stops that arrive while it thinks the machine is stopped.
//
// Software breakpoints (Z0): the stub tells gdb it reports them with
// "swbreak", which obliges the target to report the vCPU's rip AT the
// breakpoint's address, not after the int3 (KVM's KVM_EXIT_DEBUG for #BP
// gives the int3's address). Reads of memory holding an inserted software
// breakpoint should show the original bytes (as gdbserver does).
//
// Errors: any non-OK Status is answered to the debugger with an 'E' packet
// (its message is not sent; the server keeps it in last_error()), except
// Unimplemented from Insert/RemoveBreakpoint, which is answered with the
// empty packet ("not supported": gdb then inserts software breakpoints
// itself with memory writes, or tells the user a watchpoint type is
// unavailable).
#ifndef KUML_DEVICES_GDB_DEBUG_TARGET_H_
#define KUML_DEVICES_GDB_DEBUG_TARGET_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "devices/gdb/x86_registers.h"

namespace kuml {

// Breakpoint kinds, numbered as gdb's Z/z packets number them.
enum class BreakpointType {
  kSoftware = 0,     // Z0: int3 at addr; kind 1 (the int3's length)
  kHardware = 1,     // Z1: execution breakpoint in a debug register
  kWriteWatch = 2,   // Z2: kind = length (1, 2, 4, 8)
  kReadWatch = 3,    // Z3
  kAccessWatch = 4,  // Z4: read or write
};

// What one vCPU does on Resume().
enum class ResumeAction {
  kStop,      // stays stopped
  kContinue,  // runs
  kStep,      // executes one instruction, then stops (Reason::kSingleStep)
};

struct StopEvent {
  enum class Reason {
    kBreakpoint,          // a software breakpoint (int3) inserted with Z0
    kHardwareBreakpoint,  // an execution breakpoint inserted with Z1
    kWatchpoint,          // a watchpoint: watch_address and watch_type
    kSingleStep,          // a kStep vCPU completed its instruction
    kInterrupted,         // stopped by Interrupt()
    kExited,              // the guest is gone (powered off): exit_code
  };

  static StopEvent Breakpoint(int thread) {
    return {Reason::kBreakpoint, thread};
  }
  static StopEvent HardwareBreakpoint(int thread) {
    return {Reason::kHardwareBreakpoint, thread};
  }
  static StopEvent Watchpoint(int thread, uint64_t address,
                              BreakpointType type) {
    return {Reason::kWatchpoint, thread, address, type};
  }
  static StopEvent SingleStep(int thread) {
    return {Reason::kSingleStep, thread};
  }
  static StopEvent Interrupted(int thread) {
    return {Reason::kInterrupted, thread};
  }
  static StopEvent Exited(int exit_code) {
    return {Reason::kExited, 1, 0, BreakpointType::kSoftware, exit_code};
  }

  Reason reason = Reason::kInterrupted;
  int thread = 1;  // the vCPU that stopped the machine (1-based)
  // kWatchpoint: the data address that triggered it, and the watchpoint's
  // type (kWriteWatch, kReadWatch or kAccessWatch).
  uint64_t watch_address = 0;
  BreakpointType watch_type = BreakpointType::kWriteWatch;
  int exit_code = 0;  // kExited: 0..255
};

// Receives stop events. Implemented by GdbServer; OnStop() may be called
// from any thread and never blocks for long (it queues the event).
class StopSink {
 public:
  virtual ~StopSink() = default;
  virtual void OnStop(const StopEvent& event) = 0;
};

class DebugTarget {
 public:
  virtual ~DebugTarget() = default;

  // The server installs itself (and nullptr when it goes away). The target
  // must not call a sink after SetStopSink(nullptr) returned: hold a lock
  // around both.
  virtual void SetStopSink(StopSink* sink) = 0;

  // The number of vCPUs; fixed for the target's life, at least 1.
  virtual int thread_count() const = 0;

  virtual absl::Status Attach() = 0;

  // `thread` is in [1, thread_count()] (the server checks).
  virtual absl::StatusOr<X86Registers> ReadRegisters(int thread) = 0;
  virtual absl::Status WriteRegisters(int thread, const X86Registers& regs) = 0;

  // Guest memory by guest VIRTUAL address, translated with `thread`'s
  // paging registers (vmm/paging/page_walk.h). All or nothing: an error if
  // any byte is not mapped or not RAM. `len` is at most kRspMaxPacketSize.
  virtual absl::StatusOr<std::vector<uint8_t>> ReadMemory(int thread,
                                                          uint64_t vaddr,
                                                          size_t len) = 0;
  virtual absl::Status WriteMemory(int thread, uint64_t vaddr,
                                   absl::Span<const uint8_t> data) = 0;

  // Breakpoints and watchpoints apply to every vCPU. `kind` is the Z
  // packet's: 1 for an x86 (hardware) breakpoint, the length for a
  // watchpoint. Unimplemented for a type the target does not have.
  virtual absl::Status InsertBreakpoint(BreakpointType type, uint64_t addr,
                                        uint64_t kind) = 0;
  virtual absl::Status RemoveBreakpoint(BreakpointType type, uint64_t addr,
                                        uint64_t kind) = 0;

  // `actions[i]` is for thread i + 1; actions.size() == thread_count(), and
  // at least one vCPU continues or steps.
  virtual absl::Status Resume(absl::Span<const ResumeAction> actions) = 0;
  virtual absl::Status Interrupt() = 0;
  virtual absl::Status Detach() = 0;
  virtual absl::Status Kill() = 0;
};

}  // namespace kuml

#endif  // KUML_DEVICES_GDB_DEBUG_TARGET_H_
