// X86Registers: one vCPU's registers as the gdb stub exchanges them with its
// DebugTarget -- every register of the target description the stub gives
// gdb (target_description.h), nothing more.
//
// Where each comes from in KVM: kvm_regs (rax..r15, rip, rflags),
// kvm_sregs (segment selectors and fs/gs bases, cr0, cr2, cr3, cr4, cr8,
// efer), KVM_GET_FPU (st0-7, fcw/fsw, xmm, mxcsr, last_ip/dp/opcode) and the
// MSR KERNEL_GS_BASE (k_gs_base).
//
// Sizes on the wire are gdb's, which are not always the fields': eflags and
// the segment selectors are 32 bits for gdb (the upper half is sent as zero
// and written back as zero); the x87 control words are 32 bits for gdb and
// 16 in the FPU. ftag is the full 16-bit x87 tag word as gdb expects it
// (KVM's kvm_fpu.ftwx is the abridged FXSAVE form: expand it).
#ifndef KUML_DEVICES_GDB_X86_REGISTERS_H_
#define KUML_DEVICES_GDB_X86_REGISTERS_H_

#include <array>
#include <cstdint>

namespace kuml {

struct X86Registers {
  // org.gnu.gdb.i386.core: general registers, in gdb's order.
  uint64_t rax = 0;
  uint64_t rbx = 0;
  uint64_t rcx = 0;
  uint64_t rdx = 0;
  uint64_t rsi = 0;
  uint64_t rdi = 0;
  uint64_t rbp = 0;
  uint64_t rsp = 0;
  uint64_t r8 = 0;
  uint64_t r9 = 0;
  uint64_t r10 = 0;
  uint64_t r11 = 0;
  uint64_t r12 = 0;
  uint64_t r13 = 0;
  uint64_t r14 = 0;
  uint64_t r15 = 0;
  uint64_t rip = 0;
  uint64_t eflags = 0;
  // Segment selectors.
  uint64_t cs = 0;
  uint64_t ss = 0;
  uint64_t ds = 0;
  uint64_t es = 0;
  uint64_t fs = 0;
  uint64_t gs = 0;
  // org.gnu.gdb.i386.core: the x87 unit. st<i> is the 80-bit register as
  // FXSAVE stores it (little-endian: 64-bit significand, then sign and
  // exponent).
  std::array<std::array<uint8_t, 10>, 8> st = {};
  uint32_t fctrl = 0x37f;  // the x87 reset value (FNINIT)
  uint32_t fstat = 0;
  uint32_t ftag = 0xffff;  // all empty
  uint32_t fiseg = 0;
  uint32_t fioff = 0;
  uint32_t foseg = 0;
  uint32_t fooff = 0;
  uint32_t fop = 0;
  // org.gnu.gdb.i386.sse.
  std::array<std::array<uint8_t, 16>, 16> xmm = {};
  uint32_t mxcsr = 0x1f80;  // the reset value
  // org.gnu.gdb.i386.segments: the fs and gs bases.
  uint64_t fs_base = 0;
  uint64_t gs_base = 0;
  // org.kuml.gdb.x86.system (kuml's own feature): what a kernel debugger
  // needs of the system state. k_gs_base is the MSR swapgs exchanges with
  // gs_base.
  uint64_t k_gs_base = 0;
  uint64_t cr0 = 0;
  uint64_t cr2 = 0;
  uint64_t cr3 = 0;
  uint64_t cr4 = 0;
  uint64_t cr8 = 0;
  uint64_t efer = 0;
};

}  // namespace kuml

#endif  // KUML_DEVICES_GDB_X86_REGISTERS_H_
