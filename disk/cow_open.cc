#include "disk/cow_open.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "disk/host_file.h"
#include "util/errno_status.h"
#include "util/file_io.h"
#include "util/file_lock.h"

namespace kuml {
namespace {

void Say(const CowNotice& notice, const std::string& line) {
  if (notice) notice(line);
}

}  // namespace

absl::Status CheckBackingMatch(const CowHeader& header,
                               const HostFileInfo& actual,
                               const std::string& backing) {
  if (actual.size != header.size) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "Size mismatch (%u vs %u) of COW header vs backing file \"%s\"",
        header.size, actual.size, backing));
  }
  if (actual.mtime != static_cast<int64_t>(header.mtime)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "mtime mismatch (%d vs %d) of COW header vs backing file \"%s\"",
        header.mtime, actual.mtime, backing));
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<HostFileInfo> StatPath(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return ErrnoStatus(absl::StrCat("open ", path));
  return InspectFile(fd.get(), path);
}

// path_requires_switch() + the mismatch test of the candidate: whether the
// command line's backing file should replace the header's.
bool WantsSwitch(const std::string& requested, const CowHeader& header) {
  if (requested.empty() || requested == header.backing_file) return false;
  absl::StatusOr<HostFileInfo> wanted = StatPath(requested);
  if (!wanted.ok()) return false;
  absl::StatusOr<HostFileInfo> named = StatPath(header.backing_file);
  if (named.ok() && named->SameFile(*wanted)) return false;
  // Allowed only when the new file matches the header.
  return CheckBackingMatch(header, *wanted, requested).ok();
}

// Rewrites the header of a v3 COW file to name `new_backing`.
absl::Status RewriteHeader(int cow_fd, const std::string& cow_path,
                           CowHeader header, const std::string& new_backing) {
  // Only the name changes: the sector size and alignment, and so where the
  // bitmap and data are, stay.
  if (new_backing.size() > kCowV3MaxPathBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Backing file name \"", new_backing, "\" is too long - names are ",
        "limited to ", kCowV3MaxPathBytes, " characters"));
  }
  header.backing_file = new_backing;
  absl::Status s = WriteAll(cow_fd, 0, EncodeV3Header(header),
                            absl::StrCat("rewrite the header of ", cow_path));
  if (!s.ok()) return s;
  if (::fdatasync(cow_fd) != 0) {
    return ErrnoStatus(absl::StrCat("fdatasync ", cow_path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<CowDisk>> OpenCowDisk(
    UniqueFd cow_fd, const std::string& cow_path, const CowHeader& header,
    const CowOpenOptions& options, const CowNotice& notice) {
  std::string backing = header.backing_file;
  bool check = true;
  bool rewrite_header = false;
  if (options.force_backing && !options.backing_path.empty()) {
    backing = options.backing_path;
    check = false;
  } else if (WantsSwitch(options.backing_path, header)) {
    absl::StatusOr<std::string> abs = AbsolutizePath(options.backing_path);
    if (!abs.ok()) return abs.status();
    if (options.disk.read_only || header.layout != CowLayout::kV3) {
      // UML would rewrite a v1/v2 header as v3 in place, moving the bitmap
      // under its data; a read-only COW cannot be rewritten at all. Use the
      // new file for this session and leave the header alone.
      Say(notice, absl::StrCat("Using backing file '", *abs, "' for \"",
                               cow_path, "\" (header left unchanged)"));
    } else {
      rewrite_header = true;  // once everything else has been checked
    }
    backing = *abs;
  }

  UniqueFd backing_fd(::open(backing.c_str(), O_RDONLY | O_CLOEXEC));
  if (!backing_fd) {
    return ErrnoStatus(absl::StrCat("open backing file \"", backing,
                                    "\" of COW file \"", cow_path, "\""));
  }
  absl::StatusOr<HostFileInfo> actual = InspectFile(backing_fd.get(), backing);
  if (!actual.ok()) return actual.status();
  absl::StatusOr<HostFileInfo> cow_info = InspectFile(cow_fd.get(), cow_path);
  if (!cow_info.ok()) return cow_info.status();
  if (cow_info->SameFile(*actual)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "COW file \"", cow_path, "\" names itself as its backing file"));
  }
  if (check) {
    absl::Status s = CheckBackingMatch(header, *actual, backing);
    if (!s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat("COW file \"", cow_path, "\": ", s.message()));
    }
  } else if (actual->size != header.size) {
    // A backing file given in place of the header's may have another mtime
    // (a copy), never another size: the bitmap is sized by the header.
    return absl::InvalidArgumentError(absl::StrFormat(
        "COW file \"%s\": its header is for a %u-byte backing file, \"%s\" "
        "is %u bytes",
        cow_path, header.size, backing, actual->size));
  }
  if (options.lock_backing) {
    absl::Status s = LockWholeFile(backing_fd.get(), false, backing);
    if (!s.ok()) return s;
  }
  absl::StatusOr<std::unique_ptr<CowDisk>> disk =
      CowDisk::Open(std::move(cow_fd), cow_path, header, std::move(backing_fd),
                    backing, options.disk);
  if (!disk.ok() || !rewrite_header) return disk;
  Say(notice, absl::StrCat("Switching backing file to '", backing, "'"));
  absl::Status s = RewriteHeader((*disk)->cow_fd(), cow_path, header, backing);
  if (!s.ok()) return s;
  return disk;
}

}  // namespace kuml
