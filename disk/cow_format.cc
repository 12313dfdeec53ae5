#include "disk/cow_format.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kuml {
namespace {

// Where each layout keeps its fields (uml-interfaces.md §3.2).
struct FieldMap {
  CowLayout layout;
  size_t header_bytes;
  size_t path, path_bytes, mtime, size, sector_size;
  size_t alignment;    // kNone: the sector size doubles as alignment
  bool little_endian;  // v1: written in host order on x86
};
constexpr size_t kNone = ~size_t{0};
constexpr FieldMap kV1Map = {
    CowLayout::kV1, kCowV1HeaderBytes, 8, 256, 264, 268, 276, kNone, true};
constexpr FieldMap kV2Map = {
    CowLayout::kV2, kCowV2HeaderBytes, 8, 4096, 4104, 4108, 4116, kNone, false};
constexpr FieldMap kV3Map = {
    CowLayout::kV3, kCowV3HeaderBytes, 32, 4096, 8, 12, 20, 24, false};
// The unpacked struct: 4 pad bytes after mtime; UML reads the first 4 bytes
// of the 8-byte time_t slot, big-endian. cow_format (0) sits at 32.
constexpr FieldMap kV3BrokenMap = {CowLayout::kV3Broken,
                                   kCowV3BrokenHeaderBytes,
                                   36,
                                   4096,
                                   8,
                                   16,
                                   24,
                                   28,
                                   false};
constexpr size_t kV3CowFormat = 28;
constexpr size_t kV3Path = 32;

// Anything bigger cannot be a real disk and would overflow the layout
// arithmetic (offsets are computed in 64 bits).
constexpr uint64_t kMaxBackingBytes = 1ull << 60;
constexpr uint32_t kMaxAlignment = 1u << 30;
constexpr uint32_t kMaxSectorBytes = 1u << 20;
// UML and uml_mkcow write 512; smaller sectors only blow the bitmap up (a
// 1-byte sector makes it an eighth of the disk).
constexpr uint32_t kMinSectorBytes = 512;

uint32_t Be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
uint64_t Be64(const uint8_t* p) {
  return (uint64_t{Be32(p)} << 32) | Be32(p + 4);
}
uint32_t Le32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) |
         (uint32_t{p[3]} << 24);
}
uint64_t Le64(const uint8_t* p) {
  return uint64_t{Le32(p)} | (uint64_t{Le32(p + 4)} << 32);
}
void PutBe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
void PutBe64(uint8_t* p, uint64_t v) {
  PutBe32(p, static_cast<uint32_t>(v >> 32));
  PutBe32(p + 4, static_cast<uint32_t>(v));
}

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

absl::Status Bad(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("invalid COW header: ", why));
}

// The backing path: a C string inside a fixed field. Garbage after the NUL
// is ignored; a field without a NUL is refused (UML would run off its end).
absl::StatusOr<std::string> PathField(const uint8_t* field, size_t bytes) {
  const void* nul = std::memchr(field, 0, bytes);
  if (nul == nullptr) return Bad("backing file name is not NUL-terminated");
  std::string path(reinterpret_cast<const char*>(field),
                   static_cast<const uint8_t*>(nul) - field);
  if (path.empty()) return Bad("backing file name is empty");
  return path;
}

absl::Status NeedBytes(absl::Span<const uint8_t> bytes, size_t need,
                       uint32_t version) {
  if (bytes.size() >= need) return absl::OkStatus();
  return Bad(absl::StrFormat(
      "truncated: the file has %u bytes, a version %u header needs %u",
      bytes.size(), version, need));
}

}  // namespace

uint64_t CowHeader::sectors_with_bits() const {
  const uint64_t bits = bitmap_bytes * 8;
  return bits < sectors() ? bits : sectors();
}

absl::Status ComputeCowLayout(CowHeader& h) {
  if (h.size == 0) return Bad("backing file size is 0");
  if (h.size > kMaxBackingBytes) {
    return Bad(absl::StrFormat("backing file size %u is too large", h.size));
  }
  if (!IsPowerOfTwo(h.sector_size) || h.sector_size < kMinSectorBytes ||
      h.sector_size > kMaxSectorBytes) {
    return Bad(
        absl::StrFormat("sector size %u is not a power of two from %u to %u",
                        h.sector_size, kMinSectorBytes, kMaxSectorBytes));
  }
  if (!IsPowerOfTwo(h.alignment) || h.alignment > kMaxAlignment) {
    return Bad(absl::StrFormat("alignment %u is not a power of two up to %u",
                               h.alignment, kMaxAlignment));
  }
  const uint64_t sector = h.sector_size;
  auto round_up = [](uint64_t n, uint64_t align) {
    return (n + align - 1) & ~(align - 1);
  };
  switch (h.layout) {
    case CowLayout::kV1:
    case CowLayout::kV2:
      h.bitmap_offset =
          h.layout == CowLayout::kV1 ? kCowV1HeaderBytes : kCowV2HeaderBytes;
      // cow_sizes() for version < 3: floor, not ceil, of sectors / 8.
      h.bitmap_bytes = (h.size + sector - 1) / (8 * sector);
      h.data_offset = round_up(h.bitmap_offset + h.bitmap_bytes, sector);
      break;
    case CowLayout::kV3:
    case CowLayout::kV3Broken:
      h.bitmap_offset =
          round_up(h.layout == CowLayout::kV3 ? kCowV3HeaderBytes
                                              : kCowV3BrokenHeaderBytes,
                   h.alignment);
      h.bitmap_bytes = ((h.size + sector - 1) / sector + 7) / 8;
      h.data_offset = round_up(h.bitmap_offset + h.bitmap_bytes, h.alignment);
      break;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<CowHeader>> DecodeCowHeader(
    absl::Span<const uint8_t> bytes) {
  if (bytes.size() < 8) return std::optional<CowHeader>();
  const uint8_t* p = bytes.data();
  CowHeader h;
  // read_cow_header(): the magic in host order means a v1 file written on
  // this (little-endian) kind of host, with host-order fields; big-endian
  // magic means v2/v3 with big-endian fields.
  if (Le32(p) == kCowMagic) {
    h.version = Le32(p + 4);
  } else if (Be32(p) == kCowMagic) {
    h.version = Be32(p + 4);
  } else {
    return std::optional<CowHeader>();
  }

  const FieldMap* map = nullptr;
  if (h.version == 1) {
    map = &kV1Map;
  } else if (h.version == 2) {
    map = &kV2Map;
  } else if (h.version == 3) {
    // UML's rule: in the packed layout offset 32 starts an absolute path, so
    // four zero bytes there mean the old unpacked 64-bit layout.
    const bool broken = bytes.size() >= kV3Path + 4 && Be32(p + kV3Path) == 0;
    map = broken ? &kV3BrokenMap : &kV3Map;
  } else {
    return Bad(absl::StrCat("unknown version ", h.version,
                            " (kuml reads versions 1, 2 and 3)"));
  }
  if (auto s = NeedBytes(bytes, map->header_bytes, h.version); !s.ok()) {
    return s;
  }
  const FieldMap& m = *map;
  absl::StatusOr<std::string> path = PathField(p + m.path, m.path_bytes);
  if (!path.ok()) return path.status();
  h.layout = m.layout;
  h.backing_file = *std::move(path);
  auto u32 = [&](size_t at) {
    return m.little_endian ? Le32(p + at) : Be32(p + at);
  };
  h.mtime = u32(m.mtime);
  h.size = m.little_endian ? Le64(p + m.size) : Be64(p + m.size);
  h.sector_size = u32(m.sector_size);
  h.alignment = m.alignment == kNone ? h.sector_size : u32(m.alignment);
  if (absl::Status s = ComputeCowLayout(h); !s.ok()) return s;
  return std::optional<CowHeader>(std::move(h));
}

absl::StatusOr<CowHeader> MakeV3Header(absl::string_view backing_file,
                                       uint64_t size, uint32_t mtime) {
  if (backing_file.empty() || backing_file[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "COW backing file name \"", backing_file, "\" is not absolute"));
  }
  if (backing_file.size() > kCowV3MaxPathBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Backing file name \"%s\" is too long - names are limited to %u "
        "characters",
        backing_file, kCowV3MaxPathBytes));
  }
  if (backing_file.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("backing file name contains a NUL");
  }
  CowHeader h;
  h.layout = CowLayout::kV3;
  h.version = 3;
  h.backing_file = std::string(backing_file);
  h.mtime = mtime;
  h.size = size;
  h.sector_size = kCowSectorBytes;
  h.alignment = kCowAlignment;
  if (absl::Status s = ComputeCowLayout(h); !s.ok()) return s;
  return h;
}

uint64_t CountCowBits(absl::Span<const uint8_t> bitmap, uint64_t bits) {
  uint64_t count = 0;
  for (uint64_t i = 0; i < bits / 8; ++i) {
    count += static_cast<uint64_t>(__builtin_popcount(bitmap[i]));
  }
  for (uint64_t b = bits / 8 * 8; b < bits; ++b) {
    count += CowBitmapTest(bitmap, b);
  }
  return count;
}

std::vector<uint8_t> EncodeV3Header(const CowHeader& h) {
  std::vector<uint8_t> out(kCowV3HeaderBytes, 0);
  uint8_t* p = out.data();
  PutBe32(p, kCowMagic);
  PutBe32(p + 4, 3);
  PutBe32(p + kV3Map.mtime, h.mtime);
  PutBe64(p + kV3Map.size, h.size);
  PutBe32(p + kV3Map.sector_size, h.sector_size);
  PutBe32(p + kV3Map.alignment, h.alignment);
  PutBe32(p + kV3CowFormat, 0);  // COW_BITMAP
  std::memcpy(p + kV3Path, h.backing_file.data(),
              std::min(h.backing_file.size(), kCowV3MaxPathBytes));
  return out;
}

}  // namespace kuml
