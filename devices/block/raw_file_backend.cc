#include "devices/block/raw_file_backend.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/errno_status.h"

namespace kuml {

absl::StatusOr<std::unique_ptr<RawFileBackend>> RawFileBackend::Open(
    absl::string_view path, bool read_only) {
  std::string p(path);
  // O_NONBLOCK so that naming a FIFO by mistake fails below instead of
  // hanging in open(); it is cleared again once we know the file kind.
  int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK;
  UniqueFd fd(::open(p.c_str(), flags));
  if (!fd) return ErrnoStatus(absl::StrCat("open disk image ", p));

  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return ErrnoStatus(absl::StrCat("fstat disk image ", p));
  }
  uint64_t size = 0;
  if (S_ISREG(st.st_mode)) {
    size = static_cast<uint64_t>(st.st_size);
  } else if (S_ISBLK(st.st_mode)) {
    if (::ioctl(fd.get(), BLKGETSIZE64, &size) != 0) {
      return ErrnoStatus(absl::StrCat("BLKGETSIZE64 on disk image ", p));
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "disk image ", p, " is neither a regular file nor a block device"));
  }
  int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl < 0 || ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK) != 0) {
    return ErrnoStatus(absl::StrCat("fcntl on disk image ", p));
  }
  if (size % kSectorBytes != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("disk image %s is %u bytes, not a multiple of %u", p,
                        size, kSectorBytes));
  }
  return std::unique_ptr<RawFileBackend>(
      new RawFileBackend(std::move(fd), std::move(p), size, read_only));
}

absl::Status RawFileBackend::CheckRange(uint64_t offset,
                                        uint64_t length) const {
  // Written so that nothing can overflow.
  if (offset > size_ || length > size_ - offset) {
    return absl::OutOfRangeError(
        absl::StrFormat("%s: access [%u, +%u) is beyond the %u-byte image",
                        path_, offset, length, size_));
  }
  return absl::OkStatus();
}

absl::Status RawFileBackend::ReadAt(uint64_t offset, absl::Span<uint8_t> dst) {
  absl::Status range = CheckRange(offset, dst.size());
  if (!range.ok()) return range;
  size_t done = 0;
  while (done < dst.size()) {
    ssize_t n = ::pread(fd_.get(), dst.data() + done, dst.size() - done,
                        static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(absl::StrCat("read ", path_));
    }
    if (n == 0) {
      // The file shrank under us (someone truncated it on the host).
      return absl::DataLossError(absl::StrFormat(
          "%s: unexpected end of file at byte %u", path_, offset + done));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status RawFileBackend::WriteAt(uint64_t offset,
                                     absl::Span<const uint8_t> src) {
  if (read_only_) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, " is opened read-only"));
  }
  absl::Status range = CheckRange(offset, src.size());
  if (!range.ok()) return range;
  size_t done = 0;
  while (done < src.size()) {
    ssize_t n = ::pwrite(fd_.get(), src.data() + done, src.size() - done,
                         static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(absl::StrCat("write ", path_));
    }
    if (n == 0) {
      return absl::InternalError(absl::StrFormat(
          "%s: write made no progress at byte %u", path_, offset + done));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status RawFileBackend::Flush() {
  // A read-only image has nothing of ours to make durable.
  if (read_only_) return absl::OkStatus();
  while (::fdatasync(fd_.get()) != 0) {
    if (errno != EINTR) return ErrnoStatus(absl::StrCat("fdatasync ", path_));
  }
  return absl::OkStatus();
}

}  // namespace kuml
