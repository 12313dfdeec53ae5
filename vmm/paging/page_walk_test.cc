#include "vmm/paging/page_walk.h"

#include <cstdint>
#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vmm/paging/testing/page_table_builder.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kRam = 4 << 20;
// Hand-placed tables.
constexpr uint64_t kPml5 = 0x1000;
constexpr uint64_t kPml4 = 0x2000;
constexpr uint64_t kPdpt = 0x3000;
constexpr uint64_t kPd = 0x4000;
constexpr uint64_t kPt = 0x5000;
constexpr uint64_t kP = kPtePresent | kPteWritable;
constexpr uint64_t kNx = 1ull << 63;

uint64_t Index(uint64_t gva, int shift) { return (gva >> shift) & 0x1ff; }

class PageWalkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mem = GuestMemory::Create(kRam);
    ASSERT_TRUE(mem.ok()) << mem.status();
    mem_ = std::move(*mem);
  }

  // Writes the 8-byte entry `value` at `table`[`index`].
  void Put(uint64_t table, uint64_t index, uint64_t value) {
    ASSERT_TRUE(mem_->WriteObject(table + index * 8, value).ok());
  }

  // Four-level chain kPml4 -> kPdpt -> kPd -> kPt for `gva`, its 4 KiB page
  // at `page`.
  void MapFourLevel(uint64_t gva, uint64_t page) {
    Put(kPml4, Index(gva, 39), kPdpt | kP);
    Put(kPdpt, Index(gva, 30), kPd | kP);
    Put(kPd, Index(gva, 21), kPt | kP);
    Put(kPt, Index(gva, 12), page | kP | kNx);
  }

  static PagingRegs LongMode(uint64_t cr3, bool la57 = false) {
    PagingRegs regs;
    regs.cr0 = kCr0Pe | kCr0Pg;
    regs.cr3 = cr3;
    regs.cr4 = kCr4Pae | (la57 ? kCr4La57 : 0);
    regs.efer = kEferLme | kEferLma;
    return regs;
  }

  std::unique_ptr<GuestMemory> mem_;
};

TEST_F(PageWalkTest, PagingOffIsIdentity) {
  PagingRegs regs;
  regs.cr0 = kCr0Pe;
  auto t = TranslateGva(*mem_, regs, 0x12345);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->gpa, 0x12345u);
  EXPECT_EQ(t->page_size, 4096u);
  // Beyond RAM translates, but cannot be read.
  uint8_t b;
  EXPECT_EQ(ReadGva(*mem_, regs, 0xffffffff81000000, {&b, 1}).code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(PageWalkTest, FourLevel4KiBPage) {
  const uint64_t gva = 0x00007f12'3456'7abc;
  MapFourLevel(gva, 0x100000);
  // PCID in CR3's low bits is not part of the table's address.
  auto t = TranslateGva(*mem_, LongMode(kPml4 | 0x5), gva);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->gpa, 0x100abcu);
  EXPECT_EQ(t->page_size, 4096u);
}

TEST_F(PageWalkTest, FourLevelHigherHalf) {
  const uint64_t gva = 0xffffffff'81000010;
  MapFourLevel(gva, 0x200000);
  auto t = TranslateGva(*mem_, LongMode(kPml4), gva);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->gpa, 0x200010u);
}

TEST_F(PageWalkTest, FiveLevel) {
  // Bit 56 set: canonical with 57 bits, not with 48.
  const uint64_t gva = 0xff12'3456'789a'b123;
  Put(kPml5, Index(gva, 48), kPml4 | kP);
  MapFourLevel(gva, 0x300000);
  auto t = TranslateGva(*mem_, LongMode(kPml5, /*la57=*/true), gva);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->gpa, 0x300123u);
  EXPECT_EQ(TranslateGva(*mem_, LongMode(kPml4), gva).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PageWalkTest, FiveLevelAcceptsAddressesBeyond48Bits) {
  const uint64_t gva = 0x0001'0000'0000'0000;  // non-canonical with 48 bits
  Put(kPml5, Index(gva, 48), kPml4 | kP);
  MapFourLevel(gva, 0x300000);
  EXPECT_TRUE(TranslateGva(*mem_, LongMode(kPml5, true), gva).ok());
  EXPECT_EQ(TranslateGva(*mem_, LongMode(kPml4), gva).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PageWalkTest, TwoMiBPage) {
  const uint64_t gva = 0xffff8880'0012'3456;  // 2 MiB page at ...0000'0000
  Put(kPml4, Index(gva, 39), kPdpt | kP);
  Put(kPdpt, Index(gva, 30), kPd | kP);
  // Bit 12 is the PAT bit of a large page, not an address bit.
  Put(kPd, Index(gva, 21), 0x200000 | kP | kPteLarge | (1 << 12) | kNx);
  auto t = TranslateGva(*mem_, LongMode(kPml4), gva);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->gpa, 0x200000u + 0x123456);
  EXPECT_EQ(t->page_size, 2u << 20);
}

TEST_F(PageWalkTest, OneGiBPage) {
  const uint64_t gva = 0xffff8880'4000'1234;  // second GiB of the direct map
  Put(kPml4, Index(gva, 39), kPdpt | kP);
  Put(kPdpt, Index(gva, 30), 0x40000000 | kP | kPteLarge);
  auto t = TranslateGva(*mem_, LongMode(kPml4), gva);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->gpa, 0x40001234u);
  EXPECT_EQ(t->page_size, 1u << 30);
  // Mapped, but not RAM in a 4 MiB guest.
  uint8_t b;
  EXPECT_EQ(ReadGva(*mem_, LongMode(kPml4), gva, {&b, 1}).code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(PageWalkTest, OneGiBPageOverRam) {
  const uint64_t gva = 0xffff8880'0000'0000;
  Put(kPml4, Index(gva, 39), kPdpt | kP);
  Put(kPdpt, Index(gva, 30), 0 | kP | kPteLarge);
  ASSERT_TRUE(mem_->WriteObject<uint64_t>(0x123450, 0x1122334455667788).ok());
  uint64_t v = 0;
  ASSERT_TRUE(ReadGva(*mem_, LongMode(kPml4), gva + 0x123450,
                      {reinterpret_cast<uint8_t*>(&v), 8})
                  .ok());
  EXPECT_EQ(v, 0x1122334455667788u);
}

TEST_F(PageWalkTest, PaeMode) {
  PagingRegs regs;
  regs.cr0 = kCr0Pe | kCr0Pg;
  regs.cr3 = kPdpt + 0x20;  // 32-byte aligned PDPT inside the page
  regs.cr4 = kCr4Pae;
  const uint64_t gva = 0xc0402abc;  // PDPTE 3, PDE 2, PTE 2
  Put(kPdpt + 0x20, 3, kPd | kPtePresent);
  Put(kPd, 2, kPt | kP);
  Put(kPt, 2, 0x180000 | kP);
  auto t = TranslateGva(*mem_, regs, gva);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->gpa, 0x180abcu);
  // And a 2 MiB page in the same PD.
  Put(kPd, 3, 0x200000 | kP | kPteLarge);
  t = TranslateGva(*mem_, regs, 0xc0654321);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->gpa, 0x254321u);
  EXPECT_EQ(t->page_size, 2u << 20);
  EXPECT_EQ(TranslateGva(*mem_, regs, 0x1'0000'0000).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PageWalkTest, NotPresentNamesTheLevel) {
  const uint64_t gva = 0xffffffff'81000000;
  auto t = TranslateGva(*mem_, LongMode(kPml4), gva);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(t.status().message(), HasSubstr("PML4 entry 511"));
  EXPECT_THAT(t.status().message(), HasSubstr("0xffffffff81000000"));

  Put(kPml4, Index(gva, 39), kPdpt | kP);
  Put(kPdpt, Index(gva, 30), kPd | kP);
  t = TranslateGva(*mem_, LongMode(kPml4), gva);
  EXPECT_THAT(t.status().message(), HasSubstr("PD entry 8 "));

  Put(kPd, Index(gva, 21), kPt | kP);
  t = TranslateGva(*mem_, LongMode(kPml4), gva);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(t.status().message(), HasSubstr("PT entry 0 "));

  t = TranslateGva(*mem_, LongMode(kPml5, true), gva);
  EXPECT_THAT(t.status().message(), HasSubstr("PML5 entry"));
}

TEST_F(PageWalkTest, NonCanonicalIsRefused) {
  auto t = TranslateGva(*mem_, LongMode(kPml4), 0x0000'8000'0000'0000);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr("not canonical"));
  t = TranslateGva(*mem_, LongMode(kPml4), 0xfeff'ffff'ffff'f000);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PageWalkTest, PsInPml4IsRefused) {
  const uint64_t gva = 0x1000;
  Put(kPml4, 0, kPdpt | kP | kPteLarge);
  EXPECT_EQ(TranslateGva(*mem_, LongMode(kPml4), gva).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(PageWalkTest, TableOutsideRamIsAnError) {
  const uint64_t gva = 0x40'0000'0000;
  Put(kPml4, Index(gva, 39), kPdpt | kP);
  Put(kPdpt, Index(gva, 30), 0x8000'0000 | kP);  // the PD: beyond 4 MiB
  auto t = TranslateGva(*mem_, LongMode(kPml4), gva);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(t.status().message(), HasSubstr("PD entry 0 at guest physical "
                                              "0x80000000 is not guest RAM"));
  // CR3 itself outside RAM.
  t = TranslateGva(*mem_, LongMode(0xfff'0000'0000), gva);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(t.status().message(), HasSubstr("PML4 entry"));
}

TEST_F(PageWalkTest, PteOutsideRam) {
  const uint64_t gva = 0x7000'0000;
  MapFourLevel(gva, 0xd000'0000);  // e.g. a virtio-mmio window
  auto t = TranslateGva(*mem_, LongMode(kPml4), gva);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->gpa, 0xd0000000u);
  uint8_t buf[4] = {1, 2, 3, 4};
  absl::Status s = ReadGva(*mem_, LongMode(kPml4), gva, absl::MakeSpan(buf));
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(s.message(), HasSubstr("0x70000000 maps guest physical "
                                     "0xd0000000, which is not guest RAM"));
  EXPECT_EQ(WriteGva(*mem_, LongMode(kPml4), gva, buf).code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(PageWalkTest, ThirtyTwoBitPagingIsUnimplemented) {
  PagingRegs regs;
  regs.cr0 = kCr0Pe | kCr0Pg;
  regs.cr3 = kPml4;
  EXPECT_EQ(TranslateGva(*mem_, regs, 0x1000).status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST_F(PageWalkTest, RangesCrossPageBoundaries) {
  // Two virtually adjacent pages, physically in the opposite order.
  const uint64_t gva = 0x40'0000'0000;
  MapFourLevel(gva, 0x120000);
  MapFourLevel(gva + 0x1000, 0x110000);
  const PagingRegs regs = LongMode(kPml4);
  std::vector<uint8_t> data(32);
  for (size_t i = 0; i < data.size(); ++i) data[i] = 0xa0 + i;
  ASSERT_TRUE(WriteGva(*mem_, regs, gva + 0xff0, data).ok());
  uint8_t first = 0, second = 0;
  ASSERT_TRUE(mem_->Read(0x120ff0, &first, 1).ok());
  ASSERT_TRUE(mem_->Read(0x110000, &second, 1).ok());
  EXPECT_EQ(first, 0xa0);
  EXPECT_EQ(second, 0xb0);
  std::vector<uint8_t> back(32);
  ASSERT_TRUE(ReadGva(*mem_, regs, gva + 0xff0, absl::MakeSpan(back)).ok());
  EXPECT_EQ(back, data);
}

TEST_F(PageWalkTest, WriteIsAllOrNothing) {
  const uint64_t gva = 0x40'0000'0000;
  MapFourLevel(gva, 0x120000);  // the next page is not mapped
  const std::vector<uint8_t> data(32, 0xee);
  absl::Status s = WriteGva(*mem_, LongMode(kPml4), gva + 0xff0, data);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  uint8_t b = 0;
  ASSERT_TRUE(mem_->Read(0x120ff0, &b, 1).ok());
  EXPECT_EQ(b, 0);
}

TEST_F(PageWalkTest, RangeThatWrapsIsRefused) {
  PagingRegs regs;  // paging off
  uint8_t buf[16];
  EXPECT_EQ(ReadGva(*mem_, regs, ~0ull - 7, absl::MakeSpan(buf)).code(),
            absl::StatusCode::kInvalidArgument);
  // Empty ranges are fine anywhere.
  EXPECT_TRUE(ReadGva(*mem_, regs, ~0ull, {}).ok());
}

TEST_F(PageWalkTest, BuilderMapsWhatTheWalkFinds) {
  auto builder = PageTableBuilder::Create(mem_.get(), 0x10000, 0x10000);
  ASSERT_TRUE(builder.ok()) << builder.status();
  ASSERT_TRUE(builder->MapRange(0xffffffff'81000000, 0x100000, 0x3000).ok());
  const PagingRegs regs = builder->LongModeRegs();
  for (uint64_t off : {0x0ull, 0x1fffull, 0x2abcull}) {
    auto t = TranslateGva(*mem_, regs, 0xffffffff'81000000 + off);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->gpa, 0x100000 + off);
  }
  EXPECT_FALSE(TranslateGva(*mem_, regs, 0xffffffff'81003000).ok());
}

}  // namespace
}  // namespace kuml
