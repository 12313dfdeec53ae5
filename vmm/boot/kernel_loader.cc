#include "vmm/boot/kernel_loader.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "vmm/boot/bzimage_loader.h"
#include "vmm/boot/cmdline.h"
#include "vmm/boot/elf_loader.h"
#include "vmm/boot/image_file.h"
#include "vmm/boot/initrd.h"
#include "vmm/boot/multiboot_loader.h"
#include "vmm/boot/pvh.h"

namespace kuml {
namespace {

enum class KernelFormat { kVmlinux, kBzImage, kMultiboot };

// Enough of the file to see the ELF magic, the "HdrS" signature or a
// multiboot header.
constexpr size_t kProbeBytes = kMultibootSearchBytes;
constexpr uint64_t k4GiB = 1ull << 32;

absl::StatusOr<KernelFormat> DetectFormat(const ImageFile& file) {
  uint8_t head[kProbeBytes] = {};
  const size_t n =
      static_cast<size_t>(std::min<uint64_t>(file.size(), sizeof(head)));
  absl::Status s = file.ReadAt(0, head, n, "file header");
  if (!s.ok()) return s;
  if (HasElfMagic(head, n)) return KernelFormat::kVmlinux;
  if (HasBzImageMagic(head, n)) return KernelFormat::kBzImage;
  if (FindMultibootHeader(head, n).has_value()) return KernelFormat::kMultiboot;
  return absl::InvalidArgumentError(absl::StrCat(
      file.path(),
      ": not a kernel kuml can boot (not an ELF vmlinux, a bzImage or a "
      "multiboot binary)"));
}

// Adds the file name to command-line errors, which know nothing of files.
absl::Status CmdlineError(const absl::Status& s, const std::string& kernel) {
  return absl::Status(s.code(), absl::StrCat(kernel, ": ", s.message()));
}

absl::StatusOr<InitrdPlacement> MaybeLoadInitrd(GuestMemory& mem,
                                                const KernelLoadRequest& req,
                                                uint64_t kernel_end,
                                                uint64_t limit) {
  if (!req.initrd_path.has_value()) return InitrdPlacement{};
  return LoadInitrd(mem, *req.initrd_path, kernel_end, limit);
}

absl::StatusOr<BootCpuState> BootVmlinux(GuestMemory& mem,
                                         const ImageFile& file,
                                         const KernelLoadRequest& req) {
  absl::StatusOr<VmlinuxImage> image = LoadVmlinux(mem, file);
  if (!image.ok()) return image.status();
  absl::StatusOr<InitrdPlacement> initrd =
      MaybeLoadInitrd(mem, req, image->kernel_end, k4GiB);
  if (!initrd.ok()) return initrd.status();
  absl::Status s = WriteCommandLine(mem, req.cmdline);
  if (!s.ok()) return s;
  return SetupPvhBoot(mem, image->pvh_entry, *initrd);
}

absl::StatusOr<BootCpuState> BootBzImage(GuestMemory& mem,
                                         const ImageFile& file,
                                         const KernelLoadRequest& req) {
  absl::StatusOr<BzImage> image = LoadBzImage(mem, file);
  if (!image.ok()) return image.status();
  absl::Status s = CheckCommandLine(req.cmdline, image->cmdline_max_bytes);
  if (!s.ok()) return CmdlineError(s, file.path());
  absl::StatusOr<InitrdPlacement> initrd =
      MaybeLoadInitrd(mem, req, image->kernel_end, image->initrd_limit);
  if (!initrd.ok()) return initrd.status();
  s = WriteCommandLine(mem, req.cmdline);
  if (!s.ok()) return s;
  return SetupBzImageBoot(mem, *image, *initrd);
}

absl::StatusOr<BootCpuState> BootMultibootFile(GuestMemory& mem,
                                               const ImageFile& file,
                                               const KernelLoadRequest& req) {
  if (req.initrd_path.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        file.path(), ": initrd= is not supported with multiboot kernels"));
  }
  uint8_t head[kProbeBytes] = {};
  const size_t n =
      static_cast<size_t>(std::min<uint64_t>(file.size(), sizeof(head)));
  absl::Status s = file.ReadAt(0, head, n, "file header");
  if (!s.ok()) return s;
  return BootMultiboot(mem, file, *FindMultibootHeader(head, n), req.cmdline);
}

// Finds "Linux version <digit>..." in a vmlinux and returns it up to the NUL.
absl::StatusOr<std::string> VmlinuxVersionString(const ImageFile& file) {
  static constexpr absl::string_view kBanner = "Linux version ";
  constexpr uint64_t kChunk = 1 << 20;
  constexpr uint64_t kMaxBanner = 512;  // linux_banner is ~150 bytes
  std::vector<char> buf;
  for (uint64_t offset = 0; offset < file.size();) {
    // Each window overlaps the next by a whole banner, so no match is split.
    const uint64_t len = std::min(kChunk + kMaxBanner, file.size() - offset);
    buf.resize(len);
    absl::Status s = file.ReadAt(offset, buf.data(), len, "kernel image");
    if (!s.ok()) return s;
    const absl::string_view window(buf.data(), len);
    for (size_t pos = window.find(kBanner); pos != absl::string_view::npos;
         pos = window.find(kBanner, pos + 1)) {
      if (pos >= kChunk && offset + len < file.size()) break;  // next window
      const absl::string_view rest = window.substr(pos);
      if (rest.size() <= kBanner.size() ||
          !std::isdigit(static_cast<unsigned char>(rest[kBanner.size()]))) {
        continue;  // "Linux version %s" format strings and prose
      }
      const size_t nul = rest.find('\0');
      if (nul == absl::string_view::npos) continue;  // unterminated at EOF
      absl::string_view banner =
          rest.substr(0, std::min<size_t>(nul, kMaxBanner));
      while (!banner.empty() &&
             (banner.back() == '\n' || banner.back() == '\r')) {
        banner.remove_suffix(1);
      }
      return std::string(banner);
    }
    if (offset + len >= file.size()) break;
    offset += kChunk;
  }
  return absl::NotFoundError(
      absl::StrCat(file.path(), ": no \"Linux version\" banner in the file"));
}

}  // namespace

absl::StatusOr<BootCpuState> LoadKernel(GuestMemory& mem,
                                        const KernelLoadRequest& req) {
  absl::StatusOr<ImageFile> file = ImageFile::Open(req.kernel_path);
  if (!file.ok()) return file.status();
  // The generic limit first, so a long line fails before any loading.
  absl::Status s = CheckCommandLine(req.cmdline, UINT64_MAX);
  if (!s.ok()) return CmdlineError(s, file->path());
  absl::StatusOr<KernelFormat> format = DetectFormat(*file);
  if (!format.ok()) return format.status();
  switch (*format) {
    case KernelFormat::kVmlinux:
      return BootVmlinux(mem, *file, req);
    case KernelFormat::kBzImage:
      return BootBzImage(mem, *file, req);
    case KernelFormat::kMultiboot:
      return BootMultibootFile(mem, *file, req);
  }
  return absl::InternalError("unknown kernel format");
}

absl::StatusOr<std::string> KernelVersionString(const std::string& path) {
  absl::StatusOr<ImageFile> file = ImageFile::Open(path);
  if (!file.ok()) return file.status();
  absl::StatusOr<KernelFormat> format = DetectFormat(*file);
  if (!format.ok()) return format.status();
  switch (*format) {
    case KernelFormat::kBzImage:
      return BzImageVersionString(*file);
    case KernelFormat::kVmlinux:
      return VmlinuxVersionString(*file);
    case KernelFormat::kMultiboot:
      break;
  }
  return absl::NotFoundError(
      absl::StrCat(path, ": a multiboot binary carries no version string"));
}

absl::StatusOr<KernelNotes> ReadKernelNotes(const std::string& path) {
  absl::StatusOr<ImageFile> file = ImageFile::Open(path);
  if (!file.ok()) return file.status();
  absl::StatusOr<KernelFormat> format = DetectFormat(*file);
  if (!format.ok()) return format.status();
  KernelNotes notes;
  if (*format != KernelFormat::kVmlinux) return notes;
  absl::StatusOr<VmlinuxNotes> found = ReadVmlinuxNotes(*file);
  if (!found.ok()) return found.status();
  notes.uml_device_names = found->kuml_uml_names;
  return notes;
}

}  // namespace kuml
