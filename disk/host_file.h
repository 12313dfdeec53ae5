// Host-file facts the COW code needs, in the forms UML uses them.
#ifndef KUML_DISK_HOST_FILE_H_
#define KUML_DISK_HOST_FILE_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "disk/cow_format.h"
#include "util/unique_fd.h"

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

// A new file that becomes `final_path` only when complete: created beside it
// (same directory, so the rename is atomic) with the mode open(..., 0644)
// would give, and removed again unless committed. So a tool that fails half
// way leaves nothing behind and the old file, if any, as it was.
class FileBeside {
 public:
  static absl::StatusOr<FileBeside> Create(const std::string& final_path);
  FileBeside(FileBeside&& other) noexcept;
  FileBeside& operator=(FileBeside&&) = delete;
  ~FileBeside();

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  // Renames it to the final path; without `replace`, AlreadyExists when
  // something is there already.
  absl::Status Commit(bool replace);

 private:
  FileBeside(UniqueFd fd, std::string path, std::string final_path)
      : fd_(std::move(fd)),
        path_(std::move(path)),
        final_path_(std::move(final_path)) {}
  UniqueFd fd_;
  std::string path_;
  std::string final_path_;
  bool committed_ = false;
};

}  // namespace kuml

#endif  // KUML_DISK_HOST_FILE_H_
