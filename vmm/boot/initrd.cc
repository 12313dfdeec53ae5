#include "vmm/boot/initrd.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "vmm/boot/e820.h"
#include "vmm/boot/image_file.h"
#include "vmm/boot/layout.h"

namespace kuml {
namespace {
constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t k4GiB = 1ull << 32;
}  // namespace

absl::StatusOr<uint64_t> PlaceInitrd(const GuestMemory& mem,
                                     const std::string& path, uint64_t size,
                                     uint64_t kernel_end, uint64_t limit) {
  const uint64_t top = std::min({limit, LowRamEnd(mem), k4GiB});
  const uint64_t floor = std::max(kernel_end, layout::kHighMemoryStart);
  if (size == 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": initrd is empty"));
  }
  if (size > top || floor > top ||
      ((top - size) & ~(layout::kInitrdAlign - 1)) < floor) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%s: initrd does not fit: it needs %u MiB between the kernel's end at "
        "%#x and %#x; guest has %u MiB: raise mem=",
        path, (size + kMiB - 1) / kMiB, floor, top, mem.ram_bytes() / kMiB));
  }
  return (top - size) & ~(layout::kInitrdAlign - 1);
}

absl::StatusOr<InitrdPlacement> LoadInitrd(GuestMemory& mem,
                                           const std::string& path,
                                           uint64_t kernel_end,
                                           uint64_t limit) {
  absl::StatusOr<ImageFile> file = ImageFile::Open(path);
  if (!file.ok()) return file.status();
  absl::StatusOr<uint64_t> addr =
      PlaceInitrd(mem, path, file->size(), kernel_end, limit);
  if (!addr.ok()) return addr.status();
  absl::Status s = file->ReadIntoGuest(mem, *addr, 0, file->size(), "initrd");
  if (!s.ok()) return s;
  return InitrdPlacement{*addr, file->size()};
}

}  // namespace kuml
