#include "machine/kvm_debug_target.h"

#include <linux/kvm.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "vmm/paging/page_walk.h"

namespace kuml {
namespace {

constexpr uint8_t kInt3 = 0xcc;
constexpr uint32_t kMsrKernelGsBase = 0xc0000102;
constexpr uint32_t kDebugVector = 1;             // #DB
constexpr uint32_t kBreakpointVector = 3;        // #BP
constexpr uint64_t kDr6SingleStep = 1ull << 14;  // BS
constexpr absl::Duration kStopTimeout = absl::Seconds(10);

constexpr char kNoGuestDebug[] =
    "this host's KVM has no KVM_CAP_SET_GUEST_DEBUG: breakpoints, "
    "watchpoints and single-step are unavailable (registers and memory "
    "work)";

constexpr char kNoDataWatchpoints[] =
    "this host's software-assisted KVM does not fire data watchpoints in "
    "guest kernel code: watch and awatch are refused (breakpoints, hbreak "
    "and stepping work)";

// DR7's R/W field for a breakpoint type (Intel SDM vol. 3, 18.2.4).
uint64_t Dr7ReadWrite(BreakpointType type) {
  switch (type) {
    case BreakpointType::kWriteWatch:
      return 1;
    case BreakpointType::kAccessWatch:
      return 3;
    default:
      return 0;  // execution
  }
}

// DR7's LEN field for a watched length.
uint64_t Dr7Length(uint64_t len) {
  switch (len) {
    case 2:
      return 1;
    case 8:
      return 2;
    case 4:
      return 3;
    default:
      return 0;  // 1 byte (and every execution breakpoint)
  }
}

// The full x87 tag word from FXSAVE's abridged one: a register in use is
// reported valid (00), a free one empty (11).
uint32_t FullTagWord(uint8_t abridged) {
  uint32_t tags = 0;
  for (int i = 0; i < 8; ++i) {
    const uint32_t tag = (abridged >> i) & 1 ? 0 : 3;
    tags |= tag << (2 * i);
  }
  return tags;
}

}  // namespace

KvmDebugTarget::KvmDebugTarget(bool guest_debug, bool block_irq,
                               bool data_watchpoints,
                               std::function<void(const std::string&)> notice)
    : guest_debug_(guest_debug),
      block_irq_(block_irq),
      data_watchpoints_(data_watchpoints),
      notice_(std::move(notice)),
      worker_([this] { Worker(); }) {}

KvmDebugTarget::~KvmDebugTarget() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    worker_exit_ = true;
  }
  worker_cv_.notify_all();
  worker_.join();
}

std::unique_ptr<KvmDebugTarget> KvmDebugTarget::ForHost(
    const Kvm& kvm, KvmFlavor flavor,
    std::function<void(const std::string&)> notice) {
  const bool guest_debug = kvm.CheckExtension(KVM_CAP_SET_GUEST_DEBUG) > 0;
  const int flags = kvm.CheckExtension(KVM_CAP_SET_GUEST_DEBUG2);
  const bool block_irq = flags > 0 && (flags & KVM_GUESTDBG_BLOCKIRQ) != 0;
  return std::make_unique<KvmDebugTarget>(guest_debug, block_irq,
                                          flavor == KvmFlavor::kHardware,
                                          std::move(notice));
}

void KvmDebugTarget::Notice(const std::string& text) {
  if (notice_) notice_(text);
}

void KvmDebugTarget::Bind(Machine* machine) {
  std::lock_guard<std::mutex> lock(mu_);
  machine_ = machine;
  thread_count_ = static_cast<int>(machine->num_vcpus());
  stepping_.assign(thread_count_, false);
  machine->SetDebugHook(this);
}

void KvmDebugTarget::Unbind(int exit_code) {
  bool was_attached;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (machine_ == nullptr) return;
    machine_->SetDebugHook(nullptr);
    was_attached = attached_;
    attached_ = false;
    running_ = true;
    software_.clear();  // the guest's memory goes with the machine
    for (HardwareSlot& slot : slots_) slot = HardwareSlot();
    // The worker may be waiting on this machine's vCPUs: they are released
    // (the machine is stopping), so its wait ends; let it finish.
    pending_stop_.reset();
    stop_reported_ = true;
    // Attach() or the worker may be waiting for this machine's vCPUs: Run()
    // has returned, so every vCPU was released and their waits end now.
    worker_cv_.wait(lock, [this] { return machine_users_ == 0; });
    machine_ = nullptr;
  }
  if (was_attached) {
    Notice(
        "gdb: the guest's boot ended; the debugger was told the program "
        "exited and its breakpoints are cleared (attach again after the "
        "reboot)");
    std::lock_guard<std::mutex> lock(sink_mu_);
    if (sink_ != nullptr) sink_->OnStop(StopEvent::Exited(exit_code));
  }
}

void KvmDebugTarget::SetStopSink(StopSink* sink) {
  std::lock_guard<std::mutex> lock(sink_mu_);
  sink_ = sink;
}

absl::Status KvmDebugTarget::RequireMachine() const {
  if (machine_ == nullptr) {
    return absl::UnavailableError("the guest is between boots");
  }
  return absl::OkStatus();
}

absl::Status KvmDebugTarget::Attach() {
  Machine* machine;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (absl::Status s = RequireMachine(); !s.ok()) return s;
    attached_ = true;
    running_ = false;
    pending_stop_ = StopEvent::Interrupted(1);
    stop_reported_ = true;  // the server reports the attach stop itself
    machine = machine_;
    ++machine_users_;
    machine->DebugStopAll();
  }
  // Waited for without the lock (a vCPU's debug exit needs it); Unbind()
  // waits for this wait (machine_users_) before the Machine may go.
  const bool stopped = machine->DebugWaitStopped(kStopTimeout);
  std::lock_guard<std::mutex> lock(mu_);
  --machine_users_;
  worker_cv_.notify_all();
  if (!stopped) {
    attached_ = false;
    running_ = true;
    return absl::DeadlineExceededError(
        "the vCPUs did not stop (is the guest ending?)");
  }
  if (!guest_debug_) Notice(absl::StrCat("gdb: ", kNoGuestDebug));
  if (guest_debug_ && !data_watchpoints_) {
    Notice(absl::StrCat("gdb: ", kNoDataWatchpoints));
  }
  return absl::OkStatus();
}

absl::StatusOr<X86Registers> KvmDebugTarget::ReadRegisters(int thread) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = RequireMachine(); !s.ok()) return s;
  Vcpu& vcpu = machine_->vcpu(thread - 1);
  kvm_regs r{};
  kvm_sregs sr{};
  kvm_fpu fpu{};
  if (absl::Status s = vcpu.GetRegs(&r); !s.ok()) return s;
  if (absl::Status s = vcpu.GetSregs(&sr); !s.ok()) return s;
  if (absl::Status s = vcpu.GetFpu(&fpu); !s.ok()) return s;
  X86Registers x;
  x.rax = r.rax;
  x.rbx = r.rbx;
  x.rcx = r.rcx;
  x.rdx = r.rdx;
  x.rsi = r.rsi;
  x.rdi = r.rdi;
  x.rbp = r.rbp;
  x.rsp = r.rsp;
  x.r8 = r.r8;
  x.r9 = r.r9;
  x.r10 = r.r10;
  x.r11 = r.r11;
  x.r12 = r.r12;
  x.r13 = r.r13;
  x.r14 = r.r14;
  x.r15 = r.r15;
  x.rip = r.rip;
  x.eflags = r.rflags;
  x.cs = sr.cs.selector;
  x.ss = sr.ss.selector;
  x.ds = sr.ds.selector;
  x.es = sr.es.selector;
  x.fs = sr.fs.selector;
  x.gs = sr.gs.selector;
  for (int i = 0; i < 8; ++i) {
    std::memcpy(x.st[i].data(), fpu.fpr[i], x.st[i].size());
  }
  x.fctrl = fpu.fcw;
  x.fstat = fpu.fsw;
  x.ftag = FullTagWord(fpu.ftwx);
  x.fop = fpu.last_opcode;
  x.fioff = static_cast<uint32_t>(fpu.last_ip);
  x.fooff = static_cast<uint32_t>(fpu.last_dp);
  for (int i = 0; i < 16; ++i) {
    std::memcpy(x.xmm[i].data(), fpu.xmm[i], x.xmm[i].size());
  }
  x.mxcsr = fpu.mxcsr;
  x.fs_base = sr.fs.base;
  x.gs_base = sr.gs.base;
  absl::StatusOr<uint64_t> k_gs_base = vcpu.GetMsr(kMsrKernelGsBase);
  x.k_gs_base = k_gs_base.ok() ? *k_gs_base : 0;
  x.cr0 = sr.cr0;
  x.cr2 = sr.cr2;
  x.cr3 = sr.cr3;
  x.cr4 = sr.cr4;
  x.cr8 = sr.cr8;
  x.efer = sr.efer;
  return x;
}

absl::Status KvmDebugTarget::WriteRegisters(int thread, const X86Registers& x) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = RequireMachine(); !s.ok()) return s;
  Vcpu& vcpu = machine_->vcpu(thread - 1);
  kvm_regs r{};
  if (absl::Status s = vcpu.GetRegs(&r); !s.ok()) return s;
  r.rax = x.rax;
  r.rbx = x.rbx;
  r.rcx = x.rcx;
  r.rdx = x.rdx;
  r.rsi = x.rsi;
  r.rdi = x.rdi;
  r.rbp = x.rbp;
  r.rsp = x.rsp;
  r.r8 = x.r8;
  r.r9 = x.r9;
  r.r10 = x.r10;
  r.r11 = x.r11;
  r.r12 = x.r12;
  r.r13 = x.r13;
  r.r14 = x.r14;
  r.r15 = x.r15;
  r.rip = x.rip;
  r.rflags = x.eflags;
  if (absl::Status s = vcpu.SetRegs(r); !s.ok()) return s;
  // The system registers only when gdb changed one (a selector cannot be
  // changed without its descriptor: those are left as they are; so are the
  // x87 and SSE registers).
  kvm_sregs sr{};
  if (absl::Status s = vcpu.GetSregs(&sr); !s.ok()) return s;
  const kvm_sregs before = sr;
  sr.fs.base = x.fs_base;
  sr.gs.base = x.gs_base;
  sr.cr0 = x.cr0;
  sr.cr2 = x.cr2;
  sr.cr3 = x.cr3;
  sr.cr4 = x.cr4;
  sr.cr8 = x.cr8;
  sr.efer = x.efer;
  if (std::memcmp(&before, &sr, sizeof(sr)) != 0) {
    if (absl::Status s = vcpu.SetSregs(sr); !s.ok()) return s;
  }
  absl::StatusOr<uint64_t> k_gs_base = vcpu.GetMsr(kMsrKernelGsBase);
  if (k_gs_base.ok() && *k_gs_base != x.k_gs_base) {
    kvm_msr_entry msr{};
    msr.index = kMsrKernelGsBase;
    msr.data = x.k_gs_base;
    return vcpu.SetMsrs({msr});
  }
  return absl::OkStatus();
}

absl::StatusOr<PagingRegs> KvmDebugTarget::Paging(int thread) {
  kvm_sregs sr{};
  if (absl::Status s = machine_->vcpu(thread - 1).GetSregs(&sr); !s.ok()) {
    return s;
  }
  PagingRegs regs;
  regs.cr0 = sr.cr0;
  regs.cr3 = sr.cr3;
  regs.cr4 = sr.cr4;
  regs.efer = sr.efer;
  return regs;
}

absl::StatusOr<std::vector<uint8_t>> KvmDebugTarget::ReadMemory(int thread,
                                                                uint64_t vaddr,
                                                                size_t len) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = RequireMachine(); !s.ok()) return s;
  absl::StatusOr<PagingRegs> paging = Paging(thread);
  if (!paging.ok()) return paging.status();
  std::vector<uint8_t> data(len);
  if (absl::Status s =
          ReadGva(machine_->memory(), *paging, vaddr, absl::MakeSpan(data));
      !s.ok()) {
    return s;
  }
  // Our int3s read back as what they replaced.
  for (auto it = software_.lower_bound(vaddr);
       it != software_.end() && it->first - vaddr < len; ++it) {
    if (it->second.slot >= 0) continue;
    data[it->first - vaddr] = it->second.original;
  }
  return data;
}

absl::Status KvmDebugTarget::WriteMemory(int thread, uint64_t vaddr,
                                         absl::Span<const uint8_t> data) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = RequireMachine(); !s.ok()) return s;
  absl::StatusOr<PagingRegs> paging = Paging(thread);
  if (!paging.ok()) return paging.status();
  if (absl::Status s = WriteGva(machine_->memory(), *paging, vaddr, data);
      !s.ok()) {
    return s;
  }
  // A write over one of our int3s changes what it will restore; the int3
  // stays.
  for (auto it = software_.lower_bound(vaddr);
       it != software_.end() && it->first - vaddr < data.size(); ++it) {
    if (it->second.slot >= 0) continue;
    it->second.original = data[it->first - vaddr];
    if (absl::Status s = machine_->memory().Write(it->second.gpa, &kInt3, 1);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status KvmDebugTarget::InsertBreakpoint(BreakpointType type,
                                              uint64_t addr, uint64_t kind) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = RequireMachine(); !s.ok()) return s;
  if (!guest_debug_) return absl::FailedPreconditionError(kNoGuestDebug);
  if (type == BreakpointType::kSoftware) {
    if (software_.count(addr) != 0) return absl::OkStatus();
    absl::StatusOr<PagingRegs> paging = Paging(1);
    if (!paging.ok()) return paging.status();
    absl::StatusOr<GvaTranslation> where =
        TranslateGva(machine_->memory(), *paging, addr);
    SoftwareBreakpoint bp;
    absl::Status readable = where.status();
    if (readable.ok() && (paging->cr0 & kCr0Pg) == 0 && addr > 0xffffffffull) {
      // Paging off: the walk wraps the address to 32 bits, which may well
      // be RAM -- but not what gdb means (a kernel address, mapped later).
      readable = absl::NotFoundError("paging is off");
    }
    if (readable.ok()) {
      bp.gpa = where->gpa;
      readable = machine_->memory().Read(bp.gpa, &bp.original, 1);
    }
    if (!readable.ok()) {
      // Not mapped (yet; with paging off a kernel address lands beyond
      // RAM): an execution breakpoint in a debug register works on the
      // address whenever it comes to be mapped.
      for (int i = 0; i < 4; ++i) {
        if (slots_[i].used) continue;
        slots_[i] = HardwareSlot{true, BreakpointType::kHardware, addr, 1,
                                 /*for_software=*/true};
        bp.slot = i;
        software_[addr] = bp;
        return absl::OkStatus();
      }
      return readable;
    }
    if (absl::Status s = machine_->memory().Write(bp.gpa, &kInt3, 1); !s.ok()) {
      return s;
    }
    software_[addr] = bp;
    return absl::OkStatus();
  }
  if (type == BreakpointType::kReadWatch) {
    return absl::UnimplementedError("x86 has no read-only watchpoints");
  }
  if (type != BreakpointType::kHardware && !data_watchpoints_) {
    return absl::FailedPreconditionError(kNoDataWatchpoints);
  }
  const uint64_t len = type == BreakpointType::kHardware ? 1 : kind;
  if (len != 1 && len != 2 && len != 4 && len != 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("a watchpoint covers 1, 2, 4 or 8 bytes, not ", len));
  }
  if (addr % len != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "a %d-byte watchpoint must be aligned (%#x is not)", len, addr));
  }
  for (HardwareSlot& slot : slots_) {
    if (!slot.used) {
      slot = HardwareSlot{true, type, addr, len};
      return absl::OkStatus();
    }
  }
  return absl::ResourceExhaustedError("all four debug registers are in use");
}

absl::Status KvmDebugTarget::RemoveBreakpoint(BreakpointType type,
                                              uint64_t addr, uint64_t kind) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = RequireMachine(); !s.ok()) return s;
  if (type == BreakpointType::kSoftware) {
    auto it = software_.find(addr);
    if (it == software_.end()) return absl::OkStatus();
    if (it->second.slot >= 0) {
      slots_[it->second.slot] = HardwareSlot();
      software_.erase(it);
      return absl::OkStatus();
    }
    absl::Status s =
        machine_->memory().Write(it->second.gpa, &it->second.original, 1);
    software_.erase(it);
    return s;
  }
  const uint64_t len = type == BreakpointType::kHardware ? 1 : kind;
  for (HardwareSlot& slot : slots_) {
    if (slot.used && !slot.for_software && slot.type == type &&
        slot.addr == addr && slot.len == len) {
      slot = HardwareSlot();
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError(
      absl::StrFormat("no such breakpoint at %#x", addr));
}

absl::Status KvmDebugTarget::ApplyGuestDebug(
    const std::vector<bool>& stepping) {
  kvm_guest_debug common{};
  uint32_t control = 0;
  if (!software_.empty()) control |= KVM_GUESTDBG_USE_SW_BP;
  uint64_t dr7 = 0;
  for (int i = 0; i < 4; ++i) {
    const HardwareSlot& slot = slots_[i];
    if (!slot.used) continue;
    control |= KVM_GUESTDBG_USE_HW_BP;
    common.arch.debugreg[i] = slot.addr;
    dr7 |= 1ull << (2 * i);  // L<i>
    dr7 |= Dr7ReadWrite(slot.type) << (16 + 4 * i);
    dr7 |= Dr7Length(slot.len) << (18 + 4 * i);
  }
  common.arch.debugreg[7] = dr7;
  for (uint32_t i = 0; i < machine_->num_vcpus(); ++i) {
    kvm_guest_debug debug = common;
    debug.control = control;
    if (stepping[i]) {
      debug.control |= KVM_GUESTDBG_SINGLESTEP;
      if (block_irq_) debug.control |= KVM_GUESTDBG_BLOCKIRQ;
    }
    if (debug.control != 0) debug.control |= KVM_GUESTDBG_ENABLE;
    if (!guest_debug_) {
      if (debug.control == 0) continue;
      return absl::FailedPreconditionError(kNoGuestDebug);
    }
    if (absl::Status s = machine_->vcpu(i).SetGuestDebug(debug); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status KvmDebugTarget::Resume(absl::Span<const ResumeAction> actions) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = RequireMachine(); !s.ok()) return s;
  for (size_t i = 0; i < stepping_.size(); ++i) {
    stepping_[i] = i < actions.size() && actions[i] == ResumeAction::kStep;
  }
  if (absl::Status s = ApplyGuestDebug(stepping_); !s.ok()) return s;
  for (uint32_t i = 0; i < machine_->num_vcpus(); ++i) {
    const bool hold = i < actions.size() && actions[i] == ResumeAction::kStop;
    machine_->DebugHold(i, hold);
  }
  pending_stop_.reset();
  stop_reported_ = false;
  running_ = true;
  machine_->DebugRunAll();
  return absl::OkStatus();
}

absl::Status KvmDebugTarget::Interrupt() {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = RequireMachine(); !s.ok()) return s;
  StopMachine(StopEvent::Interrupted(1));
  return absl::OkStatus();
}

absl::Status KvmDebugTarget::RemoveAllBreakpoints() {
  absl::Status result;
  for (const auto& [addr, bp] : software_) {
    if (bp.slot >= 0) continue;
    absl::Status s = machine_->memory().Write(bp.gpa, &bp.original, 1);
    if (!s.ok() && result.ok()) result = s;
  }
  software_.clear();
  for (HardwareSlot& slot : slots_) slot = HardwareSlot();
  return result;
}

absl::Status KvmDebugTarget::Detach() {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = RequireMachine(); !s.ok()) return s;
  absl::Status removed = RemoveAllBreakpoints();
  std::fill(stepping_.begin(), stepping_.end(), false);
  absl::Status cleared = ApplyGuestDebug(stepping_);
  for (uint32_t i = 0; i < machine_->num_vcpus(); ++i) {
    machine_->DebugHold(i, false);
  }
  attached_ = false;
  running_ = true;
  pending_stop_.reset();
  stop_reported_ = true;
  machine_->DebugRunAll();
  return removed.ok() ? cleared : removed;
}

absl::Status KvmDebugTarget::Kill() {
  Machine* machine;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (absl::Status s = RequireMachine(); !s.ok()) return s;
    machine = machine_;
  }
  if (absl::Status s = Detach(); !s.ok()) return s;
  Notice("gdb: the debugger killed the guest");
  machine->RequestStop(StopReason::kHalt, "the debugger killed the guest");
  return absl::OkStatus();
}

void KvmDebugTarget::StopMachine(const StopEvent& event) {
  // The first event of a resume wins; later ones (another vCPU's
  // breakpoint while the machine stops) are dropped: gdb finds that vCPU at
  // its breakpoint when it resumes (the int3 is hit again).
  if (!running_ || pending_stop_.has_value()) return;
  pending_stop_ = event;
  running_ = false;
  machine_->DebugStopAll();
  worker_cv_.notify_all();
}

void KvmDebugTarget::OnDebugExit(uint32_t vcpu_id,
                                 const kvm_debug_exit_arch& arch) {
  std::lock_guard<std::mutex> lock(mu_);
  if (machine_ == nullptr) return;
  const int thread = static_cast<int>(vcpu_id) + 1;
  if (arch.exception == kBreakpointVector) {
    auto bp = software_.find(arch.pc);
    if (attached_ && bp != software_.end() && bp->second.slot < 0) {
      StopMachine(StopEvent::Breakpoint(thread));
      return;
    }
    // The guest's own int3: deliver it as if we were not there (the
    // vCPU's RIP is at the int3; KVM injects it as the software exception
    // it was, so the guest sees RIP after it).
    // Should that fail, the vCPU meets the int3 again (another exit).
    (void)machine_->vcpu(vcpu_id).InjectBreakpoint();
    return;
  }
  if (arch.exception != kDebugVector || !attached_) return;
  if ((arch.dr6 & kDr6SingleStep) != 0 && vcpu_id < stepping_.size() &&
      stepping_[vcpu_id]) {
    StopMachine(StopEvent::SingleStep(thread));
    return;
  }
  for (int i = 0; i < 4; ++i) {
    if ((arch.dr6 & (1ull << i)) == 0 || !slots_[i].used) continue;
    if (slots_[i].for_software) {
      StopMachine(StopEvent::Breakpoint(thread));
    } else if (slots_[i].type == BreakpointType::kHardware) {
      StopMachine(StopEvent::HardwareBreakpoint(thread));
    } else {
      StopMachine(
          StopEvent::Watchpoint(thread, slots_[i].addr, slots_[i].type));
    }
    return;
  }
  // A #DB we did not ask for (a step that finished after a resume changed
  // the plan): stop and let gdb look.
  StopMachine(StopEvent::Interrupted(thread));
}

bool KvmDebugTarget::ClaimBreakpoint(uint32_t vcpu_id, uint64_t pc) {
  std::lock_guard<std::mutex> lock(mu_);
  auto bp = software_.find(pc);
  if (machine_ == nullptr || !attached_ || bp == software_.end() ||
      bp->second.slot >= 0) {
    return false;
  }
  StopMachine(StopEvent::Breakpoint(static_cast<int>(vcpu_id) + 1));
  return true;
}

void KvmDebugTarget::Worker() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    worker_cv_.wait(lock, [this] {
      return worker_exit_ || (pending_stop_.has_value() && !stop_reported_);
    });
    if (worker_exit_) return;
    const StopEvent event = *pending_stop_;
    Machine* machine = machine_;
    stop_reported_ = true;
    ++machine_users_;  // Unbind() waits for this wait (see there)
    lock.unlock();
    const bool stopped = machine->DebugWaitStopped(kStopTimeout);
    lock.lock();
    --machine_users_;
    worker_cv_.notify_all();
    if (machine_ != machine || !pending_stop_.has_value()) continue;
    if (!stopped) {
      Notice("gdb: not every vCPU stopped in time; reporting the stop anyway");
    }
    lock.unlock();
    {
      std::lock_guard<std::mutex> sink_lock(sink_mu_);
      if (sink_ != nullptr) sink_->OnStop(event);
    }
    lock.lock();
  }
}

}  // namespace kuml
