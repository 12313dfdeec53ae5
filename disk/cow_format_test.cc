// The header codec against the layouts and numbers measured on real files
// (uml-interfaces.md §3.2, §3.7).
#include "disk/cow_format.h"

#include <cstring>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;

std::vector<uint8_t> Bytes(size_t n) { return std::vector<uint8_t>(n, 0); }
void Be32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
void Be64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  Be32(b, at, static_cast<uint32_t>(v >> 32));
  Be32(b, at + 4, static_cast<uint32_t>(v));
}
void Le32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}
void Le64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  Le32(b, at, static_cast<uint32_t>(v));
  Le32(b, at + 4, static_cast<uint32_t>(v >> 32));
}
void Str(std::vector<uint8_t>& b, size_t at, const std::string& s) {
  std::memcpy(b.data() + at, s.data(), s.size());
}

CowHeader Decode(const std::vector<uint8_t>& bytes) {
  absl::StatusOr<std::optional<CowHeader>> h = DecodeCowHeader(bytes);
  EXPECT_TRUE(h.ok()) << h.status();
  if (!h.ok() || !h->has_value()) {
    ADD_FAILURE() << "not decoded as a COW header";
    return CowHeader();
  }
  return **h;
}

std::string DecodeError(const std::vector<uint8_t>& bytes) {
  absl::StatusOr<std::optional<CowHeader>> h = DecodeCowHeader(bytes);
  EXPECT_FALSE(h.ok());
  return h.ok() ? "" : std::string(h.status().message());
}

// small_uml.cow's header: v3 over a 1050112-byte (2051-sector) file.
std::vector<uint8_t> SmallV3() {
  std::vector<uint8_t> b = Bytes(kCowV3HeaderBytes);
  Be32(b, 0, kCowMagic);
  Be32(b, 4, 3);
  Be32(b, 8, 0x6b058cae);
  Be64(b, 12, 0x100600);
  Be32(b, 20, 512);
  Be32(b, 24, 4096);
  Str(b, 32, "/tmp/small.img");
  return b;
}

TEST(CowFormatTest, V3StartsWithOoomAndDecodes) {
  std::vector<uint8_t> b = SmallV3();
  EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "OOOM");
  CowHeader h = Decode(b);
  EXPECT_EQ(h.layout, CowLayout::kV3);
  EXPECT_EQ(h.version, 3u);
  EXPECT_EQ(h.backing_file, "/tmp/small.img");
  EXPECT_EQ(h.mtime, 0x6b058caeu);
  EXPECT_EQ(h.size, 1050112u);
  EXPECT_EQ(h.sectors(), 2051u);
  EXPECT_EQ(h.bitmap_offset, 8192u);
  EXPECT_EQ(h.bitmap_bytes, 257u);
  EXPECT_EQ(h.data_offset, 12288u);
  EXPECT_EQ(h.sectors_with_bits(), 2051u);
}

TEST(CowFormatTest, V3Over64MiBMatchesUmlRootCow) {
  absl::StatusOr<CowHeader> h =
      MakeV3Header("/srv/images/root_fs", 64 << 20, 0x6b058c8d);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->bitmap_offset, 8192u);
  EXPECT_EQ(h->bitmap_bytes, 16384u);
  EXPECT_EQ(h->data_offset, 24576u);
  EXPECT_EQ(h->data_offset + h->size, 67133440u);  // uml_root.cow's size
  // The bytes of §3.7's hexdump, up to the path's NUL and the zeros after.
  const std::vector<uint8_t> enc = EncodeV3Header(*h);
  ASSERT_EQ(enc.size(), kCowV3HeaderBytes);
  const uint8_t expected[] = {0x4f, 0x4f, 0x4f, 0x4d, 0x00, 0x00, 0x00, 0x03,
                              0x6b, 0x05, 0x8c, 0x8d, 0x00, 0x00, 0x00, 0x00,
                              0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
                              0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(std::vector<uint8_t>(enc.begin(), enc.begin() + 32),
            std::vector<uint8_t>(std::begin(expected), std::end(expected)));
  EXPECT_EQ(std::string(enc.begin() + 32, enc.begin() + 52),
            std::string("/srv/images/root_fs\0", 20));
  for (size_t i = 52; i < enc.size(); ++i) ASSERT_EQ(enc[i], 0) << i;
  // And it decodes to itself.
  CowHeader back = Decode(enc);
  EXPECT_EQ(back.backing_file, "/srv/images/root_fs");
  EXPECT_EQ(back.data_offset, 24576u);
}

TEST(CowFormatTest, GarbageAfterThePathNulIsIgnored) {
  std::vector<uint8_t> b = SmallV3();
  // What the real UML leaves there: kernel memory.
  b[32 + 20] = 0xe0;
  b[0x400] = 0x53;
  b[0x1001] = 0x6e;
  CowHeader h = Decode(b);
  EXPECT_EQ(h.backing_file, "/tmp/small.img");
}

TEST(CowFormatTest, V3BrokenLayoutIsDetectedByZerosAt32) {
  std::vector<uint8_t> b = Bytes(kCowV3BrokenHeaderBytes);
  Be32(b, 0, kCowMagic);
  Be32(b, 4, 3);
  Be32(b, 8, 0x6b058cae);  // mtime, then 4 pad bytes
  Be64(b, 16, 0x100600);
  Be32(b, 24, 512);
  Be32(b, 28, 4096);
  Be32(b, 32, 0);  // cow_format
  Str(b, 36, "/tmp/small.img");
  CowHeader h = Decode(b);
  EXPECT_EQ(h.layout, CowLayout::kV3Broken);
  EXPECT_EQ(h.mtime, 0x6b058caeu);
  EXPECT_EQ(h.size, 1050112u);
  EXPECT_EQ(h.backing_file, "/tmp/small.img");
  EXPECT_EQ(h.bitmap_offset, 8192u);  // ROUND_UP(4136, 4096)
  EXPECT_EQ(h.data_offset, 12288u);
}

TEST(CowFormatTest, V2HasPathFirstAndUnalignedBitmap) {
  std::vector<uint8_t> b = Bytes(kCowV2HeaderBytes);
  Be32(b, 0, kCowMagic);
  Be32(b, 4, 2);
  Str(b, 8, "/tmp/small.img");
  Be32(b, 4104, 0x6b058cae);
  Be64(b, 4108, 0x100600);
  Be32(b, 4116, 512);
  CowHeader h = Decode(b);
  EXPECT_EQ(h.layout, CowLayout::kV2);
  EXPECT_EQ(h.mtime, 0x6b058caeu);
  EXPECT_EQ(h.bitmap_offset, 4120u);
  EXPECT_EQ(h.bitmap_bytes, 256u);  // the old floor: 2051 / 8
  EXPECT_EQ(h.data_offset, 4608u);
  EXPECT_EQ(h.sectors_with_bits(), 2048u);
}

TEST(CowFormatTest, V1IsLittleEndianMooo) {
  std::vector<uint8_t> b = Bytes(kCowV1HeaderBytes);
  Le32(b, 0, kCowMagic);
  Le32(b, 4, 1);
  Str(b, 8, "/tmp/small.img");
  Le32(b, 264, 0x6b058cae);
  Le64(b, 268, 0x100600);
  Le32(b, 276, 512);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "MOOO");
  CowHeader h = Decode(b);
  EXPECT_EQ(h.layout, CowLayout::kV1);
  EXPECT_EQ(h.mtime, 0x6b058caeu);
  EXPECT_EQ(h.size, 1050112u);
  EXPECT_EQ(h.bitmap_offset, 280u);
  EXPECT_EQ(h.bitmap_bytes, 256u);
  EXPECT_EQ(h.data_offset, 1024u);
}

TEST(CowFormatTest, NoMagicIsNotACowFile) {
  std::vector<uint8_t> b = Bytes(4096);
  Str(b, 0, "hello, raw disk");
  absl::StatusOr<std::optional<CowHeader>> h = DecodeCowHeader(b);
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->has_value());
  h = DecodeCowHeader(absl::Span<const uint8_t>());
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->has_value());
}

TEST(CowFormatTest, BadHeadersAreErrorsNotRawImages) {
  std::vector<uint8_t> b = SmallV3();
  // Truncated at every length that keeps the magic.
  for (size_t n : {8u, 31u, 100u, 4127u}) {
    EXPECT_THAT(DecodeError(std::vector<uint8_t>(b.begin(), b.begin() + n)),
                HasSubstr("truncated"))
        << n;
  }
  std::vector<uint8_t> v = b;
  Be32(v, 4, 7);
  EXPECT_THAT(DecodeError(v), HasSubstr("unknown version 7"));
  v = b;
  Be32(v, 24, 0);
  EXPECT_THAT(DecodeError(v), HasSubstr("alignment 0"));
  v = b;
  Be32(v, 24, 3000);
  EXPECT_THAT(DecodeError(v), HasSubstr("alignment 3000"));
  v = b;
  Be32(v, 20, 0);
  EXPECT_THAT(DecodeError(v), HasSubstr("sector size 0"));
  v = b;
  Be64(v, 12, 0);
  EXPECT_THAT(DecodeError(v), HasSubstr("size is 0"));
  v = b;
  Be64(v, 12, ~0ull);
  EXPECT_THAT(DecodeError(v), HasSubstr("too large"));
  v = b;
  std::memset(v.data() + 32, 'x', 4096);
  EXPECT_THAT(DecodeError(v), HasSubstr("not NUL-terminated"));
}

TEST(CowFormatTest, MakeV3HeaderRefusesRelativeAndLongNames) {
  EXPECT_FALSE(MakeV3Header("root_fs", 512, 0).ok());
  EXPECT_FALSE(MakeV3Header("/" + std::string(4095, 'a'), 512, 0).ok());
  EXPECT_TRUE(MakeV3Header("/" + std::string(4094, 'a'), 512, 0).ok());
}

TEST(CowFormatTest, BitOrderIsLsbFirst) {
  // small_uml.cow: 09 fe 01 = sectors 0, 3, 9..16.
  const std::vector<uint8_t> bitmap = {0x09, 0xfe, 0x01};
  std::vector<int> set;
  for (int s = 0; s < 24; ++s) {
    if (CowBitmapTest(bitmap, s)) set.push_back(s);
  }
  EXPECT_EQ(set, (std::vector<int>{0, 3, 9, 10, 11, 12, 13, 14, 15, 16}));
  EXPECT_EQ(CountCowBits(bitmap, 24), 10u);
  EXPECT_EQ(CountCowBits(bitmap, 10), 3u);
}

}  // namespace
}  // namespace kuml
