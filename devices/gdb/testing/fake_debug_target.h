// FakeDebugTarget: a DebugTarget over a small in-memory machine, for the
// gdb stub's tests, its fuzzer and the end-to-end test with a real gdb.
//
// The "guest" is real guest RAM (GuestMemory, 2 MiB) with 4-level page
// tables, and memory accesses walk the calling thread's CR0/CR3/CR4/EFER
// with vmm/paging/page_walk.h as kuml's KVM target does. What is mapped:
//   kTextBase (0xffffffff81000000): 16 KiB, byte i = i & 0xff
//   kDataBase (0xffffc90000000000):  8 KiB, 64-bit word i = kDataWord0 + i
// Every other address is unmapped. Thread t (1-based) starts with
// rip = kTextBase + 0x100 * t, rsp = kDataBase + 0x2000 - 0x100 * t,
// rax = 0x1000 + t, long-mode control registers, eflags 0x246.
//
// The fake records what the server asks (breakpoints, resumes, attach,
// detach, ...) and can be told to fail a method. Reset() undoes all that
// (the fuzzer reuses one fake: building guest RAM is its slowest part). Stops:
// ReportStop() sends one to the server; on_resume (set it before use) runs
// inside Resume(), e.g. to report a stop at once as a fast target would;
// Interrupt() reports Interrupted on thread 1 at once unless interrupt_stops is
// false.
//
// Thread-safe: the server's thread calls it while the test thread looks.
#ifndef KUML_DEVICES_GDB_TESTING_FAKE_DEBUG_TARGET_H_
#define KUML_DEVICES_GDB_TESTING_FAKE_DEBUG_TARGET_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "devices/gdb/debug_target.h"
#include "vmm/guest_memory.h"

namespace kuml {

class FakeDebugTarget : public DebugTarget {
 public:
  static constexpr uint64_t kTextBase = 0xffffffff'81000000;
  static constexpr uint64_t kTextBytes = 16 << 10;
  static constexpr uint64_t kDataBase = 0xffffc900'00000000;
  static constexpr uint64_t kDataBytes = 8 << 10;
  static constexpr uint64_t kDataWord0 = 0xdead0000'beef0000;

  static absl::StatusOr<std::unique_ptr<FakeDebugTarget>> Create(int threads);

  // DebugTarget.
  void SetStopSink(StopSink* sink) override;
  int thread_count() const override { return thread_count_; }
  absl::Status Attach() override;
  absl::StatusOr<X86Registers> ReadRegisters(int thread) override;
  absl::Status WriteRegisters(int thread, const X86Registers& regs) override;
  absl::StatusOr<std::vector<uint8_t>> ReadMemory(int thread, uint64_t vaddr,
                                                  size_t len) override;
  absl::Status WriteMemory(int thread, uint64_t vaddr,
                           absl::Span<const uint8_t> data) override;
  absl::Status InsertBreakpoint(BreakpointType type, uint64_t addr,
                                uint64_t kind) override;
  absl::Status RemoveBreakpoint(BreakpointType type, uint64_t addr,
                                uint64_t kind) override;
  absl::Status Resume(absl::Span<const ResumeAction> actions) override;
  absl::Status Interrupt() override;
  absl::Status Detach() override;
  absl::Status Kill() override;

  // ---- For tests ----
  // Sends `event` to the installed sink (if any), from the calling thread.
  void ReportStop(const StopEvent& event);
  // Makes `method` ("Attach", "ReadRegisters", "Resume", ...) return
  // `status` from now on; OkStatus() clears it.
  void Fail(const std::string& method, absl::Status status);
  // Breakpoint types Insert/RemoveBreakpoint answer Unimplemented for.
  void set_unsupported(std::set<BreakpointType> types);
  void set_interrupt_stops(bool on);
  // Runs inside Resume(), after it was recorded, without the fake's lock.
  std::function<void(absl::Span<const ResumeAction>)> on_resume;

  using Breakpoint = std::tuple<BreakpointType, uint64_t, uint64_t>;
  std::set<Breakpoint> breakpoints() const;
  std::vector<std::vector<ResumeAction>> resumes() const;
  int attaches() const;
  int detaches() const;
  int kills() const;
  int interrupts() const;
  GuestMemory& memory() { return *memory_; }
  // Sets thread `thread`'s registers directly.
  void SetRegisters(int thread, const X86Registers& regs);
  // Successful WriteMemory() calls so far (the fuzzer restores RAM only
  // after an input that wrote).
  uint64_t memory_writes() const;
  // Back to the state Create() made, except guest RAM: registers, and no
  // breakpoints, records, failures, unsupported types or on_resume.
  void Reset();

 private:
  FakeDebugTarget(int threads, std::unique_ptr<GuestMemory> memory)
      : thread_count_(threads), memory_(std::move(memory)) {}
  absl::Status Failure(const std::string& method) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckThread(int thread) const;

  const int thread_count_;
  const std::unique_ptr<GuestMemory> memory_;

  mutable absl::Mutex mu_;
  mutable absl::Mutex sink_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  StopSink* sink_ ABSL_GUARDED_BY(sink_mu_) = nullptr;
  std::vector<X86Registers> regs_ ABSL_GUARDED_BY(mu_);
  std::vector<X86Registers> initial_regs_ ABSL_GUARDED_BY(mu_);
  uint64_t memory_writes_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, absl::Status> failures_ ABSL_GUARDED_BY(mu_);
  std::set<BreakpointType> unsupported_ ABSL_GUARDED_BY(mu_);
  bool interrupt_stops_ ABSL_GUARDED_BY(mu_) = true;
  std::set<Breakpoint> breakpoints_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<ResumeAction>> resumes_ ABSL_GUARDED_BY(mu_);
  int attaches_ ABSL_GUARDED_BY(mu_) = 0;
  int detaches_ ABSL_GUARDED_BY(mu_) = 0;
  int kills_ ABSL_GUARDED_BY(mu_) = 0;
  int interrupts_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace kuml

#endif  // KUML_DEVICES_GDB_TESTING_FAKE_DEBUG_TARGET_H_
