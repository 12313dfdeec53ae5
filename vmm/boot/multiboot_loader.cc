#include "vmm/boot/multiboot_loader.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "vmm/boot/cmdline.h"
#include "vmm/boot/e820.h"
#include "vmm/boot/layout.h"

namespace kuml {
namespace {

constexpr uint32_t kFlagPageAlign = 1u << 0;  // modules page aligned: fine
constexpr uint32_t kFlagMemInfo = 1u << 1;    // we always give memory info
constexpr uint32_t kFlagAddresses = 1u << 16;
// Bits 0-15 are requirements: refuse the ones we cannot meet (video mode...).
constexpr uint32_t kUnderstoodRequirements = kFlagPageAlign | kFlagMemInfo;

constexpr uint32_t kInfoMemory = 1u << 0;
constexpr uint32_t kInfoCmdline = 1u << 2;

// The part of struct multiboot_info we fill in.
struct MultibootInfo {
  uint32_t flags;
  uint32_t mem_lower;  // KiB below 1 MiB
  uint32_t mem_upper;  // KiB above 1 MiB
  uint32_t boot_device;
  uint32_t cmdline;
  uint32_t mods_count;
  uint32_t mods_addr;
};

uint32_t Le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

absl::Status Bad(const ImageFile& file, const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat(file.path(), ": multiboot kernel: ", what));
}

}  // namespace

std::optional<MultibootHeader> FindMultibootHeader(const uint8_t* head,
                                                   size_t n) {
  for (size_t off = 0; off + 32 <= n && off < kMultibootSearchBytes; off += 4) {
    const uint8_t* p = head + off;
    if (Le32(p) != kMultibootHeaderMagic) continue;
    uint32_t flags = Le32(p + 4);
    if (static_cast<uint32_t>(Le32(p) + flags + Le32(p + 8)) != 0) continue;
    MultibootHeader h;
    h.file_offset = off;
    h.flags = flags;
    h.header_addr = Le32(p + 12);
    h.load_addr = Le32(p + 16);
    h.load_end_addr = Le32(p + 20);
    h.bss_end_addr = Le32(p + 24);
    h.entry_addr = Le32(p + 28);
    return h;
  }
  return std::nullopt;
}

absl::StatusOr<BootCpuState> BootMultiboot(GuestMemory& mem,
                                           const ImageFile& file,
                                           const MultibootHeader& h,
                                           const std::string& cmdline) {
  if (!(h.flags & kFlagAddresses)) {
    return Bad(file,
               "only flat binaries with address fields (flag bit 16) "
               "are supported; ELF multiboot kernels are not");
  }
  uint32_t unmet = h.flags & 0xffff & ~kUnderstoodRequirements;
  if (unmet != 0) {
    return Bad(file, absl::StrFormat("requires features kuml lacks (flags "
                                     "%#x)",
                                     unmet));
  }
  if (h.header_addr < h.load_addr ||
      h.header_addr - h.load_addr > h.file_offset) {
    return Bad(file, "header_addr and load_addr do not match the file");
  }
  // File offset of load_addr.
  uint64_t start = h.file_offset - (h.header_addr - h.load_addr);
  uint64_t image_bytes = file.size() - start;
  if (h.load_end_addr != 0) {
    if (h.load_end_addr < h.load_addr ||
        h.load_end_addr - h.load_addr > image_bytes) {
      return Bad(file, "load_end_addr is outside the file");
    }
    image_bytes = h.load_end_addr - h.load_addr;
  }
  uint64_t load_end = uint64_t{h.load_addr} + image_bytes;
  uint64_t bss_end = h.bss_end_addr != 0 ? h.bss_end_addr : load_end;
  if (h.load_addr < layout::kHighMemoryStart || bss_end < load_end) {
    return Bad(file, absl::StrFormat("load address %#x is below 1 MiB or the "
                                     "bss ends before the image",
                                     h.load_addr));
  }
  if (h.entry_addr < h.load_addr || h.entry_addr >= load_end) {
    return Bad(file, absl::StrFormat("entry %#x is outside the loaded image",
                                     h.entry_addr));
  }
  if (!mem.Contains(h.load_addr, bss_end - h.load_addr)) {
    return Bad(file, absl::StrFormat("[%#x, %#x) does not fit in guest RAM",
                                     h.load_addr, bss_end));
  }
  absl::Status s =
      file.ReadIntoGuest(mem, h.load_addr, start, image_bytes, "image");
  if (!s.ok()) return s;
  s = mem.Zero(load_end, bss_end - load_end);
  if (!s.ok()) return s;
  s = WriteCommandLine(mem, cmdline);
  if (!s.ok()) return s;

  MultibootInfo info{};
  info.flags = kInfoMemory | kInfoCmdline;
  info.mem_lower = layout::kMpTableAddr / 1024;
  info.mem_upper = (LowRamEnd(mem) - layout::kHighMemoryStart) / 1024;
  info.cmdline = layout::kCmdlineAddr;
  // boot_params is not used by a multiboot kernel: its page holds the info.
  s = mem.WriteObject(layout::kZeroPageAddr, info);
  if (!s.ok()) return s;

  BootCpuState state =
      ProtectedMode32BootState(h.entry_addr, layout::kZeroPageAddr);
  state.rax = kMultibootBootloaderMagic;
  s = WriteBootGdt(mem, state);
  if (!s.ok()) return s;
  return state;
}

}  // namespace kuml
