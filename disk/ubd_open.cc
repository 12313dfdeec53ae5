#include "disk/ubd_open.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "disk/cow_create.h"
#include "disk/cow_open.h"
#include "disk/host_file.h"
#include "disk/raw_file_backend.h"
#include "util/errno_status.h"
#include "util/file_lock.h"
#include "util/unique_fd.h"

namespace kuml {
namespace {

void Say(const UbdNotice& notice, const std::string& line) {
  if (notice) notice(line);
}

// Opens `path` for a disk; `*read_only` becomes true when the host refuses
// writing (UML's fallback for EROFS/EACCES). Refuses FIFOs, directories and
// the like without blocking on them.
absl::StatusOr<UniqueFd> OpenImage(const std::string& path, bool sync,
                                   bool* read_only) {
  const int common = O_CLOEXEC | O_NONBLOCK | (sync ? O_SYNC : 0);
  UniqueFd fd(::open(path.c_str(), (*read_only ? O_RDONLY : O_RDWR) | common));
  if (!fd && !*read_only && (errno == EROFS || errno == EACCES)) {
    *read_only = true;
    fd.Reset(::open(path.c_str(), O_RDONLY | common));
  }
  if (!fd) return ErrnoStatus(absl::StrCat("open ", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat " + path);
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is neither a regular file nor a block device"));
  }
  const int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl < 0 || ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK) != 0) {
    return ErrnoStatus("fcntl " + path);
  }
  return fd;
}

absl::Status Lock(int fd, bool exclusive, const UbdOpenOptions& options,
                  const UbdNotice& notice) {
  if (options.shared) {
    Say(notice, absl::StrCat("Not locking \"", options.file, "\" on the host"));
    return absl::OkStatus();
  }
  return LockWholeFile(fd, exclusive, options.file);
}

absl::StatusOr<std::shared_ptr<BlockBackend>> OpenCow(
    UniqueFd fd, const CowHeader& header, bool read_only,
    const UbdOpenOptions& options, const UbdNotice& notice) {
  CowOpenOptions cow;
  cow.backing_path = options.backing_file;
  cow.lock_backing = !options.shared;
  cow.disk.read_only = read_only;
  cow.disk.write_through = options.sync;
  cow.disk.discard = !options.no_trim;
  absl::StatusOr<std::unique_ptr<CowDisk>> disk =
      OpenCowDisk(std::move(fd), options.file, header, cow, notice);
  if (!disk.ok()) return disk.status();
  return std::shared_ptr<BlockBackend>(*std::move(disk));
}

}  // namespace

absl::StatusOr<std::shared_ptr<BlockBackend>> OpenUbd(
    const UbdOpenOptions& options, const UbdNotice& notice) {
  const std::string& file = options.file;
  bool read_only = options.read_only;
  const bool want_cow = !options.backing_file.empty();

  if (want_cow && ::access(file.c_str(), F_OK) != 0 && errno == ENOENT) {
    if (options.read_only) {
      return absl::NotFoundError(
          absl::StrCat("COW file ", file,
                       " does not exist, and a read-only disk (flag r) "
                       "cannot create it"));
    }
    absl::StatusOr<CowHeader> created =
        CreateCowFile(file, options.backing_file);
    if (!created.ok()) return created.status();
    Say(notice, absl::StrCat("Creating \"", file, "\" as COW file for \"",
                             options.backing_file, "\""));
  }

  absl::StatusOr<UniqueFd> fd = OpenImage(file, options.sync, &read_only);
  if (!fd.ok()) return fd.status();
  if (absl::Status s = Lock(fd->get(), !read_only, options, notice); !s.ok()) {
    return s;
  }

  if (options.no_cow) {
    absl::StatusOr<std::unique_ptr<RawFileBackend>> raw =
        RawFileBackend::FromFd(*std::move(fd), file, read_only,
                               !options.no_trim);
    if (!raw.ok()) return raw.status();
    return std::shared_ptr<BlockBackend>(*std::move(raw));
  }

  absl::StatusOr<std::optional<CowHeader>> header =
      ReadCowHeader(fd->get(), file);
  if (!header.ok()) return header.status();  // a COW file, but a broken one
  if (header->has_value()) {
    return OpenCow(*std::move(fd), **header, read_only, options, notice);
  }
  if (want_cow) {
    return absl::InvalidArgumentError(
        absl::StrCat("Failed to read COW header from COW file \"", file,
                     "\": it exists and is not a COW file (refusing to use it "
                     "as one over \"",
                     options.backing_file, "\")"));
  }
  absl::StatusOr<std::unique_ptr<RawFileBackend>> raw =
      RawFileBackend::FromFd(*std::move(fd), file, read_only, !options.no_trim);
  if (!raw.ok()) return raw.status();
  return std::shared_ptr<BlockBackend>(*std::move(raw));
}

}  // namespace kuml
