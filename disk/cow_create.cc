#include "disk/cow_create.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"
#include "disk/host_file.h"
#include "util/errno_status.h"
#include "util/file_io.h"
#include "util/file_lock.h"
#include "util/unique_fd.h"

namespace kuml {
namespace {

// Writes the header and sizes the file; the bitmap and data stay holes.
absl::Status FillNewCow(int fd, absl::string_view path,
                        const CowHeader& header) {
  absl::Status s = WriteAll(fd, 0, EncodeV3Header(header),
                            absl::StrCat("write the header of ", path));
  if (!s.ok()) return s;
  if (::ftruncate(fd, static_cast<off_t>(header.data_offset + header.size)) !=
      0) {
    return ErrnoStatus(absl::StrCat("extend ", path));
  }
  if (::fsync(fd) != 0) return ErrnoStatus(absl::StrCat("fsync ", path));
  return absl::OkStatus();
}

// The existing file at `cow_path` may be replaced: it is not the backing file
// and nobody has it open as a disk.
absl::Status CheckReplaceable(const std::string& cow_path,
                              const HostFileInfo& backing) {
  UniqueFd old(::open(cow_path.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK));
  if (!old) {
    if (errno == ENOENT) return absl::OkStatus();
    old.Reset(::open(cow_path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!old) return ErrnoStatus(absl::StrCat("open ", cow_path));
  }
  struct stat st;
  if (::fstat(old.get(), &st) != 0) {
    return ErrnoStatus(absl::StrCat("fstat ", cow_path));
  }
  if (st.st_dev == backing.dev && st.st_ino == backing.ino) {
    return absl::InvalidArgumentError(
        absl::StrCat("refusing to make ", cow_path, " a COW file over itself"));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(cow_path, " exists and is not a regular file"));
  }
  if ((::fcntl(old.get(), F_GETFL) & O_ACCMODE) == O_RDWR) {
    absl::Status lock = LockWholeFile(old.get(), true, cow_path);
    if (!lock.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat(cow_path, " is in use: ", lock.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CowHeader> CreateCowFile(absl::string_view cow_path_view,
                                        absl::string_view backing_path,
                                        const CowCreateOptions& options) {
  const std::string cow_path(cow_path_view);
  absl::StatusOr<std::string> abs_backing = AbsolutizePath(backing_path);
  if (!abs_backing.ok()) return abs_backing.status();
  UniqueFd backing_fd(::open(abs_backing->c_str(), O_RDONLY | O_CLOEXEC));
  if (!backing_fd) {
    return ErrnoStatus(absl::StrCat("open backing file ", *abs_backing));
  }
  absl::StatusOr<HostFileInfo> backing =
      InspectFile(backing_fd.get(), *abs_backing);
  if (!backing.ok()) return backing.status();
  absl::StatusOr<CowHeader> header = MakeV3Header(
      *abs_backing, backing->size, static_cast<uint32_t>(backing->mtime));
  if (!header.ok()) {
    return absl::Status(header.status().code(),
                        absl::StrCat("backing file ", *abs_backing, ": ",
                                     header.status().message()));
  }

  if (!options.overwrite) {
    UniqueFd fd(
        ::open(cow_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd) return ErrnoStatus(absl::StrCat("create COW file ", cow_path));
    absl::Status s = FillNewCow(fd.get(), cow_path, *header);
    if (!s.ok()) {
      ::unlink(cow_path.c_str());  // ours: O_EXCL made it
      return s;
    }
    return header;
  }

  if (absl::Status s = CheckReplaceable(cow_path, *backing); !s.ok()) return s;
  absl::StatusOr<FileBeside> file = FileBeside::Create(cow_path);
  if (!file.ok()) return file.status();
  if (absl::Status s = FillNewCow(file->fd(), file->path(), *header); !s.ok()) {
    return s;
  }
  if (absl::Status s = file->Commit(/*replace=*/true); !s.ok()) return s;
  return header;
}

}  // namespace kuml
