// KvmDebugTarget: the gdb stub's DebugTarget (devices/gdb/debug_target.h)
// over a running Machine and KVM's guest-debug interface.
//
//  - Stopping: all-stop. A stop parks every vCPU at the machine's pause gate
//    (Machine::DebugStopAll); a worker thread waits until all are parked and
//    then tells the stub which vCPU stopped the machine and why.
//  - Registers: KVM_GET/SET_REGS, SREGS, FPU and the KERNEL_GS_BASE MSR.
//  - Memory: by guest virtual address through the vCPU's page tables
//    (vmm/paging/page_walk.h); inserted software breakpoints read back as
//    the original bytes.
//  - Software breakpoints: an int3 written into guest RAM, with
//    KVM_GUESTDBG_USE_SW_BP so every #BP exits to kuml. A #BP at an address
//    that is not ours is the guest's own (kprobes, jump-label patching,
//    BUG()s): it is given back to the guest as the int3 it was. On
//    kvm_pvm a ring-0 int3 is not a #BP exit but an emulation failure; the
//    vCPU runner asks ClaimBreakpoint() before standing in for it.
//    An address that does not translate yet (gdb's `break start_kernel`
//    while `debug` holds the guest before paging is on) gets a debug
//    register instead, transparently: gdb sees a software breakpoint.
//  - Hardware breakpoints and watchpoints: the four debug registers, set on
//    every vCPU (KVM_GUESTDBG_USE_HW_BP). x86 has no read-only watchpoint:
//    Z3 is answered "not supported" and gdb says so.
//  - Single-step: KVM_GUESTDBG_SINGLESTEP, with interrupts blocked during
//    the step where KVM can (KVM_GUESTDBG_BLOCKIRQ), so `stepi` in the
//    kernel does not land in the timer interrupt.
//
// A KVM without KVM_CAP_SET_GUEST_DEBUG (some software-assisted ones) still
// lets gdb attach, stop, read and write: breakpoints and stepping are then
// refused with an error that says why (attach prints it once).
//
// One target lives for the kuml process; each boot's Machine is bound to it
// (Bind/Unbind). A reboot detaches the debugger -- it is told the program
// exited -- and clears every breakpoint, with a notice on kuml's stderr;
// the stub keeps listening for the next attach.
#ifndef KUML_MACHINE_KVM_DEBUG_TARGET_H_
#define KUML_MACHINE_KVM_DEBUG_TARGET_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "devices/gdb/debug_target.h"
#include "machine/machine.h"
#include "vmm/cpu/host_kvm.h"
#include "vmm/kvm/kvm.h"
#include "vmm/paging/page_walk.h"
#include "vmm/vcpu/vcpu_runner.h"

namespace kuml {

class KvmDebugTarget : public DebugTarget, public VcpuDebugHook {
 public:
  // `guest_debug` / `block_irq`: what the host KVM offers
  // (KVM_CAP_SET_GUEST_DEBUG, and KVM_GUESTDBG_BLOCKIRQ in
  // KVM_CAP_SET_GUEST_DEBUG2). `notice` prints a line for the user.
  // `data_watchpoints`: false on a software-assisted KVM, whose emulation
  // of guest ring 0 does not fire DR7 data breakpoints (measured on
  // kvm_pvm: execution breakpoints fire, a write watchpoint on a word the
  // guest writes all the time never does); watch/awatch are then refused.
  KvmDebugTarget(bool guest_debug, bool block_irq, bool data_watchpoints,
                 std::function<void(const std::string&)> notice);
  ~KvmDebugTarget() override;
  KvmDebugTarget(const KvmDebugTarget&) = delete;
  KvmDebugTarget& operator=(const KvmDebugTarget&) = delete;

  // Reads the host KVM's capabilities.
  static std::unique_ptr<KvmDebugTarget> ForHost(
      const Kvm& kvm, KvmFlavor flavor,
      std::function<void(const std::string&)> notice);

  // Before the boot's Run().
  void Bind(Machine* machine);
  // After Run() returned, before the Machine goes. `exit_code`: what the
  // debugger is told (0 power off / reboot).
  void Unbind(int exit_code);

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

  // VcpuDebugHook (vCPU threads).
  void OnDebugExit(uint32_t vcpu_id, const kvm_debug_exit_arch& arch) override;
  bool ClaimBreakpoint(uint32_t vcpu_id, uint64_t pc) override;

 private:
  struct SoftwareBreakpoint {
    uint64_t gpa = 0;
    uint8_t original = 0;
    // >= 0: the address had no mapping when gdb inserted it (the guest
    // before paging, as `debug` holds it): a debug register stands in.
    int slot = -1;
  };
  struct HardwareSlot {
    bool used = false;
    BreakpointType type = BreakpointType::kHardware;
    uint64_t addr = 0;
    uint64_t len = 1;
    bool for_software = false;  // stands in for a software breakpoint
  };

  // Under mu_.
  absl::Status RequireMachine() const;
  absl::StatusOr<PagingRegs> Paging(int thread);
  // KVM_SET_GUEST_DEBUG on every vCPU: breakpoints, and single-step for
  // the vCPUs in `stepping`.
  absl::Status ApplyGuestDebug(const std::vector<bool>& stepping);
  absl::Status RemoveAllBreakpoints();
  // Parks every vCPU and has the worker report `event` once they are.
  void StopMachine(const StopEvent& event);
  void Worker();
  void Notice(const std::string& text);

  const bool guest_debug_;
  const bool block_irq_;
  const bool data_watchpoints_;
  const std::function<void(const std::string&)> notice_;

  std::mutex mu_;
  Machine* machine_ = nullptr;  // the current boot's, or null between boots
  int thread_count_ = 1;
  bool attached_ = false;
  bool running_ = true;         // the debugger let the machine run (or none)
  std::vector<bool> stepping_;  // per vCPU, during this resume
  std::map<uint64_t, SoftwareBreakpoint> software_;  // by guest virtual addr
  HardwareSlot slots_[4];

  // The stop being reported (set on the first event of a resume).
  std::optional<StopEvent> pending_stop_;
  bool stop_reported_ = true;
  StopSink* sink_ = nullptr;  // under sink_mu_
  std::mutex sink_mu_;

  // Threads waiting for the bound machine's vCPUs without mu_ (Attach, the
  // worker); Unbind() waits until there are none.
  int machine_users_ = 0;
  std::condition_variable worker_cv_;
  bool worker_exit_ = false;
  std::thread worker_;
};

}  // namespace kuml

#endif  // KUML_MACHINE_KVM_DEBUG_TARGET_H_
