#include "util/file_io.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "util/errno_status.h"

namespace kuml {

absl::StatusOr<size_t> ReadAtMost(int fd, uint64_t offset,
                                  absl::Span<uint8_t> dst,
                                  absl::string_view what) {
  size_t done = 0;
  while (done < dst.size()) {
    ssize_t n = ::pread(fd, dst.data() + done, dst.size() - done,
                        static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(what);
    }
    if (n == 0) break;  // end of file
    done += static_cast<size_t>(n);
  }
  return done;
}

absl::Status ReadZeroFilled(int fd, uint64_t offset, absl::Span<uint8_t> dst,
                            absl::string_view what) {
  absl::StatusOr<size_t> n = ReadAtMost(fd, offset, dst, what);
  if (!n.ok()) return n.status();
  std::memset(dst.data() + *n, 0, dst.size() - *n);
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, uint64_t offset, absl::Span<const uint8_t> src,
                      absl::string_view what) {
  size_t done = 0;
  while (done < src.size()) {
    ssize_t n = ::pwrite(fd, src.data() + done, src.size() - done,
                         static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(what);
    }
    if (n == 0) {
      return absl::InternalError(absl::StrFormat(
          "%s: write made no progress at byte %u", what, offset + done));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace kuml
