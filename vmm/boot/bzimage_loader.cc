#include "vmm/boot/bzimage_loader.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "vmm/boot/e820.h"
#include "vmm/boot/layout.h"
#include "vmm/boot/le_bytes.h"
#include "vmm/boot/page_tables.h"

namespace kuml {
namespace {

// Offsets in the bzImage file, which are also offsets in boot_params
// (the setup header sits at the same place in both).
constexpr size_t kSetupSects = 0x1f1;
constexpr size_t kBootFlag = 0x1fe;
constexpr size_t kJump = 0x200;  // 2-byte short jump; its second byte ...
constexpr size_t kHeaderMagic = 0x202;
constexpr size_t kVersion = 0x206;
constexpr size_t kKernelVersion = 0x20e;
constexpr size_t kTypeOfLoader = 0x210;
constexpr size_t kLoadFlags = 0x211;
constexpr size_t kRamdiskImage = 0x218;
constexpr size_t kRamdiskSize = 0x21c;
constexpr size_t kHeapEndPtr = 0x224;
constexpr size_t kCmdLinePtr = 0x228;
constexpr size_t kInitrdAddrMax = 0x22c;
constexpr size_t kKernelAlignment = 0x230;
constexpr size_t kRelocatableKernel = 0x234;
constexpr size_t kXLoadFlags = 0x236;
constexpr size_t kCmdlineSize = 0x238;
constexpr size_t kHardwareSubarch = 0x23c;
constexpr size_t kSetupData = 0x250;
constexpr size_t kPrefAddress = 0x258;
constexpr size_t kInitSize = 0x260;
constexpr size_t kHeaderFieldsEnd = 0x264;  // end of what protocol 2.12 uses
constexpr size_t kHeaderMax = 0x290;        // boot_params has room up to here

// boot_params fields outside the setup header.
constexpr size_t kExtRamdiskImage = 0x0c0;
constexpr size_t kExtRamdiskSize = 0x0c4;
constexpr size_t kExtCmdLinePtr = 0x0c8;
constexpr size_t kE820Entries = 0x1e8;
constexpr size_t kE820Table = 0x2d0;
constexpr size_t kE820MaxEntries = 128;
constexpr size_t kE820EntryBytes = 20;

constexpr uint16_t kBootFlagMagic = 0xaa55;
constexpr uint8_t kLoadedHigh = 0x01;
constexpr uint8_t kCanUseHeap = 0x80;
constexpr uint16_t kXlfKernel64 = 0x1;
constexpr uint8_t kLoaderTypeUndefined = 0xff;
// End of the setup heap minus 0x200, as in the protocol's example for a
// setup segment with a 0x10000-byte window; unused by the 64-bit entry.
constexpr uint16_t kHeapEnd = 0xe000 - 0x200;
constexpr uint64_t kEntryOffset = 0x200;  // startup_64
constexpr uint64_t kMiB = 1 << 20;

struct SetupHeader {
  uint64_t setup_bytes = 0;  // real-mode part: (setup_sects + 1) * 512
  uint16_t version = 0;
  uint8_t loadflags = 0;
  uint16_t xloadflags = 0;
  uint32_t kernel_alignment = 0;
  bool relocatable = false;
  uint32_t cmdline_size = 0;
  uint32_t initrd_addr_max = 0;
  uint64_t pref_address = 0;
  uint32_t init_size = 0;
  uint16_t kernel_version = 0;
  std::vector<uint8_t> raw;  // [0x1f1, header end)
};

absl::Status Invalid(const ImageFile& file, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(file.path(), ": ", what));
}

absl::StatusOr<SetupHeader> ReadSetupHeader(const ImageFile& file) {
  uint8_t head[kHeaderMax];
  absl::Status s = file.ReadAt(0, head, sizeof(head), "bzImage setup header");
  if (!s.ok()) return s;
  if (!HasBzImageMagic(head, sizeof(head))) {
    return Invalid(file, "not a bzImage (no \"HdrS\" setup header)");
  }
  if (LoadLe16(head + kBootFlag) != kBootFlagMagic) {
    return Invalid(file, "bzImage boot flag is not 0xaa55");
  }
  SetupHeader h;
  h.version = LoadLe16(head + kVersion);
  if (h.version < kMinBootProtocol) {
    return Invalid(
        file, absl::StrFormat("boot protocol %u.%02u is too old; 64-bit entry "
                              "needs %u.%02u (Linux 3.8 or newer)",
                              h.version >> 8, h.version & 0xff,
                              kMinBootProtocol >> 8, kMinBootProtocol & 0xff));
  }
  const size_t header_end = kHeaderMagic + head[kJump + 1];
  if (header_end < kHeaderFieldsEnd) {
    return Invalid(
        file, absl::StrFormat("setup header ends at %#x, before the fields of "
                              "protocol 2.12 (%#x)",
                              header_end, kHeaderFieldsEnd));
  }
  h.raw.assign(head + kSetupSects, head + std::min(header_end, kHeaderMax));
  uint64_t sects = head[kSetupSects];
  if (sects == 0) sects = 4;  // the protocol's rule for old images
  h.setup_bytes = (sects + 1) * 512;
  h.loadflags = head[kLoadFlags];
  h.xloadflags = LoadLe16(head + kXLoadFlags);
  h.kernel_alignment = LoadLe32(head + kKernelAlignment);
  h.relocatable = head[kRelocatableKernel] != 0;
  h.cmdline_size = LoadLe32(head + kCmdlineSize);
  h.initrd_addr_max = LoadLe32(head + kInitrdAddrMax);
  h.pref_address = LoadLe64(head + kPrefAddress);
  h.init_size = LoadLe32(head + kInitSize);
  h.kernel_version = LoadLe16(head + kKernelVersion);
  return h;
}

// The load address for a kernel needing `footprint` bytes, or an error that
// says why none works.
absl::StatusOr<uint64_t> ChooseLoadAddress(const GuestMemory& mem,
                                           const ImageFile& file,
                                           const SetupHeader& h,
                                           uint64_t footprint) {
  uint64_t align = 1;
  if (h.relocatable) {
    align = h.kernel_alignment;
    if (align == 0 || (align & (align - 1)) != 0 ||
        align > layout::kIdentityMapBytes) {
      return Invalid(
          file, absl::StrFormat("kernel_alignment %#x is not a power of two "
                                "up to 1 GiB",
                                align));
    }
  }
  const uint64_t low_end = LowRamEnd(mem);
  // Inside low RAM and inside the identity map the entry runs on.
  const uint64_t limit = std::min(low_end, layout::kIdentityMapBytes);
  auto fits = [&](uint64_t addr) {
    return addr >= layout::kHighMemoryStart && addr % align == 0 &&
           addr <= limit && footprint <= limit - addr;
  };
  if (fits(h.pref_address)) return h.pref_address;
  uint64_t addr = h.pref_address;
  if (h.relocatable) {
    addr = (layout::kDefaultKernelAddr + align - 1) & ~(align - 1);
    if (fits(addr)) return addr;
  }
  if (addr < layout::kHighMemoryStart) {
    return Invalid(
        file, absl::StrFormat("kernel load address %#x is below 1 MiB", addr));
  }
  if (addr > layout::kIdentityMapBytes ||
      footprint > layout::kIdentityMapBytes - addr) {
    return Invalid(
        file, absl::StrFormat("kernel at %#x needs %#x bytes (init_size), past "
                              "the first 1 GiB the boot page tables map",
                              addr, footprint));
  }
  return absl::ResourceExhaustedError(absl::StrFormat(
      "%s: kernel needs %u MiB; guest has %u MiB: raise mem=", file.path(),
      (addr + footprint + kMiB - 1) / kMiB, mem.ram_bytes() / kMiB));
}

}  // namespace

bool HasBzImageMagic(const uint8_t* head, size_t len) {
  return len >= kHeaderMagic + 4 &&
         std::memcmp(head + kHeaderMagic, "HdrS", 4) == 0;
}

absl::StatusOr<BzImage> LoadBzImage(GuestMemory& mem, const ImageFile& file) {
  absl::StatusOr<SetupHeader> h = ReadSetupHeader(file);
  if (!h.ok()) return h.status();
  if ((h->xloadflags & kXlfKernel64) == 0) {
    return Invalid(file,
                   "bzImage has no 64-bit entry point (XLF_KERNEL_64 not set "
                   "in xloadflags); is it a 32-bit kernel?");
  }
  if ((h->loadflags & kLoadedHigh) == 0) {
    return Invalid(file, "a zImage (LOADED_HIGH not set) cannot be loaded");
  }
  if (h->setup_bytes >= file.size()) {
    return Invalid(
        file, absl::StrFormat("truncated: no protected-mode kernel after the "
                              "%u-byte setup (file has %u bytes)",
                              h->setup_bytes, file.size()));
  }
  const uint64_t pm_bytes = file.size() - h->setup_bytes;
  const uint64_t footprint = std::max<uint64_t>(h->init_size, pm_bytes);
  absl::StatusOr<uint64_t> addr = ChooseLoadAddress(mem, file, *h, footprint);
  if (!addr.ok()) return addr.status();

  absl::Status s = file.ReadIntoGuest(mem, *addr, h->setup_bytes, pm_bytes,
                                      "protected-mode kernel");
  if (!s.ok()) return s;

  BzImage image;
  image.load_addr = *addr;
  image.kernel_end = *addr + footprint;
  image.cmdline_max_bytes = static_cast<uint64_t>(h->cmdline_size) + 1;
  image.initrd_limit = static_cast<uint64_t>(h->initrd_addr_max) + 1;
  image.setup_header = std::move(h->raw);
  return image;
}

absl::StatusOr<BootCpuState> SetupBzImageBoot(GuestMemory& mem,
                                              const BzImage& image,
                                              const InitrdPlacement& initrd) {
  if (image.setup_header.size() > kHeaderMax - kSetupSects) {
    return absl::InvalidArgumentError("setup header larger than boot_params");
  }
  uint8_t zp[layout::kZeroPageBytes] = {};
  std::memcpy(zp + kSetupSects, image.setup_header.data(),
              image.setup_header.size());
  // The fields a boot loader must or may write (boot.rst, "the real-mode
  // kernel header" table, "write" and "modify" entries).
  zp[kTypeOfLoader] = kLoaderTypeUndefined;
  zp[kLoadFlags] = static_cast<uint8_t>(zp[kLoadFlags] | kCanUseHeap);
  StoreLe16(zp + kHeapEndPtr, kHeapEnd);
  StoreLe32(zp + kCmdLinePtr, static_cast<uint32_t>(layout::kCmdlineAddr));
  StoreLe32(zp + kExtCmdLinePtr,
            static_cast<uint32_t>(layout::kCmdlineAddr >> 32));
  StoreLe32(zp + kRamdiskImage, static_cast<uint32_t>(initrd.addr));
  StoreLe32(zp + kExtRamdiskImage, static_cast<uint32_t>(initrd.addr >> 32));
  StoreLe32(zp + kRamdiskSize, static_cast<uint32_t>(initrd.size));
  StoreLe32(zp + kExtRamdiskSize, static_cast<uint32_t>(initrd.size >> 32));
  // A PC, and no setup_data list: the file's values are not ours to pass on.
  StoreLe32(zp + kHardwareSubarch, 0);
  StoreLe64(zp + kSetupData, 0);

  const std::vector<E820Entry> map = BuildE820Map(mem);
  if (map.size() > kE820MaxEntries) {
    return absl::InternalError("e820 map does not fit in boot_params");
  }
  zp[kE820Entries] = static_cast<uint8_t>(map.size());
  for (size_t i = 0; i < map.size(); ++i) {
    uint8_t* e = zp + kE820Table + i * kE820EntryBytes;
    StoreLe64(e, map[i].addr);
    StoreLe64(e + 8, map[i].size);
    StoreLe32(e + 16, map[i].type);
  }
  absl::Status s = mem.Write(layout::kZeroPageAddr, zp, sizeof(zp));
  if (!s.ok()) return s;
  s = WriteIdentityPageTables(mem);
  if (!s.ok()) return s;
  BootCpuState state = LongMode64BootState(image.load_addr + kEntryOffset,
                                           layout::kZeroPageAddr);
  s = WriteBootGdt(mem, state);
  if (!s.ok()) return s;
  return state;
}

absl::StatusOr<std::string> BzImageVersionString(const ImageFile& file) {
  absl::StatusOr<SetupHeader> h = ReadSetupHeader(file);
  if (!h.ok()) return h.status();
  if (h->kernel_version == 0) {
    return Invalid(file, "bzImage has no kernel version string");
  }
  const uint64_t start = 0x200 + static_cast<uint64_t>(h->kernel_version);
  const uint64_t end = std::min(h->setup_bytes, file.size());
  if (start >= end) {
    return Invalid(
        file, absl::StrFormat("kernel version string at %#x is outside the "
                              "setup code",
                              start));
  }
  std::string buf(std::min<uint64_t>(end - start, 512), '\0');
  absl::Status s =
      file.ReadAt(start, buf.data(), buf.size(), "kernel version string");
  if (!s.ok()) return s;
  const size_t nul = buf.find('\0');
  if (nul == std::string::npos || nul == 0) {
    return Invalid(file, "kernel version string is empty or unterminated");
  }
  buf.resize(nul);
  return absl::StrCat("Linux version ", buf);
}

}  // namespace kuml
