// Multiboot (version 1) kernels that are flat binaries: the header's address
// fields (flag bit 16) say where the file goes and where to enter. kuml's test
// payloads are such binaries, so the same file boots in kuml and in QEMU
// (`-kernel`) for side-by-side benchmarks; small multiboot test kernels work
// too. Entered in 32-bit flat protected mode with EAX = 0x2badb002 and EBX =
// a multiboot information structure (memory sizes, command line).
#ifndef KUML_VMM_BOOT_MULTIBOOT_LOADER_H_
#define KUML_VMM_BOOT_MULTIBOOT_LOADER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "vmm/boot/cpu_state.h"
#include "vmm/boot/image_file.h"
#include "vmm/guest_memory.h"

namespace kuml {

constexpr uint32_t kMultibootHeaderMagic = 0x1badb002;
constexpr uint32_t kMultibootBootloaderMagic = 0x2badb002;
// The header must lie in the first 8 KiB, 4-byte aligned.
constexpr uint64_t kMultibootSearchBytes = 8192;

struct MultibootHeader {
  uint64_t file_offset = 0;  // where the header is in the file
  uint32_t flags = 0;
  uint32_t header_addr = 0;
  uint32_t load_addr = 0;
  uint32_t load_end_addr = 0;  // 0: to the end of the file
  uint32_t bss_end_addr = 0;   // 0: no bss
  uint32_t entry_addr = 0;
};

// The header (magic and checksum valid), or nullopt when there is none.
std::optional<MultibootHeader> FindMultibootHeader(const uint8_t* head,
                                                   size_t n);

// Loads the binary, writes the information structure and the command line,
// and returns the entry state. Errors name the file.
absl::StatusOr<BootCpuState> BootMultiboot(GuestMemory& mem,
                                           const ImageFile& file,
                                           const MultibootHeader& header,
                                           const std::string& cmdline);

}  // namespace kuml

#endif  // KUML_VMM_BOOT_MULTIBOOT_LOADER_H_
