// Loader for a Linux x86-64 bzImage entered through the 64-bit boot protocol
// (Documentation/arch/x86/boot.rst).
//
// The real-mode setup code is not run: the protected-mode part goes to its
// load address, the setup header is copied into a fresh boot_params (zero
// page) and completed the way a boot loader must, and the vCPU starts in long
// mode at load address + 0x200 (startup_64) with identity-mapped page tables.
// The file is untrusted: header values are range-checked before use.
#ifndef KUML_VMM_BOOT_BZIMAGE_LOADER_H_
#define KUML_VMM_BOOT_BZIMAGE_LOADER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "vmm/boot/cpu_state.h"
#include "vmm/boot/image_file.h"
#include "vmm/boot/initrd.h"
#include "vmm/guest_memory.h"

namespace kuml {

// Oldest boot protocol accepted: 2.12 added xloadflags (XLF_KERNEL_64) and
// the ext_* fields.
constexpr uint16_t kMinBootProtocol = 0x020c;

// A bzImage whose protected-mode part is in guest RAM.
struct BzImage {
  uint64_t load_addr = 0;   // where the protected-mode kernel starts
  uint64_t kernel_end = 0;  // load_addr + max(init_size, its size)
  // Longest command line the kernel takes, with the NUL (cmdline_size + 1).
  uint64_t cmdline_max_bytes = 0;
  // The initrd must end at or below this (initrd_addr_max + 1).
  uint64_t initrd_limit = 0;
  // Setup header bytes [0x1f1, end of header) from the file.
  std::vector<uint8_t> setup_header;
};

// True when `head` (the file's first bytes) has the "HdrS" signature.
bool HasBzImageMagic(const uint8_t* head, size_t len);

// Validates the setup header and copies the protected-mode kernel to its load
// address: pref_address when it fits, else 16 MiB (aligned to
// kernel_alignment) for a relocatable kernel.
absl::StatusOr<BzImage> LoadBzImage(GuestMemory& mem, const ImageFile& file);

// Writes boot_params at layout::kZeroPageAddr (setup header, loader fields,
// command line at layout::kCmdlineAddr, the initrd when initrd.size != 0, the
// e820 map), the identity page tables and the GDT/IDT, and returns the 64-bit
// entry state.
absl::StatusOr<BootCpuState> SetupBzImageBoot(GuestMemory& mem,
                                              const BzImage& image,
                                              const InitrdPlacement& initrd);

// "Linux version <kernel_version string>" from the setup header.
absl::StatusOr<std::string> BzImageVersionString(const ImageFile& file);

}  // namespace kuml

#endif  // KUML_VMM_BOOT_BZIMAGE_LOADER_H_
