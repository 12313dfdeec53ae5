#include "vmm/vcpu/vcpu_runner.h"

#include <signal.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/errno_status.h"
#include "vmm/boot_trace.h"
#include "vmm/cpu/refused_instructions.h"

namespace kuml {
namespace {

// The running vCPU's kvm_run page, for the kick signal handler.
thread_local kvm_run* t_kvm_run = nullptr;

void KickHandler(int) {
  kvm_run* run = t_kvm_run;
  if (run != nullptr) run->immediate_exit = 1;
}

void InstallKickHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = KickHandler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return EINTR
    sigaction(VcpuKickSignal(), &sa, nullptr);
  });
}

constexpr size_t kMaxInstructionBytes = 15;

}  // namespace

const char* StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kPowerOff:
      return "power off";
    case StopReason::kReset:
      return "reset";
    case StopReason::kTripleFault:
      return "triple fault";
    case StopReason::kGuestPanic:
      return "guest panic";
    case StopReason::kHalt:
      return "halt";
    case StopReason::kError:
      return "error";
  }
  return "unknown";
}

int VcpuKickSignal() { return SIGRTMIN; }

VcpuRunner::VcpuRunner(Vcpu* vcpu, IoBus* pio, IoBus* mmio, GuestMemory* memory,
                       StopControl* control)
    : vcpu_(vcpu), pio_(pio), mmio_(mmio), memory_(memory), control_(control) {
  InstallKickHandler();
}

VcpuRunner::~VcpuRunner() {
  Kick();
  Join();
}

void VcpuRunner::Start() {
  running_ = true;
  thread_ = std::thread([this] { Loop(); });
  native_ = thread_.native_handle();
}

void VcpuRunner::Kick() {
  vcpu_->run()->immediate_exit = 1;
  if (running_.load()) pthread_kill(native_, VcpuKickSignal());
}

void VcpuRunner::SetHeld(bool held) {
  held_.store(held);
  if (held) {
    Kick();
  } else if (gate_ != nullptr) {
    gate_->Wake();
  }
}

void VcpuRunner::Join() {
  if (thread_.joinable()) thread_.join();
}

void VcpuRunner::Loop() {
  t_kvm_run = vcpu_->run();
  // "kuml-vcpu<N>" in ps, top and strace -Y.
  pthread_setname_np(pthread_self(),
                     absl::StrCat("kuml-vcpu", vcpu_->id()).c_str());
  if (start_hook_) {
    absl::Status s = start_hook_();
    if (!s.ok()) {
      control_->RequestStop(
          StopReason::kError,
          absl::StrCat("vCPU ", vcpu_->id(), ": ", s.message()));
      return;
    }
  }
  while (!control_->stop_requested()) {
    if (gate_ != nullptr && (gate_->closed() || held_.load())) {
      gate_->Park(&held_);
      continue;  // the loop condition decides
    }
    if (vcpu_->id() == 0) BootTracePoint("first-kvm-run");
    int err = vcpu_->Run();
    if (err == EINTR || err == EAGAIN) {
      vcpu_->run()->immediate_exit = 0;
      continue;  // kicked: the loop condition decides
    }
    if (err != 0) {
      control_->RequestStop(
          StopReason::kError,
          ErrnoStatus(absl::StrCat("KVM_RUN (vcpu ", vcpu_->id(), ")"), err)
              .ToString());
      break;
    }
    if (counters_.exits.fetch_add(1, std::memory_order_relaxed) == 0 &&
        vcpu_->id() == 0) {
      BootTracePoint("first-exit");
    }
    absl::Status s = HandleExit();
    if (!s.ok()) {
      control_->RequestStop(StopReason::kError, std::string(s.message()));
      break;
    }
  }
  t_kvm_run = nullptr;
  running_ = false;
}

absl::Status VcpuRunner::HandleExit() {
  kvm_run* run = vcpu_->run();
  switch (run->exit_reason) {
    case KVM_EXIT_IO:
      return HandlePio();
    case KVM_EXIT_MMIO:
      return HandleMmio();
    case KVM_EXIT_SHUTDOWN:
      control_->RequestStop(
          StopReason::kTripleFault,
          absl::StrCat("vcpu ", vcpu_->id(), " triple-faulted"));
      return absl::OkStatus();
    case KVM_EXIT_SYSTEM_EVENT:
      switch (run->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
          control_->RequestStop(StopReason::kPowerOff, "system event");
          break;
        case KVM_SYSTEM_EVENT_RESET:
          control_->RequestStop(StopReason::kReset, "system event");
          break;
        default:
          control_->RequestStop(StopReason::kGuestPanic, "system event crash");
          break;
      }
      return absl::OkStatus();
    case KVM_EXIT_DEBUG:
      if (VcpuDebugHook* hook = debug_hook_.load()) {
        hook->OnDebugExit(vcpu_->id(), run->debug.arch);
        return absl::OkStatus();
      }
      return absl::InternalError(absl::StrCat(
          "vcpu ", vcpu_->id(), ": KVM_EXIT_DEBUG with no debugger attached"));
    case KVM_EXIT_INTERNAL_ERROR:
      return HandleInternalError();
    case KVM_EXIT_FAIL_ENTRY:
      return absl::InternalError(absl::StrFormat(
          "vcpu %u: VM entry failed (hardware reason %#x)", vcpu_->id(),
          run->fail_entry.hardware_entry_failure_reason));
    case KVM_EXIT_HLT:  // only without an in-kernel irqchip
    case KVM_EXIT_INTR:
    case KVM_EXIT_IRQ_WINDOW_OPEN:
      return absl::OkStatus();
    default:
      return absl::InternalError(absl::StrCat("vcpu ", vcpu_->id(),
                                              ": unexpected KVM exit reason ",
                                              run->exit_reason));
  }
}

absl::Status VcpuRunner::HandlePio() {
  counters_.pio_exits.fetch_add(1, std::memory_order_relaxed);
  kvm_run* run = vcpu_->run();
  uint8_t* data = reinterpret_cast<uint8_t*>(run) + run->io.data_offset;
  uint32_t size = run->io.size;
  // KVM lays out string I/O (rep ins/outs) as `count` consecutive elements.
  for (uint32_t i = 0; i < run->io.count; ++i, data += size) {
    bool claimed = run->io.direction == KVM_EXIT_IO_OUT
                       ? pio_->Write(run->io.port, data, size)
                       : pio_->Read(run->io.port, data, size);
    if (!claimed) {
      counters_.unclaimed_accesses.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return absl::OkStatus();
}

absl::Status VcpuRunner::HandleMmio() {
  counters_.mmio_exits.fetch_add(1, std::memory_order_relaxed);
  kvm_run* run = vcpu_->run();
  uint32_t len = run->mmio.len;
  if (len == 0 || len > sizeof(run->mmio.data)) {
    return absl::InternalError(absl::StrCat("MMIO exit with length ", len));
  }
  bool claimed = run->mmio.is_write
                     ? mmio_->Write(run->mmio.phys_addr, run->mmio.data, len)
                     : mmio_->Read(run->mmio.phys_addr, run->mmio.data, len);
  if (!claimed) {
    counters_.unclaimed_accesses.fetch_add(1, std::memory_order_relaxed);
  }
  return absl::OkStatus();
}

absl::Status VcpuRunner::HandleInternalError() {
  kvm_run* run = vcpu_->run();
  if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
    return HandleEmulationFailure();
  }
  std::string detail =
      absl::StrFormat("vcpu %u: KVM internal error, suberror %u", vcpu_->id(),
                      run->internal.suberror);
  for (uint32_t i = 0; i < run->internal.ndata && i < 16; ++i) {
    absl::StrAppendFormat(&detail, " %#x", run->internal.data[i]);
  }
  return absl::InternalError(detail);
}

absl::Status VcpuRunner::HandleEmulationFailure() {
  kvm_run* run = vcpu_->run();
  kvm_regs regs;
  absl::Status s = vcpu_->GetRegs(&regs);
  if (!s.ok()) return s;

  std::vector<uint8_t> insn;
  const auto& failure = run->emulation_failure;
  if ((failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) &&
      failure.insn_size <= sizeof(failure.insn_bytes)) {
    insn.assign(failure.insn_bytes, failure.insn_bytes + failure.insn_size);
  } else {
    // Older KVMs: fetch the bytes ourselves through the guest page tables,
    // stopping at the end of the page (the next one may not be mapped).
    kvm_sregs sregs;
    if (vcpu_->GetSregs(&sregs).ok()) {
      uint64_t linear = sregs.cs.base + regs.rip;
      absl::StatusOr<uint64_t> gpa = vcpu_->Translate(linear);
      if (gpa.ok()) {
        uint64_t room = 4096 - (*gpa & 4095);
        size_t n = room < kMaxInstructionBytes ? room : kMaxInstructionBytes;
        insn.resize(n);
        if (!memory_->Read(*gpa, insn.data(), n).ok()) insn.clear();
      }
    }
  }

  if (!insn.empty() && insn[0] == 0xcc) {
    VcpuDebugHook* hook = debug_hook_.load();
    kvm_sregs sregs;
    if (hook != nullptr && vcpu_->GetSregs(&sregs).ok() &&
        hook->ClaimBreakpoint(vcpu_->id(), sregs.cs.base + regs.rip)) {
      return absl::OkStatus();
    }
  }
  const RefusedInstruction* fix = MatchRefusedInstruction(insn);
  if (fix == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "vcpu ", vcpu_->id(), ": ", FormatEmulationFailure(regs.rip, insn),
        " (not an instruction kuml knows how to stand in for; see "
        "vmm/cpu/refused_instructions.h)"));
  }
  regs.rip += fix->length;
  s = vcpu_->SetRegs(regs);
  if (!s.ok()) return s;
  if (fix->fix == RefusedInstructionFix::kInjectBreakpoint) {
    s = vcpu_->InjectBreakpoint();
    if (!s.ok()) return s;
  }
  counters_.refused_instructions_fixed.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

}  // namespace kuml
