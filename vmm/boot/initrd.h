// Placement and loading of the initial RAM disk.
//
// The initrd goes page-aligned at the top of the RAM the kernel may use for
// it (below the kernel's limit, 4 GiB and the end of low RAM) and above the
// kernel's memory footprint, the place boot loaders traditionally use.
#ifndef KUML_VMM_BOOT_INITRD_H_
#define KUML_VMM_BOOT_INITRD_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "vmm/guest_memory.h"

namespace kuml {

// Where the initrd was put; size 0 means there is none.
struct InitrdPlacement {
  uint64_t addr = 0;
  uint64_t size = 0;
};

// Picks the address for an initrd of `size` bytes: the highest page-aligned
// address with [addr, addr + size) below `limit` (exclusive; clipped to 4 GiB
// and the end of low RAM) and not below `kernel_end`. ResourceExhausted when
// it does not fit; the message names `path`.
absl::StatusOr<uint64_t> PlaceInitrd(const GuestMemory& mem,
                                     const std::string& path, uint64_t size,
                                     uint64_t kernel_end, uint64_t limit);

// Reads the initrd file at `path` into guest RAM at the place PlaceInitrd
// picks.
absl::StatusOr<InitrdPlacement> LoadInitrd(GuestMemory& mem,
                                           const std::string& path,
                                           uint64_t kernel_end, uint64_t limit);

}  // namespace kuml

#endif  // KUML_VMM_BOOT_INITRD_H_
