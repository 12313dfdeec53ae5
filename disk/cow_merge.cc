#include "disk/cow_merge.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "disk/cow_disk.h"
#include "disk/cow_open.h"
#include "disk/host_file.h"
#include "util/errno_status.h"
#include "util/file_io.h"
#include "util/file_lock.h"
#include "util/unique_fd.h"

namespace kuml {
namespace {

constexpr uint64_t kChunkBytes = 1 << 20;
constexpr uint64_t kSector = kCowSectorBytes;

absl::StatusOr<std::unique_ptr<CowDisk>> OpenForMerge(
    const std::string& cow_path, const CowMergeOptions& options) {
  UniqueFd fd(::open(cow_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(absl::StrCat("open COW file ", cow_path));
  if (absl::Status s = LockWholeFile(fd.get(), false, cow_path); !s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(cow_path, " is in use: ", s.message()));
  }
  absl::StatusOr<std::optional<CowHeader>> header =
      ReadCowHeader(fd.get(), cow_path);
  if (!header.ok()) return header.status();
  if (!header->has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(cow_path, " is not a COW file"));
  }
  CowOpenOptions open;
  open.backing_path = options.backing_path;
  open.force_backing = !options.backing_path.empty();
  // In place, the backing file gets an exclusive lock of its own below.
  open.lock_backing = !options.in_place;
  open.disk.read_only = true;
  open.disk.allow_partial_sector = true;
  return OpenCowDisk(std::move(fd), cow_path, **header, open);
}

bool AllZero(absl::Span<const uint8_t> data) {
  return std::all_of(data.begin(), data.end(),
                     [](uint8_t b) { return b == 0; });
}

absl::Status MergeInto(CowDisk& disk, int out_fd, const std::string& out_path,
                       const CowMergeOptions& options) {
  const uint64_t size = disk.size_bytes();
  std::vector<uint8_t> buf(kChunkBytes);
  for (uint64_t off = 0; off < size; off += kChunkBytes) {
    auto chunk = absl::MakeSpan(buf).first(std::min(kChunkBytes, size - off));
    if (absl::Status s = disk.ReadAt(off, chunk); !s.ok()) return s;
    if (!AllZero(chunk)) {  // zeros stay a hole
      absl::Status s =
          WriteAll(out_fd, off, chunk, absl::StrCat("write ", out_path));
      if (!s.ok()) return s;
    }
    if (options.progress) options.progress(off + chunk.size(), size);
  }
  if (::ftruncate(out_fd, static_cast<off_t>(size)) != 0) {
    return ErrnoStatus(absl::StrCat("set the size of ", out_path));
  }
  if (::fsync(out_fd) != 0)
    return ErrnoStatus(absl::StrCat("fsync ", out_path));
  return absl::OkStatus();
}

absl::Status MergeInPlace(CowDisk& disk, const CowMergeOptions& options) {
  const std::string& backing = disk.backing_path();
  UniqueFd fd(::open(backing.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) return ErrnoStatus(absl::StrCat("open ", backing, " for writing"));
  if (absl::Status s = LockWholeFile(fd.get(), true, backing); !s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(backing, " is in use: ", s.message()));
  }
  const uint64_t size = disk.size_bytes();
  const uint64_t sectors = disk.header().sectors();
  std::vector<uint8_t> buf(kChunkBytes);
  uint64_t s = 0;
  while (s < sectors) {
    if (!disk.SectorInCow(s)) {
      ++s;
      if (options.progress && s % 8192 == 0)
        options.progress(s * kSector, size);
      continue;
    }
    uint64_t end = s + 1;
    while (end < sectors && disk.SectorInCow(end) &&
           (end - s) * kSector < kChunkBytes) {
      ++end;
    }
    const uint64_t off = s * kSector;
    const uint64_t len = std::min(end * kSector, size) - off;
    auto chunk = absl::MakeSpan(buf).first(len);
    if (absl::Status st = disk.ReadAt(off, chunk); !st.ok()) return st;
    absl::Status st =
        WriteAll(fd.get(), off, chunk, absl::StrCat("write ", backing));
    if (!st.ok()) return st;
    s = end;
    if (options.progress) options.progress(std::min(off + len, size), size);
  }
  if (::fsync(fd.get()) != 0)
    return ErrnoStatus(absl::StrCat("fsync ", backing));
  if (options.progress) options.progress(size, size);
  return absl::OkStatus();
}

// The output may not be the COW or the backing file under another name.
absl::Status CheckOutputTarget(const std::string& out_path, CowDisk& disk,
                               bool overwrite) {
  struct stat out;
  if (::stat(out_path.c_str(), &out) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(absl::StrCat("stat ", out_path));
  }
  for (const std::string* other : {&disk.cow_path(), &disk.backing_path()}) {
    struct stat st;
    if (::stat(other->c_str(), &st) == 0 && st.st_dev == out.st_dev &&
        st.st_ino == out.st_ino) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the merged image ", out_path, " would replace ", *other,
          other == &disk.backing_path() ? " (merge in place with -d)" : ""));
    }
  }
  if (!overwrite) {
    return absl::AlreadyExistsError(
        absl::StrCat(out_path, " exists (-f replaces it)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CowMergeResult> MergeCow(const std::string& cow_path,
                                        const std::string& output_path,
                                        const CowMergeOptions& options) {
  if (options.in_place != output_path.empty()) {
    return absl::InvalidArgumentError(
        options.in_place ? "an in-place merge takes no output file"
                         : "no output file given");
  }
  absl::StatusOr<std::unique_ptr<CowDisk>> disk =
      OpenForMerge(cow_path, options);
  if (!disk.ok()) return disk.status();
  CowMergeResult result;
  result.backing_path = (*disk)->backing_path();
  result.size = (*disk)->size_bytes();
  result.cow_sectors = (*disk)->SectorsInCow();

  if (options.in_place) {
    absl::Status s = MergeInPlace(**disk, options);
    if (!s.ok()) return s;
    return result;
  }

  if (absl::Status s =
          CheckOutputTarget(output_path, **disk, options.overwrite);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<FileBeside> out = FileBeside::Create(output_path);
  if (!out.ok()) return out.status();
  if (absl::Status s = MergeInto(**disk, out->fd(), out->path(), options);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = out->Commit(options.overwrite); !s.ok()) return s;
  return result;
}

}  // namespace kuml
