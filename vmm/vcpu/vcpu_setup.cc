#include "vmm/vcpu/vcpu_setup.h"

#include <cstring>

#include "vmm/cpu/cpuid.h"

namespace kuml {
namespace {

constexpr uint32_t kMsrIa32MiscEnable = 0x1a0;
constexpr uint64_t kMiscEnableFastStrings = 1;

// Local APIC register offsets in kvm_lapic_state::regs and LVT delivery modes.
constexpr int kApicLvtLint0 = 0x350;
constexpr int kApicLvtLint1 = 0x360;
constexpr uint32_t kApicDeliveryModeNmi = 4;
constexpr uint32_t kApicDeliveryModeExtInt = 7;

uint32_t GetApicReg(const kvm_lapic_state& lapic, int offset) {
  uint32_t v;
  std::memcpy(&v, lapic.regs + offset, sizeof(v));
  return v;
}

void SetApicReg(kvm_lapic_state& lapic, int offset, uint32_t v) {
  std::memcpy(lapic.regs + offset, &v, sizeof(v));
}

uint32_t WithDeliveryMode(uint32_t lvt, uint32_t mode) {
  return (lvt & ~0x700u) | (mode << 8);
}

kvm_segment ToKvmSegment(const SegmentDescriptor& s) {
  kvm_segment k{};
  k.base = s.base;
  k.limit = s.limit;
  k.selector = s.selector;
  k.type = s.type;
  k.present = s.present;
  k.dpl = s.dpl;
  k.db = s.db;
  k.s = s.s;
  k.l = s.l;
  k.g = s.g;
  k.avl = s.avl;
  k.unusable = s.present ? 0 : 1;
  return k;
}

}  // namespace

absl::Status ConfigureVcpu(Vcpu& vcpu, const VcpuSetup& setup) {
  GuestCpuidOptions options;
  options.vcpu_id = vcpu.id();
  options.num_vcpus = setup.num_vcpus;
  options.flavor = setup.flavor;
  absl::Status s =
      vcpu.SetCpuid(BuildGuestCpuid(*setup.supported_cpuid, options));
  if (!s.ok()) return s;

  kvm_msr_entry misc{};
  misc.index = kMsrIa32MiscEnable;
  misc.data = kMiscEnableFastStrings;
  s = vcpu.SetMsrs({misc});
  if (!s.ok()) return s;

  kvm_fpu fpu{};
  fpu.fcw = 0x37f;     // x87 default control word (FNINIT)
  fpu.mxcsr = 0x1f80;  // SSE default: all exceptions masked
  s = vcpu.SetFpu(fpu);
  if (!s.ok()) return s;

  // As on a PC: the 8259's output reaches the CPU through LINT0 (ExtINT) and
  // NMIs through LINT1. The MP table says the same.
  kvm_lapic_state lapic;
  s = vcpu.GetLapic(&lapic);
  if (!s.ok()) return s;
  SetApicReg(lapic, kApicLvtLint0,
             WithDeliveryMode(GetApicReg(lapic, kApicLvtLint0),
                              kApicDeliveryModeExtInt));
  SetApicReg(
      lapic, kApicLvtLint1,
      WithDeliveryMode(GetApicReg(lapic, kApicLvtLint1), kApicDeliveryModeNmi));
  return vcpu.SetLapic(lapic);
}

void BootStateToKvm(const BootCpuState& state, kvm_regs* regs,
                    kvm_sregs* sregs) {
  std::memset(regs, 0, sizeof(*regs));
  regs->rip = state.rip;
  regs->rax = state.rax;
  regs->rsp = state.rsp;
  regs->rbx = state.rbx;
  regs->rsi = state.rsi;
  regs->rflags = state.rflags;

  sregs->cs = ToKvmSegment(state.cs);
  sregs->ds = ToKvmSegment(state.ds);
  sregs->es = ToKvmSegment(state.es);
  sregs->fs = ToKvmSegment(state.fs);
  sregs->gs = ToKvmSegment(state.gs);
  sregs->ss = ToKvmSegment(state.ss);
  sregs->tr = ToKvmSegment(state.tr);
  sregs->tr.unusable = 0;  // TR must be usable for VM entry
  sregs->gdt.base = state.gdt.base;
  sregs->gdt.limit = state.gdt.limit;
  sregs->idt.base = state.idt.base;
  sregs->idt.limit = state.idt.limit;
  sregs->cr0 = state.cr0;
  sregs->cr3 = state.cr3;
  sregs->cr4 = state.cr4;
  sregs->efer = state.efer;
}

absl::Status ApplyBootState(Vcpu& vcpu, const BootCpuState& state) {
  kvm_sregs sregs;
  absl::Status s = vcpu.GetSregs(&sregs);  // keeps apic_base, ldt, cr8
  if (!s.ok()) return s;
  kvm_regs regs;
  BootStateToKvm(state, &regs, &sregs);
  s = vcpu.SetSregs(sregs);
  if (!s.ok()) return s;
  return vcpu.SetRegs(regs);
}

}  // namespace kuml
