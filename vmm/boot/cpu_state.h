// BootCpuState: the register state the boot vCPU starts in, as plain data.
//
// The loaders decide how the kernel is entered (32-bit flat protected mode for
// PVH, 64-bit long mode for a bzImage); the VMM turns this struct into
// KVM_SET_REGS / KVM_SET_SREGS. Segment fields mirror struct kvm_segment, so
// the conversion is a field-by-field copy. The same descriptors are also
// written into guest RAM as a GDT (WriteBootGdt), so that what the CPU holds
// in its hidden segment registers matches what the guest can read back.
#ifndef KUML_VMM_BOOT_CPU_STATE_H_
#define KUML_VMM_BOOT_CPU_STATE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "vmm/cpu/control_registers.h"
#include "vmm/guest_memory.h"

namespace kuml {

// One segment register (selector plus its hidden descriptor cache).
struct SegmentDescriptor {
  uint64_t base = 0;
  // Limit in bytes, as the CPU's descriptor cache and kvm_segment hold it:
  // 0xffffffff for a flat 4 GiB segment with g = 1.
  uint32_t limit = 0;
  uint16_t selector = 0;
  uint8_t type = 0;  // 4-bit type field
  uint8_t present = 0;
  uint8_t dpl = 0;
  uint8_t db = 0;  // default operation size (1 = 32-bit)
  uint8_t s = 0;   // 1 = code/data, 0 = system (TSS)
  uint8_t l = 0;   // 64-bit code segment
  uint8_t g = 0;   // limit granularity 4 KiB
  uint8_t avl = 0;
};

// GDTR / IDTR.
struct DescriptorTableRegister {
  uint64_t base = 0;
  uint16_t limit = 0;  // size in bytes minus one
};

struct BootCpuState {
  // General registers; all others start at zero.
  uint64_t rip = 0;
  uint64_t rsp = 0;
  uint64_t rax = 0;       // multiboot: the boot loader magic
  uint64_t rbx = 0;       // PVH: physical address of hvm_start_info
  uint64_t rsi = 0;       // bzImage: physical address of boot_params
  uint64_t rflags = 0x2;  // bit 1 is reserved and always set; IF clear

  uint64_t cr0 = 0;
  uint64_t cr3 = 0;
  uint64_t cr4 = 0;
  uint64_t efer = 0;

  DescriptorTableRegister gdt;
  DescriptorTableRegister idt;

  SegmentDescriptor cs;
  SegmentDescriptor ds;
  SegmentDescriptor es;
  SegmentDescriptor fs;
  SegmentDescriptor gs;
  SegmentDescriptor ss;
  SegmentDescriptor tr;
  // LDTR is left null (not present), which KVM treats as unusable.
};

// The PVH entry state (Xen's "HVM direct boot ABI"): 32-bit flat protected
// mode, paging off, CS a 4 GiB read/execute segment, data segments 4 GiB
// read/write, EBX = start_info, a busy 32-bit TSS in TR.
BootCpuState ProtectedMode32BootState(uint32_t entry, uint32_t start_info);

// The Linux 64-bit boot protocol state: long mode with the identity-map page
// tables at layout::kPml4Addr, CS = __BOOT_CS (0x10, L = 1), DS/ES/SS =
// __BOOT_DS (0x18), RSI = boot_params, a busy 64-bit TSS in TR so that VMX
// guest-state checks pass.
BootCpuState LongMode64BootState(uint64_t entry, uint64_t zero_page);

// Encodes one descriptor in the GDT format: 8 bytes for code/data segments,
// 16 bytes (low, high) for a system segment in long mode. Fails when the limit
// cannot be expressed with the segment's granularity.
struct EncodedDescriptor {
  uint64_t low = 0;
  uint64_t high = 0;  // only for system descriptors in long mode
};
absl::StatusOr<EncodedDescriptor> EncodeDescriptor(const SegmentDescriptor& seg,
                                                   bool long_mode);

// Writes a GDT at state.gdt.base holding the descriptors of cs, ds, es, fs,
// gs, ss and tr at their selectors (null entries elsewhere), and an all-zero
// IDT at state.idt.base. Fails if two registers share a selector but not a
// descriptor, or a selector lies outside the GDT limit.
absl::Status WriteBootGdt(GuestMemory& mem, const BootCpuState& state);

}  // namespace kuml

#endif  // KUML_VMM_BOOT_CPU_STATE_H_
