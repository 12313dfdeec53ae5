// Whole-buffer positional I/O on a file descriptor: pread/pwrite retried
// across EINTR and short transfers, so callers see all-or-error.
#ifndef KUML_UTIL_FILE_IO_H_
#define KUML_UTIL_FILE_IO_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace kuml {

// Reads into `dst` from `offset` until it is full or the file ends; returns
// how many bytes were read (less than dst.size() only at end of file).
// Errors name `what` ("read <path>").
absl::StatusOr<size_t> ReadAtMost(int fd, uint64_t offset,
                                  absl::Span<uint8_t> dst,
                                  absl::string_view what);

// Like ReadAtMost, but bytes past the end of the file read as zeros (a
// sparse or short file is a file of zeros out there).
absl::Status ReadZeroFilled(int fd, uint64_t offset, absl::Span<uint8_t> dst,
                            absl::string_view what);

// Writes all of `src` at `offset`.
absl::Status WriteAll(int fd, uint64_t offset, absl::Span<const uint8_t> src,
                      absl::string_view what);

}  // namespace kuml

#endif  // KUML_UTIL_FILE_IO_H_
