#include "vmm/boot/pvh.h"

#include <vector>

#include "absl/strings/str_format.h"
#include "vmm/boot/e820.h"
#include "vmm/boot/layout.h"

namespace kuml {

absl::StatusOr<BootCpuState> SetupPvhBoot(GuestMemory& mem, uint64_t entry,
                                          const InitrdPlacement& initrd) {
  if (entry > UINT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrFormat("PVH entry point %#x is not a 32-bit address", entry));
  }
  const std::vector<E820Entry> map = BuildE820Map(mem);
  if (map.size() > layout::kPvhMemmapMaxEntries) {
    return absl::InternalError(
        absl::StrFormat("memory map has %u entries; the PVH table holds %u",
                        map.size(), layout::kPvhMemmapMaxEntries));
  }
  std::vector<HvmMemmapTableEntry> memmap;
  for (const E820Entry& e : map) {
    memmap.push_back(HvmMemmapTableEntry{e.addr, e.size, e.type, 0});
  }
  absl::Status s = mem.Write(layout::kPvhMemmapAddr, memmap.data(),
                             memmap.size() * sizeof(HvmMemmapTableEntry));
  if (!s.ok()) return s;

  HvmStartInfo info = {};
  info.magic = kHvmStartMagic;
  info.version = kHvmStartInfoVersion;
  info.cmdline_paddr = layout::kCmdlineAddr;
  info.memmap_paddr = layout::kPvhMemmapAddr;
  info.memmap_entries = static_cast<uint32_t>(memmap.size());
  // rsdp_paddr 0: no ACPI; Linux falls back to the MP table.
  if (initrd.size != 0) {
    HvmModlistEntry module = {};
    module.paddr = initrd.addr;
    module.size = initrd.size;
    s = mem.WriteObject(layout::kPvhModlistAddr, module);
    if (!s.ok()) return s;
    info.nr_modules = 1;
    info.modlist_paddr = layout::kPvhModlistAddr;
  }
  s = mem.WriteObject(layout::kPvhStartInfoAddr, info);
  if (!s.ok()) return s;

  BootCpuState state = ProtectedMode32BootState(
      static_cast<uint32_t>(entry),
      static_cast<uint32_t>(layout::kPvhStartInfoAddr));
  s = WriteBootGdt(mem, state);
  if (!s.ok()) return s;
  return state;
}

}  // namespace kuml
