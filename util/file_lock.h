// Host file locks as UML's ubd driver takes them (os_lock_file): a whole-file
// fcntl lock, exclusive for an image opened read-write, shared for one opened
// read-only (a COW's backing file). A second kuml, or a real UML, on the same
// writable image is refused.
//
// We take open-file-description locks (F_OFD_SETLK), not UML's per-process
// F_SETLK: they conflict with UML's locks in both directions, but are tied to
// the descriptor, so closing some other descriptor of the same file in this
// process (a header sniff, a size check) cannot silently drop the lock, and
// two disks of one kuml on the same writable file are refused too.
#ifndef KUML_UTIL_FILE_LOCK_H_
#define KUML_UTIL_FILE_LOCK_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kuml {

// Locks the whole file behind `fd` (held until the last descriptor sharing
// this open file description is closed). `path` names it in the error:
// Unavailable("Failed to lock '<path>', err = 11 (file already locked by pid
// <pid>)") when someone else holds a conflicting lock.
absl::Status LockWholeFile(int fd, bool exclusive, absl::string_view path);

}  // namespace kuml

#endif  // KUML_UTIL_FILE_LOCK_H_
