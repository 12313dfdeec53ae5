#include "disk/cow_disk.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/errno_status.h"
#include "util/file_io.h"

namespace kuml {
namespace {

constexpr uint64_t kSector = kCowSectorBytes;
// The largest bitmap a CowDisk holds: 1 GiB, a 4 TiB disk.
constexpr uint64_t kMaxBitmapBytes = uint64_t{1} << 30;

}  // namespace

absl::StatusOr<std::unique_ptr<CowDisk>> CowDisk::Open(
    UniqueFd cow_fd, std::string cow_path, CowHeader header,
    UniqueFd backing_fd, std::string backing_path, Options options) {
  if (header.sector_size != kSector) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "COW file %s: sector size %u is not supported (UML's disks use 512)",
        cow_path, header.sector_size));
  }
  if (header.size % kSector != 0 && !options.allow_partial_sector) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "COW file %s: its backing file is %u bytes, not a multiple of %u",
        cow_path, header.size, kSector));
  }
  struct stat st;
  if (::fstat(cow_fd.get(), &st) != 0) {
    return ErrnoStatus(absl::StrCat("fstat COW file ", cow_path));
  }
  const uint64_t bitmap_end = header.bitmap_offset + header.bitmap_bytes;
  if (static_cast<uint64_t>(st.st_size) < bitmap_end) {
    return absl::DataLossError(absl::StrFormat(
        "COW file %s is %u bytes, too short for the bitmap its header "
        "describes (a %u-byte backing file needs the bitmap to end at byte "
        "%u)",
        cow_path, st.st_size, header.size, bitmap_end));
  }
  // The whole bitmap lives in memory: refuse what no real disk needs (the
  // header alone decides its size) instead of failing to allocate it.
  if (header.bitmap_bytes > kMaxBitmapBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "COW file %s: a %u-byte backing file needs a %u-byte bitmap; kuml "
        "opens COW disks of up to %u bytes",
        cow_path, header.size, header.bitmap_bytes,
        kMaxBitmapBytes * 8 * kSector));
  }
  std::vector<uint8_t> bitmap(header.bitmap_bytes);
  absl::StatusOr<size_t> n =
      ReadAtMost(cow_fd.get(), header.bitmap_offset, absl::MakeSpan(bitmap),
                 absl::StrCat("read the bitmap of COW file ", cow_path));
  if (!n.ok()) return n.status();
  if (*n != bitmap.size()) {
    return absl::DataLossError(absl::StrCat(
        "COW file ", cow_path, " shrank while reading its bitmap"));
  }
  return std::unique_ptr<CowDisk>(
      new CowDisk(std::move(cow_fd), std::move(cow_path), std::move(header),
                  std::move(backing_fd), std::move(backing_path), options,
                  std::move(bitmap)));
}

CowDisk::CowDisk(UniqueFd cow_fd, std::string cow_path, CowHeader header,
                 UniqueFd backing_fd, std::string backing_path, Options options,
                 std::vector<uint8_t> bitmap)
    : cow_fd_(std::move(cow_fd)),
      cow_path_(std::move(cow_path)),
      header_(std::move(header)),
      backing_fd_(std::move(backing_fd)),
      backing_path_(std::move(backing_path)),
      options_(options),
      bitmap_(std::move(bitmap)),
      dirty_chunks_((bitmap_.size() + kDirtyChunkBytes - 1) / kDirtyChunkBytes,
                    false) {}

CowDisk::~CowDisk() {
  absl::Status s = Flush();
  if (!s.ok()) std::cerr << "kuml: " << s.message() << "\n";
}

uint64_t CowDisk::SectorEnd(uint64_t sector) const {
  return std::min(header_.size, (sector + 1) * kSector);
}

bool CowDisk::Bit(uint64_t sector) const {
  // v1/v2 files have no bit for their last (sectors % 8) sectors.
  if (sector >= header_.sectors_with_bits()) return false;
  return CowBitmapTest(bitmap_, sector);
}

bool CowDisk::SectorInCow(uint64_t sector) const {
  absl::ReaderMutexLock lock(&mu_);
  return Bit(sector);
}

uint64_t CowDisk::SectorsInCow() const {
  absl::ReaderMutexLock lock(&mu_);
  return CountCowBits(bitmap_, header_.sectors_with_bits());
}

absl::Status CowDisk::CheckRange(uint64_t offset, uint64_t length) const {
  if (offset > header_.size || length > header_.size - offset) {
    return absl::OutOfRangeError(
        absl::StrFormat("%s: access [%u, +%u) is beyond the %u-byte disk",
                        cow_path_, offset, length, header_.size));
  }
  return absl::OkStatus();
}

absl::Status CowDisk::ReadSide(bool from_cow, uint64_t offset,
                               absl::Span<uint8_t> dst) const {
  if (from_cow) {
    return ReadZeroFilled(cow_fd_.get(), header_.data_offset + offset, dst,
                          absl::StrCat("read COW file ", cow_path_));
  }
  return ReadZeroFilled(backing_fd_.get(), offset, dst,
                        absl::StrCat("read backing file ", backing_path_));
}

absl::Status CowDisk::ReadAt(uint64_t offset, absl::Span<uint8_t> dst) {
  if (absl::Status s = CheckRange(offset, dst.size()); !s.ok()) return s;
  absl::ReaderMutexLock lock(&mu_);
  const uint64_t end = offset + dst.size();
  uint64_t pos = offset;
  while (pos < end) {
    // One pread per run of sectors on the same side.
    uint64_t sector = pos / kSector;
    const bool in_cow = Bit(sector);
    uint64_t run_end = SectorEnd(sector);
    while (run_end < end && Bit(run_end / kSector) == in_cow) {
      run_end = SectorEnd(run_end / kSector);
    }
    run_end = std::min(run_end, end);
    absl::Status s =
        ReadSide(in_cow, pos, dst.subspan(pos - offset, run_end - pos));
    if (!s.ok()) return s;
    pos = run_end;
  }
  return absl::OkStatus();
}

absl::Status CowDisk::CheckWritable(uint64_t first, uint64_t last) const {
  if (options_.read_only) {
    return absl::FailedPreconditionError(
        absl::StrCat(cow_path_, " is opened read-only"));
  }
  if (last >= header_.sectors_with_bits()) {
    return absl::OutOfRangeError(absl::StrFormat(
        "%s: sector %u has no bit in this version %u COW file's bitmap (the "
        "format's last %u sectors cannot be written)",
        cow_path_, last, header_.version,
        header_.sectors() - header_.sectors_with_bits()));
  }
  (void)first;
  return absl::OkStatus();
}

void CowDisk::SetBits(uint64_t first, uint64_t last) {
  for (uint64_t s = first; s <= last; ++s) {
    if (CowBitmapTest(bitmap_, s)) continue;
    CowBitmapSet(absl::MakeSpan(bitmap_), s);
    dirty_chunks_[(s / 8) / kDirtyChunkBytes] = true;
    any_dirty_ = true;
  }
}

absl::Status CowDisk::WriteDirtyBitmap() {
  if (!any_dirty_) return absl::OkStatus();
  for (uint64_t chunk = 0; chunk < dirty_chunks_.size(); ++chunk) {
    if (!dirty_chunks_[chunk]) continue;
    // Coalesce neighbouring dirty chunks into one pwrite.
    uint64_t last = chunk;
    while (last + 1 < dirty_chunks_.size() && dirty_chunks_[last + 1]) ++last;
    const uint64_t begin = chunk * kDirtyChunkBytes;
    const uint64_t end =
        std::min<uint64_t>((last + 1) * kDirtyChunkBytes, bitmap_.size());
    absl::Status s =
        WriteAll(cow_fd_.get(), header_.bitmap_offset + begin,
                 absl::MakeConstSpan(bitmap_).subspan(begin, end - begin),
                 absl::StrCat("write the bitmap of COW file ", cow_path_));
    if (!s.ok()) return s;
    for (uint64_t c = chunk; c <= last; ++c) dirty_chunks_[c] = false;
    chunk = last;
  }
  any_dirty_ = false;
  return absl::OkStatus();
}

absl::Status CowDisk::WriteAt(uint64_t offset, absl::Span<const uint8_t> src) {
  if (absl::Status s = CheckRange(offset, src.size()); !s.ok()) return s;
  if (src.empty()) {
    return options_.read_only ? CheckWritable(0, 0) : absl::OkStatus();
  }
  const uint64_t end = offset + src.size();
  const uint64_t first = offset / kSector;
  const uint64_t last = (end - 1) / kSector;
  if (absl::Status s = CheckWritable(first, last); !s.ok()) return s;

  absl::MutexLock lock(&mu_);
  const std::string what = absl::StrCat("write COW file ", cow_path_);
  uint64_t pos = offset;
  std::vector<uint8_t> sector_buf;
  while (pos < end) {
    const uint64_t sector = pos / kSector;
    const uint64_t sector_start = sector * kSector;
    const uint64_t sector_end = SectorEnd(sector);
    const uint64_t piece_end = std::min(end, sector_end);
    if ((pos != sector_start || piece_end != sector_end) && !Bit(sector)) {
      // Part of a sector that still lives in the backing file: the COW copy
      // must hold the whole sector before its bit may be set.
      sector_buf.resize(sector_end - sector_start);
      absl::Status s =
          ReadSide(false, sector_start, absl::MakeSpan(sector_buf));
      if (!s.ok()) return s;
      std::memcpy(sector_buf.data() + (pos - sector_start),
                  src.data() + (pos - offset), piece_end - pos);
      s = WriteAll(cow_fd_.get(), header_.data_offset + sector_start,
                   sector_buf, what);
      if (!s.ok()) return s;
      pos = piece_end;
      continue;
    }
    // A run of sectors that are either wholly covered or already in the COW
    // file: their bytes go straight there.
    uint64_t run_end = piece_end;
    while (run_end < end) {
      const uint64_t next = run_end / kSector;
      if (std::min(end, SectorEnd(next)) != SectorEnd(next) && !Bit(next)) {
        break;
      }
      run_end = std::min(end, SectorEnd(next));
    }
    absl::Status s = WriteAll(cow_fd_.get(), header_.data_offset + pos,
                              src.subspan(pos - offset, run_end - pos), what);
    if (!s.ok()) return s;
    pos = run_end;
  }
  // Every sector in first..last now has its data in the COW file.
  SetBits(first, last);
  if (options_.write_through) return WriteDirtyBitmap();
  return absl::OkStatus();
}

absl::Status CowDisk::DataSync() const {
  while (::fdatasync(cow_fd_.get()) != 0) {
    if (errno != EINTR) {
      return ErrnoStatus(absl::StrCat("fdatasync COW file ", cow_path_));
    }
  }
  return absl::OkStatus();
}

absl::Status CowDisk::Flush() {
  if (options_.read_only) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  // Data first: only bits whose data is durable may become durable.
  if (absl::Status s = DataSync(); !s.ok()) return s;
  if (!any_dirty_) return absl::OkStatus();
  if (absl::Status s = WriteDirtyBitmap(); !s.ok()) return s;
  return DataSync();
}

absl::Status CowDisk::Discard(uint64_t offset, uint64_t length) {
  if (!options_.discard) return BlockBackend::Discard(offset, length);
  if (absl::Status s = CheckRange(offset, length); !s.ok()) return s;
  if (offset % kSector != 0 || length % kSector != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: discard [%u, +%u) is not whole sectors", cow_path_,
                        offset, length));
  }
  if (length == 0) return absl::OkStatus();
  const uint64_t first = offset / kSector;
  const uint64_t last = (offset + length - 1) / kSector;
  if (absl::Status s = CheckWritable(first, last); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (::fallocate(cow_fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  static_cast<off_t>(header_.data_offset + offset),
                  static_cast<off_t>(length)) != 0) {
    // Discard is a hint: a file system that cannot punch holes keeps the
    // old bytes, and the bits stay as they were.
    if (errno == EOPNOTSUPP) return absl::OkStatus();
    return ErrnoStatus(absl::StrCat("punch a hole in COW file ", cow_path_));
  }
  // The range now reads as zeros from the COW file.
  SetBits(first, last);
  if (options_.write_through) return WriteDirtyBitmap();
  return absl::OkStatus();
}

}  // namespace kuml
