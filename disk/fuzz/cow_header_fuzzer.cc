// libFuzzer target: the COW header decoder on arbitrary bytes. Beyond not
// crashing (ASan/UBSan), a decoded header must describe a usable file:
// bitmap after the header, data after the bitmap, aligned as its version
// says; and a v3 header re-encodes to bytes that decode to the same header.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "disk/cow_format.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<std::optional<kuml::CowHeader>> decoded =
      kuml::DecodeCowHeader(absl::MakeConstSpan(data, size));
  if (!decoded.ok() || !decoded->has_value()) return 0;
  const kuml::CowHeader& h = **decoded;
  Check(!h.backing_file.empty());
  Check(h.size > 0 && h.sector_size > 0 && h.alignment > 0);
  Check(h.bitmap_offset >= 8);
  Check(h.data_offset >= h.bitmap_offset + h.bitmap_bytes);
  Check(h.sectors_with_bits() <= h.sectors());
  Check(h.bitmap_bytes * 8 >= h.sectors_with_bits());
  if (h.layout == kuml::CowLayout::kV3 ||
      h.layout == kuml::CowLayout::kV3Broken) {
    Check(h.data_offset % h.alignment == 0);
    Check(h.sectors_with_bits() == h.sectors());
  }
  if (h.layout == kuml::CowLayout::kV3) {
    const std::vector<uint8_t> again = kuml::EncodeV3Header(h);
    auto back = kuml::DecodeCowHeader(again);
    Check(back.ok() && back->has_value());
    Check((*back)->backing_file == h.backing_file && (*back)->size == h.size &&
          (*back)->mtime == h.mtime && (*back)->data_offset == h.data_offset);
  }
  return 0;
}
