// Host-file facts the COW code needs, in the forms UML uses them.
#ifndef KUML_COW_HOST_FILE_H_
#define KUML_COW_HOST_FILE_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cow/cow_format.h"

namespace kuml {

struct HostFileInfo {
  uint64_t size = 0;  // bytes; a block device's size for a block device
  int64_t mtime = 0;  // st_mtime, seconds
  dev_t dev = 0;
  ino_t ino = 0;
  bool SameFile(const HostFileInfo& other) const {
    return dev == other.dev && ino == other.ino;
  }
};

// Facts about the open file `fd` (`path` names it in errors). Refuses what
// is neither a regular file nor a block device.
absl::StatusOr<HostFileInfo> InspectFile(int fd, absl::string_view path);

// UML's absolutize(): the directory part resolved to an absolute path (its
// symlinks resolved, as getcwd() after chdir() would), the last component
// kept as given. "root_fs" in /srv -> "/srv/root_fs".
absl::StatusOr<std::string> AbsolutizePath(absl::string_view path);

// Reads the start of `fd` and decodes it (see DecodeCowHeader); errors are
// prefixed with "<path>: ".
absl::StatusOr<std::optional<CowHeader>> ReadCowHeader(int fd,
                                                       absl::string_view path);

}  // namespace kuml

#endif  // KUML_COW_HOST_FILE_H_
