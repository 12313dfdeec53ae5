// Loader for an uncompressed Linux x86-64 kernel (vmlinux, ELF64) that is
// entered through the PVH boot ABI.
//
// Each PT_LOAD segment is copied to its physical address (p_paddr) with its
// bss zeroed; the 32-bit entry point comes from the kernel's
// XEN_ELFNOTE_PHYS32_ENTRY note (built with CONFIG_PVH). The file is treated
// as untrusted: every offset, size and address is checked before anything is
// written to guest RAM.
#ifndef KUML_VMM_BOOT_ELF_LOADER_H_
#define KUML_VMM_BOOT_ELF_LOADER_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "vmm/boot/image_file.h"
#include "vmm/guest_memory.h"

namespace kuml {

// ELF note type of the PVH entry point, in a note named "Xen".
constexpr uint32_t kXenElfNotePhys32Entry = 18;
// ELF note type, in a note named "kuml" with a u32 version (1), of a kernel
// that gives kuml's devices UML's names when booted with kuml_names=uml
// (guest/patches/0003-*, include/linux/kuml_names.h there).
constexpr uint32_t kKumlElfNoteUmlNames = 1;

// The notes of a vmlinux that kuml reads.
struct VmlinuxNotes {
  std::optional<uint64_t> pvh_entry;  // XEN_ELFNOTE_PHYS32_ENTRY
  bool kuml_uml_names = false;        // kKumlElfNoteUmlNames
};

// What a loaded vmlinux tells the rest of the boot.
struct VmlinuxImage {
  uint64_t pvh_entry = 0;     // 32-bit physical entry point
  uint64_t kernel_start = 0;  // lowest p_paddr of the loaded segments
  uint64_t kernel_end = 0;    // highest p_paddr + p_memsz (exclusive)
};

// Reads the notes of an ELF vmlinux without loading it (every note segment;
// errors as LoadVmlinux's for the headers and notes).
absl::StatusOr<VmlinuxNotes> ReadVmlinuxNotes(const ImageFile& file);

// True when `head` starts with the ELF magic.
bool HasElfMagic(const uint8_t* head, size_t len);

// Validates the file and loads it into `mem`. Segments must lie in the RAM
// region below the 32-bit hole and at or above 1 MiB (the boot tables live
// below). Fails with "<path>: ..." naming what is wrong; when the file has no
// PVH note it says so and suggests a bzImage or CONFIG_PVH.
absl::StatusOr<VmlinuxImage> LoadVmlinux(GuestMemory& mem,
                                         const ImageFile& file);

}  // namespace kuml

#endif  // KUML_VMM_BOOT_ELF_LOADER_H_
