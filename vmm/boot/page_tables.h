// Identity-map page tables for entering a kernel in long mode.
#ifndef KUML_VMM_BOOT_PAGE_TABLES_H_
#define KUML_VMM_BOOT_PAGE_TABLES_H_

#include "absl/status/status.h"
#include "vmm/guest_memory.h"

namespace kuml {

// Writes PML4 (layout::kPml4Addr) -> PDPT (kPdptAddr) -> PD (kPdAddr) mapping
// guest virtual [0, 1 GiB) to the same physical addresses with 2 MiB pages,
// present and writable. All other entries are zero.
absl::Status WriteIdentityPageTables(GuestMemory& mem);

}  // namespace kuml

#endif  // KUML_VMM_BOOT_PAGE_TABLES_H_
