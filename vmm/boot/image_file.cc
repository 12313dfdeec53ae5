#include "vmm/boot/image_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/errno_status.h"

namespace kuml {

absl::StatusOr<ImageFile> ImageFile::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(absl::StrCat(path, ": open"));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return ErrnoStatus(absl::StrCat(path, ": fstat"));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a regular file"));
  }
  return ImageFile(path, std::move(fd), static_cast<uint64_t>(st.st_size));
}

absl::Status ImageFile::Truncated(uint64_t offset, uint64_t len,
                                  absl::string_view what) const {
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s: truncated or corrupt: %s needs file bytes [%#x, +%#x) but the file "
      "has %u bytes",
      path_, what, offset, len, size_));
}

absl::Status ImageFile::ReadAt(uint64_t offset, void* dst, uint64_t len,
                               absl::string_view what) const {
  if (!Has(offset, len)) return Truncated(offset, len, what);
  uint8_t* out = static_cast<uint8_t*>(dst);
  uint64_t done = 0;
  while (done < len) {
    // pread takes at most SSIZE_MAX and Linux caps a single read near 2 GiB.
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(len - done, 1 << 30));
    ssize_t n = ::pread(fd_.get(), out + done, chunk,
                        static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(absl::StrCat(path_, ": read ", what));
    }
    if (n == 0) return Truncated(offset, len, what);  // shrank under us
    done += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status ImageFile::ReadIntoGuest(GuestMemory& mem, uint64_t gpa,
                                      uint64_t offset, uint64_t len,
                                      absl::string_view what) const {
  absl::StatusOr<uint8_t*> host = mem.Translate(gpa, len);
  if (!host.ok()) {
    return absl::OutOfRangeError(absl::StrFormat(
        "%s: %s at guest address [%#x, +%#x) is not inside guest RAM", path_,
        what, gpa, len));
  }
  return ReadAt(offset, *host, len, what);
}

}  // namespace kuml
