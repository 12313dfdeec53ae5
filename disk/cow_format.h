// The UML ubd COW file format (arch/um/drivers/cow_user.c), versions 1, 2 and
// 3 plus the old unpacked 64-bit v3 layout: decoding any of them, encoding v3
// exactly as UML and uml_mkcow write it, and the bitmap/data layout that
// follows from a header. Pure data: no files, no I/O.
//
// A COW file is a header, a bitmap with one bit per 512-byte sector of the
// backing file (bit set = the sector lives in the COW file), and a data area
// that is a full-size image shifted by data_offset (sparse).
#ifndef KUML_DISK_COW_FORMAT_H_
#define KUML_DISK_COW_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace kuml {

constexpr uint32_t kCowMagic = 0x4f4f4f4d;  // "MOOO" as a number
constexpr uint32_t kCowSectorBytes = 512;   // what UML and uml_mkcow write
constexpr uint32_t kCowAlignment = 4096;    // ditto (UML: PAGE_SIZE)

// Sizes of the on-disk header structs (all packed except v3 broken).
constexpr size_t kCowV1HeaderBytes = 280;
constexpr size_t kCowV2HeaderBytes = 4120;
constexpr size_t kCowV3HeaderBytes = 4128;
constexpr size_t kCowV3BrokenHeaderBytes = 4136;
// Read this much from offset 0 to decode any version.
constexpr size_t kCowMaxHeaderBytes = kCowV3BrokenHeaderBytes;
// Longest backing path a v3 header holds (4096-byte field, NUL included).
constexpr size_t kCowV3MaxPathBytes = 4095;

enum class CowLayout {
  kV1,        // host (little) endian, 256-byte path
  kV2,        // big endian, path first
  kV3,        // big endian, packed: what UML writes today
  kV3Broken,  // v3 written by pre-2006 64-bit hosts (unpacked struct)
};

struct CowHeader {
  CowLayout layout = CowLayout::kV3;
  uint32_t version = 3;
  // Up to the first NUL: real files carry garbage after it (UML does not
  // zero the header it writes).
  std::string backing_file;
  uint32_t mtime = 0;  // backing file st_mtime, seconds, 32 bits
  uint64_t size = 0;   // backing file size, bytes
  uint32_t sector_size = kCowSectorBytes;
  uint32_t alignment = kCowAlignment;
  // Derived from the fields above (ComputeCowLayout).
  uint64_t bitmap_offset = 0;
  uint64_t bitmap_bytes = 0;
  uint64_t data_offset = 0;

  // Sectors of the backing file (the last one may be partial).
  uint64_t sectors() const { return (size + sector_size - 1) / sector_size; }
  // Sectors that have a bitmap bit. v1/v2 keep the historical rounding bug:
  // the last (sectors % 8) sectors have none and always come from the
  // backing file.
  uint64_t sectors_with_bits() const;
};

// Decodes the header at the start of a file from `bytes` (the first
// kCowMaxHeaderBytes of the file, or the whole file when shorter).
//   nullopt: not a COW file (no magic; UML treats it as a plain image).
//   error:   the magic is there but the header is unusable (truncated,
//            unknown version, zero or absurd sizes, path not terminated):
//            InvalidArgument naming the field.
//   header:  decoded, with bitmap_offset, bitmap_bytes and data_offset set.
absl::StatusOr<std::optional<CowHeader>> DecodeCowHeader(
    absl::Span<const uint8_t> bytes);

// Fills in bitmap_offset/bitmap_bytes/data_offset of `header` from its
// version, size, sector size and alignment, as cow_sizes() does (v1/v2 with
// their old rounding). InvalidArgument when the values cannot describe a file
// (zero or non-power-of-two sector size or alignment, or overflow).
absl::Status ComputeCowLayout(CowHeader& header);

// A v3 header for a backing file of `size` bytes modified at `mtime`, with
// UML's sector size and alignment; layout fields filled in. `backing_file`
// must be absolute and at most kCowV3MaxPathBytes long.
absl::StatusOr<CowHeader> MakeV3Header(absl::string_view backing_file,
                                       uint64_t size, uint32_t mtime);

// The kCowV3HeaderBytes bytes UML writes for `header` (big-endian fields,
// cow_format 0, the path NUL-padded: zeros where UML leaves garbage).
// Requires header.layout == kV3.
std::vector<uint8_t> EncodeV3Header(const CowHeader& header);

// Bit `sector` of a bitmap in UML's order (LSB first within a byte).
inline bool CowBitmapTest(absl::Span<const uint8_t> bitmap, uint64_t sector) {
  return (bitmap[sector >> 3] >> (sector & 7)) & 1;
}
inline void CowBitmapSet(absl::Span<uint8_t> bitmap, uint64_t sector) {
  bitmap[sector >> 3] |= static_cast<uint8_t>(1u << (sector & 7));
}

// How many of the first `bits` bits of `bitmap` are set.
uint64_t CountCowBits(absl::Span<const uint8_t> bitmap, uint64_t bits);

}  // namespace kuml

#endif  // KUML_DISK_COW_FORMAT_H_
