// PVH boot: the start-of-day structures of Xen's HVM direct boot ABI, which
// Linux (CONFIG_PVH) also accepts on KVM, and the 32-bit entry state.
//
// struct hvm_start_info (version 1) at layout::kPvhStartInfoAddr points at the
// command line, a memory map (the e820 map) and a module list holding the
// initrd. The vCPU starts in flat 32-bit protected mode at the kernel's
// XEN_ELFNOTE_PHYS32_ENTRY with EBX = start_info.
#ifndef KUML_VMM_BOOT_PVH_H_
#define KUML_VMM_BOOT_PVH_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "vmm/boot/cpu_state.h"
#include "vmm/boot/initrd.h"
#include "vmm/guest_memory.h"

namespace kuml {

constexpr uint32_t kHvmStartMagic = 0x336ec578;  // "xEn3" with 0x80 in 'E'
constexpr uint32_t kHvmStartInfoVersion = 1;     // has the memmap fields

// Guest-visible layouts (xen/include/public/arch-x86/hvm/start_info.h).
struct HvmStartInfo {
  uint32_t magic;
  uint32_t version;
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;
  uint64_t rsdp_paddr;
  uint64_t memmap_paddr;    // version >= 1
  uint32_t memmap_entries;  // version >= 1
  uint32_t reserved;
};
static_assert(sizeof(HvmStartInfo) == 56, "hvm_start_info layout");
static_assert(offsetof(HvmStartInfo, memmap_paddr) == 40, "layout");

struct HvmModlistEntry {
  uint64_t paddr;
  uint64_t size;
  uint64_t cmdline_paddr;
  uint64_t reserved;
};
static_assert(sizeof(HvmModlistEntry) == 32, "hvm_modlist_entry layout");

struct HvmMemmapTableEntry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;  // e820 type
  uint32_t reserved;
};
static_assert(sizeof(HvmMemmapTableEntry) == 24, "hvm_memmap_table_entry");

// Writes start_info (command line at layout::kCmdlineAddr, which the caller
// writes, the e820 map as memmap, the initrd as the one module when
// initrd.size != 0), the boot GDT and IDT, and returns the PVH entry state.
absl::StatusOr<BootCpuState> SetupPvhBoot(GuestMemory& mem, uint64_t entry,
                                          const InitrdPlacement& initrd);

}  // namespace kuml

#endif  // KUML_VMM_BOOT_PVH_H_
