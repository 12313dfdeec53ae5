#include "disk/raw_file_backend.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/errno_status.h"
#include "util/file_io.h"

namespace kuml {

absl::StatusOr<std::unique_ptr<RawFileBackend>> RawFileBackend::Open(
    absl::string_view path, bool read_only) {
  std::string p(path);
  // O_NONBLOCK so that naming a FIFO by mistake fails below instead of
  // hanging in open(); it is cleared again once we know the file kind.
  int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK;
  UniqueFd fd(::open(p.c_str(), flags));
  if (!fd) return ErrnoStatus(absl::StrCat("open disk image ", p));
  return FromFd(std::move(fd), std::move(p), read_only);
}

absl::StatusOr<std::unique_ptr<RawFileBackend>> RawFileBackend::FromFd(
    UniqueFd fd, std::string p, bool read_only, bool discard) {
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
      new RawFileBackend(std::move(fd), std::move(p), size, read_only,
                         discard && S_ISREG(st.st_mode)));
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
  absl::StatusOr<size_t> n =
      ReadAtMost(fd_.get(), offset, dst, absl::StrCat("read ", path_));
  if (!n.ok()) return n.status();
  if (*n != dst.size()) {
    // The file shrank under us (someone truncated it on the host).
    return absl::DataLossError(absl::StrFormat(
        "%s: unexpected end of file at byte %u", path_, offset + *n));
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
  return WriteAll(fd_.get(), offset, src, absl::StrCat("write ", path_));
}

absl::Status RawFileBackend::Discard(uint64_t offset, uint64_t length) {
  if (!discard_) return BlockBackend::Discard(offset, length);
  if (read_only_) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, " is opened read-only"));
  }
  absl::Status range = CheckRange(offset, length);
  if (!range.ok()) return range;
  if (length == 0) return absl::OkStatus();
  if (::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  static_cast<off_t>(offset),
                  static_cast<off_t>(length)) != 0 &&
      errno != EOPNOTSUPP) {
    return ErrnoStatus(absl::StrCat("punch a hole in ", path_));
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
