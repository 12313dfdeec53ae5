#include "util/file_lock.h"

#include <fcntl.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "util/errno_status.h"

namespace kuml {

absl::Status LockWholeFile(int fd, bool exclusive, absl::string_view path) {
  struct flock lock = {};
  lock.l_type = exclusive ? F_WRLCK : F_RDLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 0;  // to the end, however the file grows
  if (::fcntl(fd, F_OFD_SETLK, &lock) == 0) return absl::OkStatus();
  const int err = errno;
  if (err != EAGAIN && err != EACCES) {
    return ErrnoStatus(absl::StrCat("lock '", path, "'"), err);
  }
  // Who holds it: F_GETLK reports a process lock's owner (a real UML);
  // an open-file-description lock (another kuml) has no single owner.
  std::string holder;
  struct flock probe = {};
  probe.l_type = exclusive ? F_WRLCK : F_RDLCK;
  probe.l_whence = SEEK_SET;
  if (::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK &&
      probe.l_pid > 0) {
    holder = absl::StrCat("file already locked by pid ", probe.l_pid);
  } else {
    holder = "file already locked by another process";
  }
  return absl::UnavailableError(absl::StrCat(
      "Failed to lock '", path, "', err = ", EAGAIN, " (", holder, ")"));
}

}  // namespace kuml
