// Guest physical layout used to boot a Linux x86-64 kernel.
//
// Everything the loaders write outside the kernel image has a fixed place
// below 1 MiB, so that the kernel (at 16 MiB or at its ELF addresses) and the
// initrd (at the top of low RAM) can never land on it. The places follow the
// conventions of the PC and of other small VMMs (Firecracker, Cloud
// Hypervisor), so a guest sees nothing surprising.
#ifndef KUML_VMM_BOOT_LAYOUT_H_
#define KUML_VMM_BOOT_LAYOUT_H_

#include <cstdint>

namespace kuml {
namespace layout {

// Global descriptor table for the boot vCPU: null, null, code (0x10),
// data (0x18), TSS (0x20, 16 bytes in long mode). 48 bytes: [0x500, 0x530).
// The selectors are Linux's __BOOT_CS / __BOOT_DS.
constexpr uint64_t kGdtAddr = 0x500;
constexpr uint16_t kGdtBytes = 0x30;
constexpr uint16_t kCodeSelector = 0x10;
constexpr uint16_t kDataSelector = 0x18;
constexpr uint16_t kTssSelector = 0x20;

// An empty (all not-present) interrupt descriptor table: any exception before
// the kernel installs its own IDT becomes a triple fault, i.e. a clean VM
// shutdown. It sits right after the GDT (0x520 would overlap the 16-byte TSS
// descriptor).
constexpr uint64_t kIdtAddr = 0x540;
constexpr uint16_t kIdtBytes = 8;

// PVH: struct hvm_start_info (56 bytes), then its memory map table, then the
// module list (the initrd). All three fit in the page at 0x6000.
constexpr uint64_t kPvhStartInfoAddr = 0x6000;
constexpr uint64_t kPvhMemmapAddr = 0x6040;
constexpr uint32_t kPvhMemmapMaxEntries = 8;  // 24 bytes each: up to 0x6100
constexpr uint64_t kPvhModlistAddr = 0x6100;  // one 32-byte entry

// bzImage: struct boot_params, the "zero page" (4 KiB).
constexpr uint64_t kZeroPageAddr = 0x7000;
constexpr uint64_t kZeroPageBytes = 0x1000;

// Initial stack pointer; the stack grows down through 0x8000..0x8ff0, which
// nothing else uses. Linux sets up its own stack almost at once.
constexpr uint64_t kBootStackPointer = 0x8ff0;

// Page tables for the bzImage 64-bit entry: an identity map of the first
// 1 GiB with 2 MiB pages (PML4[0] -> PDPT[0] -> PD[0..511]).
constexpr uint64_t kPml4Addr = 0x9000;
constexpr uint64_t kPdptAddr = 0xa000;
constexpr uint64_t kPdAddr = 0xb000;
constexpr uint64_t kIdentityMapBytes = 1ull << 30;

// The kernel command line, NUL-terminated; at most 4096 bytes with the NUL.
constexpr uint64_t kCmdlineAddr = 0x20000;
constexpr uint64_t kCmdlineMaxBytes = 4096;

// MP table (floating pointer, then the configuration table) at the start of
// the EBDA, 639 KiB, where Linux's smp_scan_config() looks. The e820 map marks
// [0x9fc00, 0xa0000) reserved; a table for many CPUs runs on into the legacy
// VGA hole [0xa0000, 0xf0000), which no memory map lists as RAM either.
constexpr uint64_t kMpTableAddr = 0x9fc00;
constexpr uint64_t kEbdaEnd = 0xa0000;       // end of conventional memory
constexpr uint64_t kMpTableLimit = 0xf0000;  // the table must end below this

// The BIOS area, reserved in the e820 map like on a PC.
constexpr uint64_t kBiosAreaStart = 0xf0000;
constexpr uint64_t kBiosAreaEnd = 0x100000;

// Start of "high memory": kernels, initrds and usable RAM above the legacy
// holes. No loaded image may start below it.
constexpr uint64_t kHighMemoryStart = 0x100000;

// Where a bzImage's protected-mode part goes when it has no usable
// pref_address (LOAD_PHYSICAL_ADDR of the x86-64 defconfig).
constexpr uint64_t kDefaultKernelAddr = 0x1000000;

// The initrd starts on a page boundary.
constexpr uint64_t kInitrdAlign = 0x1000;

// Interrupt controllers in the 32-bit MMIO hole (KVM's in-kernel models).
constexpr uint64_t kIoApicAddr = 0xfec00000;
constexpr uint64_t kLapicAddr = 0xfee00000;

static_assert(kGdtAddr + kGdtBytes <= kIdtAddr, "GDT overlaps IDT");
static_assert(kPvhMemmapAddr + 24 * kPvhMemmapMaxEntries <= kPvhModlistAddr,
              "PVH memmap overlaps the module list");
static_assert(kPvhModlistAddr + 32 <= kZeroPageAddr,
              "PVH module list overlaps the zero page");
static_assert(kZeroPageAddr + kZeroPageBytes < kBootStackPointer,
              "zero page overlaps the boot stack");
static_assert(kBootStackPointer <= kPml4Addr, "stack overlaps page tables");
static_assert(kPdAddr + 0x1000 <= kCmdlineAddr, "page tables overlap cmdline");
static_assert(kCmdlineAddr + kCmdlineMaxBytes <= kMpTableAddr,
              "command line overlaps the MP table");

}  // namespace layout
}  // namespace kuml

#endif  // KUML_VMM_BOOT_LAYOUT_H_
