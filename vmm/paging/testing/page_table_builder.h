// PageTableBuilder: writes x86-64 4-level page tables into guest RAM, for
// tests that need a guest with virtual memory (the page walk's callers: the
// gdb stub's fake target and its fuzzer).
//
// Tables come from a bump allocator over a region of guest RAM the caller
// sets aside; every table is zeroed when taken. Only 4 KiB pages, mapped
// writable; a page mapped twice is remapped.
#ifndef KUML_VMM_PAGING_TESTING_PAGE_TABLE_BUILDER_H_
#define KUML_VMM_PAGING_TESTING_PAGE_TABLE_BUILDER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "vmm/guest_memory.h"
#include "vmm/paging/page_walk.h"

namespace kuml {

class PageTableBuilder {
 public:
  // Takes tables from [area_gpa, area_gpa + area_bytes) (4 KiB aligned,
  // guest RAM) and allocates the PML4 at once. `memory` must outlive the
  // builder.
  static absl::StatusOr<PageTableBuilder> Create(GuestMemory* memory,
                                                 uint64_t area_gpa,
                                                 uint64_t area_bytes);

  // Maps the 4 KiB page at `gva` (canonical, aligned) to `gpa` (aligned).
  absl::Status Map(uint64_t gva, uint64_t gpa);
  // Maps `bytes` (a multiple of 4 KiB) from `gva` to `gpa` onward.
  absl::Status MapRange(uint64_t gva, uint64_t gpa, uint64_t bytes);

  uint64_t cr3() const { return pml4_; }
  // Long-mode registers using these tables: CR0.PE|PG, CR4.PAE,
  // EFER.LME|LMA.
  PagingRegs LongModeRegs() const;

 private:
  PageTableBuilder(GuestMemory* memory, uint64_t next, uint64_t end)
      : memory_(memory), next_(next), end_(end) {}
  absl::StatusOr<uint64_t> NewTable();

  GuestMemory* memory_;  // not owned
  uint64_t next_;        // next free table
  uint64_t end_;         // end of the table area
  uint64_t pml4_ = 0;
};

}  // namespace kuml

#endif  // KUML_VMM_PAGING_TESTING_PAGE_TABLE_BUILDER_H_
