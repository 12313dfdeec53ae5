// VcpuRunner: one vCPU's thread — the KVM_RUN loop and its exit handling.
//
// Port I/O and MMIO exits go to the buses; resets, triple faults and errors
// become stop requests to the machine. On a software-assisted KVM the loop
// also performs the ring-0 instructions that KVM refuses (see
// vmm/cpu/refused_instructions.h); any other emulation failure stops the
// machine with the RIP and the instruction bytes.
//
// Kick() makes the vCPU leave KVM_RUN promptly (a signal whose handler sets
// kvm_run.immediate_exit, so a kick that lands just before KVM_RUN is not
// lost); the loop then returns if the machine is stopping.
#ifndef KUML_VMM_VCPU_VCPU_RUNNER_H_
#define KUML_VMM_VCPU_VCPU_RUNNER_H_

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

#include "absl/status/status.h"
#include "vmm/guest_memory.h"
#include "vmm/io_bus.h"
#include "vmm/kvm/kvm.h"
#include "vmm/vcpu/machine_stop.h"
#include "vmm/vcpu/pause_gate.h"

namespace kuml {

// Where a vCPU's KVM_EXIT_DEBUG goes (the gdb stub's target,
// machine/kvm_debug_target.h). Called on the vCPU thread; after it returns
// the runner parks if the pause gate was closed or the vCPU held.
class VcpuDebugHook {
 public:
  virtual ~VcpuDebugHook() = default;
  virtual void OnDebugExit(uint32_t vcpu_id,
                           const kvm_debug_exit_arch& arch) = 0;
  // A software-assisted KVM (kvm_pvm) refuses int3 in ring 0 and reports
  // an emulation failure instead of a #BP exit: true when the int3 at
  // linear address `pc` is the debugger's (the vCPU then stays at it and
  // parks); false leaves it to the guest (refused_instructions.h).
  virtual bool ClaimBreakpoint(uint32_t vcpu_id, uint64_t pc) = 0;
};

struct VcpuCounters {
  std::atomic<uint64_t> exits{0};
  std::atomic<uint64_t> pio_exits{0};
  std::atomic<uint64_t> mmio_exits{0};
  std::atomic<uint64_t> refused_instructions_fixed{0};
  std::atomic<uint64_t> unclaimed_accesses{0};
};

class VcpuRunner {
 public:
  // Nothing is owned; all must outlive the runner.
  VcpuRunner(Vcpu* vcpu, IoBus* pio, IoBus* mmio, GuestMemory* memory,
             StopControl* control);
  ~VcpuRunner();

  VcpuRunner(const VcpuRunner&) = delete;
  VcpuRunner& operator=(const VcpuRunner&) = delete;

  // Before Start(): the gate this vCPU parks at while the machine is
  // stopped (mconsole `stop`). Not owned; may stay null (never parks).
  void SetPauseGate(PauseGate* gate) { gate_ = gate; }
  // Before Start(): run first on the vCPU's own thread (the sandbox adds
  // the vCPU filter there). An error stops the machine before the vCPU
  // runs.
  void SetThreadStartHook(std::function<absl::Status()> hook) {
    start_hook_ = std::move(hook);
  }

  // The debug hook; null removes it (a KVM_EXIT_DEBUG then stops the
  // machine with an error). Thread-safe: the gdb stub comes and goes while
  // the guest runs.
  void SetDebugHook(VcpuDebugHook* hook) { debug_hook_.store(hook); }
  // Keeps this vCPU parked (at the pause gate) while the others run: the
  // gdb stub's per-thread "stay stopped". Thread-safe; needs a pause gate.
  void SetHeld(bool held);

  void Start();
  // Thread-safe. Harmless before Start() and after the thread ended.
  void Kick();
  void Join();

  const VcpuCounters& counters() const { return counters_; }

 private:
  void Loop();
  // Handles the exit in vcpu_->run(); an error stops the machine.
  absl::Status HandleExit();
  absl::Status HandlePio();
  absl::Status HandleMmio();
  absl::Status HandleInternalError();
  absl::Status HandleEmulationFailure();

  Vcpu* vcpu_;
  IoBus* pio_;
  IoBus* mmio_;
  GuestMemory* memory_;
  StopControl* control_;
  std::function<absl::Status()> start_hook_;
  PauseGate* gate_ = nullptr;
  std::atomic<VcpuDebugHook*> debug_hook_{nullptr};
  std::atomic<bool> held_{false};
  std::thread thread_;
  std::atomic<bool> running_{false};
  pthread_t native_ = {};
  VcpuCounters counters_;
};

// The signal used to kick vCPU threads (installed once per process).
int VcpuKickSignal();

}  // namespace kuml

#endif  // KUML_VMM_VCPU_VCPU_RUNNER_H_
