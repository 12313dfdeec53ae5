// ErrnoStatus: turns a failed system call's errno into an absl::Status whose
// message names the operation, so every error says what was being attempted.
#ifndef KUML_UTIL_ERRNO_STATUS_H_
#define KUML_UTIL_ERRNO_STATUS_H_

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace kuml {

// Builds a Status from `err` (default: the current errno) with "what:
// strerror".
inline absl::Status ErrnoStatus(absl::string_view what, int err = errno) {
  std::string message = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EINVAL:
      return absl::InvalidArgumentError(message);
    case EBUSY:
    case EAGAIN:
      return absl::UnavailableError(message);
    case ENOMEM:
    case ENOSPC:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace kuml

#endif  // KUML_UTIL_ERRNO_STATUS_H_
