// Guest virtual -> guest physical translation the way an x86-64 CPU does it,
// for the VMM's own accesses by guest virtual address (the gdb stub reads and
// writes the guest's memory at the addresses its code uses).
//
// The walk reads the guest's page tables through GuestMemory, so a table
// outside guest RAM is an error, never a host access. It is a debugger's
// walk, not a CPU's:
//  - access rights (R/W, U/S, NX, SMEP/SMAP, protection keys) are not
//    checked: a debugger reads and writes what the guest itself may not
//    (software breakpoints go into read-only kernel text);
//  - accessed and dirty bits are not set;
//  - reserved bits are not checked, except PS in a PML5/PML4 entry, which
//    has no meaning there and is refused;
//  - no TLB: the answer is what the tables in RAM say now, which may differ
//    from what a vCPU still has cached. In PAE mode the four PDPTEs are read
//    from RAM too, not from the registers the CPU loaded at its last MOV CR3.
//
// Modes, chosen from the registers as the CPU does:
//  - CR0.PG clear: no paging, the address is the physical address (no
//    32-bit wrap; an address beyond RAM fails when it is accessed);
//  - CR0.PG, CR4.PAE, EFER.LMA clear: PAE paging (32-bit addresses, 3
//    levels, 2 MiB and 4 KiB pages);
//  - CR0.PG, EFER.LMA: long mode, 4 levels or 5 with CR4.LA57, 1 GiB,
//    2 MiB and 4 KiB pages, canonical addresses only (48 or 57 bits);
//  - CR0.PG without CR4.PAE (32-bit paging, 4 MiB PSE pages): refused with
//    Unimplemented. Nothing kuml boots uses it (x86-64 Linux, PVH and
//    multiboot kernels start in long mode, flat protected mode or PAE).
//
// Physical addresses are taken as 52 bits wide (the architectural maximum);
// bits above in an entry (NX, protection keys, ignored bits) are dropped.
//
// Errors name the virtual address and, for the walk, the level and entry:
//  - InvalidArgument: non-canonical address, or beyond 32 bits in PAE mode,
//    or a range that wraps around the address space;
//  - NotFound: an entry on the walk is not present ("PDPT entry 3 ... is not
//    present");
//  - FailedPrecondition: PS set in a PML5/PML4 entry;
//  - OutOfRange: a page table, or (for Read/WriteGva) the page itself, is
//    not guest RAM;
//  - Unimplemented: 32-bit non-PAE paging.
//
// Thread safety: as GuestMemory. The walk only reads guest RAM; the guest
// may change its tables meanwhile (a vCPU that runs), and then the answer
// is one of the states they went through, as for any debugger.
#ifndef KUML_VMM_PAGING_PAGE_WALK_H_
#define KUML_VMM_PAGING_PAGE_WALK_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "vmm/cpu/control_registers.h"
#include "vmm/guest_memory.h"

namespace kuml {

// The registers that decide how a vCPU translates addresses, as KVM's
// kvm_sregs holds them.
struct PagingRegs {
  uint64_t cr0 = 0;
  uint64_t cr3 = 0;
  uint64_t cr4 = 0;
  uint64_t efer = 0;
};

// The CR0/CR4/EFER bits the walk looks at: vmm/cpu/control_registers.h.

// Page-table entry bits.
inline constexpr uint64_t kPtePresent = 1ull << 0;
inline constexpr uint64_t kPteWritable = 1ull << 1;
inline constexpr uint64_t kPteLarge = 1ull << 7;  // PS: 2 MiB / 1 GiB page
inline constexpr uint64_t kPteAddressMask = 0x000f'ffff'ffff'f000ull;

// Where one guest virtual address lands.
struct GvaTranslation {
  uint64_t gpa = 0;  // guest physical address of the byte at the address
  // Size of the page that maps it (4 KiB, 2 MiB or 1 GiB; 4 KiB without
  // paging): the bytes up to the end of this page translate contiguously.
  uint64_t page_size = 0;
};

// Translates `gva` with the vCPU state `regs`. The resulting address need
// not be RAM (a page may map MMIO): that is checked on access.
absl::StatusOr<GvaTranslation> TranslateGva(const GuestMemory& memory,
                                            const PagingRegs& regs,
                                            uint64_t gva);

// Reads `dst.size()` bytes of guest virtual memory from `gva`, translating
// page by page. On error `dst` holds an unspecified part of the data.
absl::Status ReadGva(const GuestMemory& memory, const PagingRegs& regs,
                     uint64_t gva, absl::Span<uint8_t> dst);

// Writes `src` to guest virtual memory at `gva`. Every page of the range is
// translated and checked before the first byte is written: on error nothing
// was written.
absl::Status WriteGva(GuestMemory& memory, const PagingRegs& regs, uint64_t gva,
                      absl::Span<const uint8_t> src);

}  // namespace kuml

#endif  // KUML_VMM_PAGING_PAGE_WALK_H_
