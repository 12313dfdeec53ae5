// The guest's physical memory map (the BIOS "e820" map), built from the RAM
// regions of GuestMemory. Both boot paths hand it to the kernel: in the
// bzImage zero page (e820_table) and in the PVH start_info memmap.
#ifndef KUML_VMM_BOOT_E820_H_
#define KUML_VMM_BOOT_E820_H_

#include <cstdint>
#include <vector>

#include "vmm/guest_memory.h"

namespace kuml {

constexpr uint32_t kE820Ram = 1;
constexpr uint32_t kE820Reserved = 2;

struct E820Entry {
  uint64_t addr = 0;
  uint64_t size = 0;
  uint32_t type = 0;
};

// RAM [0, 0x9fc00), reserved [0x9fc00, 0xa0000) (MP table), reserved
// [0xf0000, 0x100000) (BIOS area), RAM [0x100000, end of low RAM), and RAM
// for the region above 4 GiB when the guest has one. [0xa0000, 0xf0000) and
// the 32-bit MMIO hole (IOAPIC, LAPIC, devices) are not listed. Entries are
// sorted and do not overlap; ranges that RAM does not back are left out.
std::vector<E820Entry> BuildE820Map(const GuestMemory& mem);

// End (exclusive) of the RAM region that starts at guest address 0: the
// part of RAM that 32-bit code, the initrd and the boot tables may use.
uint64_t LowRamEnd(const GuestMemory& mem);

}  // namespace kuml

#endif  // KUML_VMM_BOOT_E820_H_
