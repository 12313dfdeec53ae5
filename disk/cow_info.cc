#include "disk/cow_info.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "disk/cow_open.h"
#include "disk/host_file.h"
#include "util/errno_status.h"
#include "util/file_io.h"
#include "util/unique_fd.h"

namespace kuml {
namespace {

std::string CheckBacking(const CowHeader& header) {
  UniqueFd fd(
      ::open(header.backing_file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return std::string(ErrnoStatus("cannot open it").message());
  absl::StatusOr<HostFileInfo> actual =
      InspectFile(fd.get(), header.backing_file);
  if (!actual.ok()) return std::string(actual.status().message());
  absl::Status match = CheckBackingMatch(header, *actual, header.backing_file);
  return match.ok() ? "ok" : std::string(match.message());
}

const char* LayoutName(CowLayout layout) {
  switch (layout) {
    case CowLayout::kV1:
      return "1";
    case CowLayout::kV2:
      return "2";
    case CowLayout::kV3:
      return "3";
    case CowLayout::kV3Broken:
      return "3 (old unpacked 64-bit layout)";
  }
  return "?";
}

}  // namespace

absl::StatusOr<CowInfo> InspectCow(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return ErrnoStatus(absl::StrCat("open ", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat " + path);
  absl::StatusOr<std::optional<CowHeader>> header =
      ReadCowHeader(fd.get(), path);
  if (!header.ok()) return header.status();
  if (!header->has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a COW file"));
  }
  CowInfo info;
  info.path = path;
  info.header = **header;
  info.file_bytes = static_cast<uint64_t>(st.st_size);
  info.allocated_bytes = static_cast<uint64_t>(st.st_blocks) * 512;
  const CowHeader& h = info.header;
  if (info.file_bytes < h.bitmap_offset + h.bitmap_bytes) {
    return absl::DataLossError(absl::StrFormat(
        "COW file %s is %u bytes, too short for its %u-byte bitmap at %u", path,
        info.file_bytes, h.bitmap_bytes, h.bitmap_offset));
  }
  // Counted a chunk at a time: the header alone decides the bitmap's size,
  // and a hostile or broken one (over a sparse file) can make it terabytes.
  constexpr uint64_t kChunkBytes = 1 << 20;
  std::vector<uint8_t> chunk(std::min(kChunkBytes, h.bitmap_bytes));
  uint64_t bits_left = h.sectors_with_bits();
  for (uint64_t done = 0; done < h.bitmap_bytes && bits_left > 0;
       done += chunk.size()) {
    auto piece = absl::MakeSpan(chunk).first(
        std::min<uint64_t>(chunk.size(), h.bitmap_bytes - done));
    absl::StatusOr<size_t> n = ReadAtMost(fd.get(), h.bitmap_offset + done,
                                          piece, absl::StrCat("read ", path));
    if (!n.ok()) return n.status();
    std::fill(piece.begin() + *n, piece.end(), 0);  // shrank meanwhile
    const uint64_t bits = std::min<uint64_t>(bits_left, piece.size() * 8);
    info.sectors_in_cow += CountCowBits(piece, bits);
    bits_left -= bits;
  }
  info.backing_check = CheckBacking(h);
  return info;
}

std::string FormatCowInfo(const CowInfo& info) {
  const CowHeader& h = info.header;
  const double percent =
      h.sectors() == 0 ? 0.0 : 100.0 * info.sectors_in_cow / h.sectors();
  const absl::Time mtime = absl::FromUnixSeconds(h.mtime);
  std::string out;
  absl::StrAppendFormat(&out, "COW file:        %s\n", info.path);
  absl::StrAppendFormat(&out, "version:         %s\n", LayoutName(h.layout));
  absl::StrAppendFormat(&out, "backing file:    %s\n", h.backing_file);
  absl::StrAppendFormat(&out, "backing size:    %u bytes (%u sectors)\n",
                        h.size, h.sectors());
  absl::StrAppendFormat(
      &out, "backing mtime:   %u (%s)\n", h.mtime,
      absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", mtime, absl::UTCTimeZone()));
  absl::StrAppendFormat(&out, "backing check:   %s\n", info.backing_check);
  absl::StrAppendFormat(&out, "sector size:     %u\n", h.sector_size);
  absl::StrAppendFormat(&out, "alignment:       %u\n", h.alignment);
  absl::StrAppendFormat(&out, "bitmap:          %u bytes at offset %u\n",
                        h.bitmap_bytes, h.bitmap_offset);
  absl::StrAppendFormat(&out, "data offset:     %u\n", h.data_offset);
  absl::StrAppendFormat(&out, "file size:       %u bytes (%u allocated)\n",
                        info.file_bytes, info.allocated_bytes);
  absl::StrAppendFormat(&out,
                        "in the COW file: %u of %u sectors (%.1f%%), %u "
                        "bytes\n",
                        info.sectors_in_cow, h.sectors(), percent,
                        info.sectors_in_cow * kCowSectorBytes);
  return out;
}

}  // namespace kuml
