#include "devices/virtio/virtqueue.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "devices/virtio/test_driver.h"
#include "devices/virtio/virtio_spec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vmm/guest_memory.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kRam = 16 << 20;
constexpr uint16_t kSize = 8;
constexpr uint64_t kAllFeatures =
    kVirtioFVersion1 | kVirtioFRingIndirectDesc | kVirtioFRingEventIdx;

class VirtqueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = GuestMemory::Create(kRam);
    ASSERT_TRUE(m.ok()) << m.status();
    mem_ = std::move(*m);
    tq_ = std::make_unique<TestQueue>(mem_.get(), &alloc_, kSize);
  }

  // Configures `vq_` from `tq_` and enables it.
  absl::Status Enable(uint64_t features = kAllFeatures, uint32_t size = kSize) {
    vq_.set_size(size);
    vq_.set_desc_gpa(tq_->desc_gpa());
    vq_.set_avail_gpa(tq_->avail_gpa());
    vq_.set_used_gpa(tq_->used_gpa());
    return vq_.Enable(mem_.get(), features);
  }

  uint64_t Buffer(uint64_t bytes, uint8_t fill = 0) {
    uint64_t gpa = alloc_.Alloc(bytes, 8);
    std::vector<uint8_t> data(bytes, fill);
    EXPECT_TRUE(mem_->Write(gpa, data.data(), bytes).ok());
    return gpa;
  }

  // A well-formed chain (16 readable, 8 writable bytes), published.
  uint16_t PublishGoodChain() {
    uint16_t head =
        tq_->AddChain({{Buffer(16), 16, false}, {Buffer(8), 8, true}});
    tq_->Publish(head);
    return head;
  }

  // Pops expecting that the chain at `head` was refused: nothing returned,
  // the head is back in the used ring with length 0.
  void ExpectRefused(uint16_t head, const std::string& why) {
    uint64_t before = vq_.malformed_chains();
    EXPECT_FALSE(vq_.Pop().has_value());
    EXPECT_FALSE(vq_.broken());
    EXPECT_EQ(vq_.malformed_chains(), before + 1);
    EXPECT_THAT(vq_.last_error(), HasSubstr(why));
    absl::optional<VirtqUsedElem> used = tq_->PopUsed();
    ASSERT_TRUE(used.has_value());
    EXPECT_EQ(used->id, head);
    EXPECT_EQ(used->len, 0u);
  }

  std::unique_ptr<GuestMemory> mem_;
  GuestAllocator alloc_;
  std::unique_ptr<TestQueue> tq_;
  Virtqueue vq_{0, kSize};
};

TEST_F(VirtqueueTest, PopsAChainAndCopiesAcrossSegments) {
  ASSERT_TRUE(Enable().ok());
  uint64_t a = Buffer(3), b = Buffer(5), w1 = Buffer(4), w2 = Buffer(6);
  ASSERT_TRUE(mem_->Write(a, "abc", 3).ok());
  ASSERT_TRUE(mem_->Write(b, "defgh", 5).ok());
  uint16_t head = tq_->AddChain(
      {{a, 3, false}, {b, 5, false}, {w1, 4, true}, {w2, 6, true}});
  tq_->Publish(head);

  absl::optional<DescriptorChain> chain = vq_.Pop();
  ASSERT_TRUE(chain.has_value());
  EXPECT_EQ(chain->head(), head);
  ASSERT_EQ(chain->readable().size(), 2u);
  ASSERT_EQ(chain->writable().size(), 2u);
  EXPECT_EQ(chain->readable()[1].gpa, b);
  EXPECT_EQ(chain->readable_bytes(), 8u);
  EXPECT_EQ(chain->writable_bytes(), 10u);

  uint8_t buf[8] = {};
  EXPECT_EQ(chain->CopyFromReadable(1, absl::MakeSpan(buf, 6)), 6u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), 6), "bcdefg");
  EXPECT_EQ(chain->CopyFromReadable(6, absl::MakeSpan(buf)), 2u);
  EXPECT_EQ(chain->CopyFromReadable(8, absl::MakeSpan(buf)), 0u);

  const uint8_t out[] = "0123456789";
  EXPECT_EQ(chain->CopyToWritable(2, absl::MakeConstSpan(out, 10)), 8u);
  char got[10];
  ASSERT_TRUE(mem_->Read(w1, got, 4).ok());
  ASSERT_TRUE(mem_->Read(w2, got + 4, 6).ok());
  EXPECT_EQ(std::string(got + 2, 8), "01234567");

  // ForEach* see each piece once, in order, and refuse ranges outside.
  std::vector<size_t> pieces;
  EXPECT_TRUE(chain
                  ->ForEachWritable(1, 8,
                                    [&](absl::Span<uint8_t> p) {
                                      pieces.push_back(p.size());
                                      return absl::OkStatus();
                                    })
                  .ok());
  EXPECT_EQ(pieces, (std::vector<size_t>{3, 5}));
  EXPECT_EQ(chain
                ->ForEachReadable(4, 5,
                                  [](absl::Span<const uint8_t>) {
                                    ADD_FAILURE() << "called out of range";
                                    return absl::OkStatus();
                                  })
                .code(),
            absl::StatusCode::kOutOfRange);

  vq_.AddUsed(chain->head(), 10);
  absl::optional<VirtqUsedElem> used = tq_->PopUsed();
  ASSERT_TRUE(used.has_value());
  EXPECT_EQ(used->id, head);
  EXPECT_EQ(used->len, 10u);
  EXPECT_FALSE(vq_.Pop().has_value());
}

TEST_F(VirtqueueTest, NotReadyQueueGivesNothing) {
  PublishGoodChain();
  EXPECT_FALSE(vq_.Pop().has_value());
  vq_.AddUsed(0, 1);
  EXPECT_EQ(tq_->UsedIdx(), 0);
  EXPECT_FALSE(vq_.NeedsInterrupt());
}

TEST_F(VirtqueueTest, EnableRefusesBadSizes) {
  for (uint32_t size : {0u, 3u, 6u, 16u, 0x10000u + 8u}) {
    absl::Status s = Enable(kAllFeatures, size);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << size;
    EXPECT_THAT(std::string(s.message()), HasSubstr("power of two"));
    EXPECT_FALSE(vq_.ready());
  }
  EXPECT_TRUE(Enable(kAllFeatures, 4).ok());
  EXPECT_TRUE(vq_.ready());
}

TEST_F(VirtqueueTest, EnableRefusesMisalignedOrOutsideRings) {
  struct Case {
    uint64_t desc, avail, used;
    const char* why;
  } cases[] = {
      {tq_->desc_gpa() + 8, tq_->avail_gpa(), tq_->used_gpa(), "aligned"},
      {tq_->desc_gpa(), tq_->avail_gpa() + 1, tq_->used_gpa(), "aligned"},
      {tq_->desc_gpa(), tq_->avail_gpa(), tq_->used_gpa() + 2, "aligned"},
      {kRam, tq_->avail_gpa(), tq_->used_gpa(), "not guest RAM"},
      // The used ring would straddle the end of RAM.
      {tq_->desc_gpa(), tq_->avail_gpa(), kRam - 32, "not guest RAM"},
      {tq_->desc_gpa(), 0xffff'ffff'ffff'fff0, tq_->used_gpa(),
       "not guest RAM"},
      {GuestMemory::kMmioHoleStart, tq_->avail_gpa(), tq_->used_gpa(),
       "not guest RAM"},
  };
  for (const Case& c : cases) {
    vq_.set_size(kSize);
    vq_.set_desc_gpa(c.desc);
    vq_.set_avail_gpa(c.avail);
    vq_.set_used_gpa(c.used);
    absl::Status s = vq_.Enable(mem_.get(), kAllFeatures);
    EXPECT_FALSE(s.ok()) << c.desc << " " << c.avail << " " << c.used;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.why));
    EXPECT_FALSE(vq_.ready());
  }
}

TEST_F(VirtqueueTest, DescriptorLoopIsRefusedAndTheQueueGoesOn) {
  ASSERT_TRUE(Enable().ok());
  uint64_t buf = Buffer(16);
  tq_->WriteDesc(0, buf, 16, kVirtqDescFNext, 1);
  tq_->WriteDesc(1, buf, 16, kVirtqDescFNext, 0);
  tq_->Publish(0);
  ExpectRefused(0, "loop");
  // A self-loop too.
  tq_->WriteDesc(2, buf, 16, kVirtqDescFNext, 2);
  tq_->Publish(2);
  ExpectRefused(2, "loop");

  // The queue keeps working for well-formed chains.
  tq_->WriteDesc(3, buf, 16, 0, 0);
  tq_->Publish(3);
  absl::optional<DescriptorChain> chain = vq_.Pop();
  ASSERT_TRUE(chain.has_value());
  EXPECT_EQ(chain->head(), 3);
}

TEST_F(VirtqueueTest, MalformedChainBeforeAGoodOneInOnePop) {
  ASSERT_TRUE(Enable().ok());
  tq_->WriteDesc(0, Buffer(16), 16, kVirtqDescFNext, kSize);  // bad next
  tq_->Publish(0);
  tq_->WriteDesc(1, Buffer(16), 16, 0, 0);
  tq_->Publish(1);
  absl::optional<DescriptorChain> chain = vq_.Pop();
  ASSERT_TRUE(chain.has_value());
  EXPECT_EQ(chain->head(), 1);
  EXPECT_EQ(vq_.malformed_chains(), 1u);
  absl::optional<VirtqUsedElem> used = tq_->PopUsed();
  ASSERT_TRUE(used.has_value());
  EXPECT_EQ(used->id, 0u);
  EXPECT_EQ(used->len, 0u);
}

TEST_F(VirtqueueTest, NextIndexOutOfRange) {
  ASSERT_TRUE(Enable().ok());
  tq_->WriteDesc(0, Buffer(16), 16, kVirtqDescFNext, 0xffff);
  tq_->Publish(0);
  ExpectRefused(0, "next index");
}

TEST_F(VirtqueueTest, AddressesOutsideRam) {
  ASSERT_TRUE(Enable().ok());
  tq_->WriteDesc(0, kRam, 16, 0, 0);  // just past the end
  tq_->Publish(0);
  ExpectRefused(0, "not guest RAM");
  tq_->WriteDesc(1, kRam - 4, 8, kVirtqDescFWrite, 0);  // straddles the end
  tq_->Publish(1);
  ExpectRefused(1, "not guest RAM");
  tq_->WriteDesc(2, GuestMemory::kMmioHoleStart, 4, 0, 0);
  tq_->Publish(2);
  ExpectRefused(2, "not guest RAM");
}

TEST_F(VirtqueueTest, AddressPlusLengthOverflow) {
  ASSERT_TRUE(Enable().ok());
  tq_->WriteDesc(0, 0xffff'ffff'ffff'ff00, 0x200, 0, 0);
  tq_->Publish(0);
  ExpectRefused(0, "not guest RAM");
}

TEST_F(VirtqueueTest, HugeLength) {
  ASSERT_TRUE(Enable().ok());
  tq_->WriteDesc(0, 0x1000, 0xffffffff, kVirtqDescFWrite, 0);
  tq_->Publish(0);
  ExpectRefused(0, "not guest RAM");
}

TEST_F(VirtqueueTest, ChainsLongerThan4GiBAreRefused) {
  // 300 indirect entries, each all of RAM: 4.7 GiB in total, every one valid.
  ASSERT_TRUE(Enable().ok());
  std::vector<TestQueue::Buffer> bufs(300, {0, uint32_t{kRam}, false});
  uint64_t table = alloc_.Alloc(16 * bufs.size(), 16);
  tq_->Publish(tq_->AddIndirectChain(table, bufs));
  ExpectRefused(0, "4 GiB");
}

TEST_F(VirtqueueTest, WritableBeforeReadableIsRefused) {
  ASSERT_TRUE(Enable().ok());
  uint16_t head =
      tq_->AddChain({{Buffer(8), 8, true}, {Buffer(16), 16, false}});
  tq_->Publish(head);
  ExpectRefused(head, "device-readable descriptor after");
}

TEST_F(VirtqueueTest, ZeroLengthDescriptorsCarryNothing) {
  ASSERT_TRUE(Enable().ok());
  // A zero-length readable descriptor with an address outside RAM in the
  // middle is harmless: it names no bytes.
  uint16_t head = tq_->AddChain({{Buffer(16), 16, false},
                                 {0xdead'0000'0000, 0, false},
                                 {Buffer(8), 0, true},
                                 {Buffer(8), 8, true}});
  tq_->Publish(head);
  absl::optional<DescriptorChain> chain = vq_.Pop();
  ASSERT_TRUE(chain.has_value());
  EXPECT_EQ(chain->readable().size(), 1u);
  EXPECT_EQ(chain->writable().size(), 1u);
  EXPECT_EQ(chain->readable_bytes(), 16u);
  EXPECT_EQ(chain->writable_bytes(), 8u);

  // ...but an empty writable descriptor still ends the readable part.
  head = tq_->AddChain({{Buffer(8), 0, true}, {Buffer(16), 16, false}});
  tq_->Publish(head);
  ExpectRefused(head, "device-readable descriptor after");

  // A chain of nothing but an empty descriptor is a valid empty chain.
  tq_->WriteDesc(7, 0, 0, 0, 0);
  tq_->Publish(7);
  chain = vq_.Pop();
  ASSERT_TRUE(chain.has_value());
  EXPECT_EQ(chain->readable_bytes() + chain->writable_bytes(), 0u);
}

TEST_F(VirtqueueTest, IndirectChainWorks) {
  ASSERT_TRUE(Enable().ok());
  uint64_t table = alloc_.Alloc(48, 16);
  uint64_t r = Buffer(16, 'r'), w1 = Buffer(100), w2 = Buffer(1);
  uint16_t head = tq_->AddIndirectChain(
      table, {{r, 16, false}, {w1, 100, true}, {w2, 1, true}});
  tq_->Publish(head);
  absl::optional<DescriptorChain> chain = vq_.Pop();
  ASSERT_TRUE(chain.has_value());
  EXPECT_EQ(chain->head(), head);
  EXPECT_EQ(chain->readable_bytes(), 16u);
  EXPECT_EQ(chain->writable_bytes(), 101u);
  EXPECT_EQ(chain->writable()[1].gpa, w2);
}

TEST_F(VirtqueueTest, IndirectRefusedWhenNotNegotiated) {
  ASSERT_TRUE(Enable(kVirtioFVersion1).ok());
  uint64_t table = alloc_.Alloc(16, 16);
  uint16_t head = tq_->AddIndirectChain(table, {{Buffer(16), 16, false}});
  tq_->Publish(head);
  ExpectRefused(head, "not negotiated");
}

TEST_F(VirtqueueTest, IndirectTableChecks) {
  ASSERT_TRUE(Enable().ok());
  uint64_t buf = Buffer(16);
  uint64_t table = alloc_.Alloc(16 * 4, 16);
  VirtqDesc plain{buf, 16, 0, 0};
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(mem_->WriteObject(table + 16 * i, plain).ok());
  }
  // Length not a multiple of 16, and length 0.
  tq_->WriteDesc(0, table, 24, kVirtqDescFIndirect, 0);
  tq_->Publish(0);
  ExpectRefused(0, "indirect table length");
  tq_->WriteDesc(1, table, 0, kVirtqDescFIndirect, 0);
  tq_->Publish(1);
  ExpectRefused(1, "indirect table length");
  // More entries than we walk.
  tq_->WriteDesc(2, 0, 16 * (Virtqueue::kMaxIndirectDescriptors + 1),
                 kVirtqDescFIndirect, 0);
  tq_->Publish(2);
  ExpectRefused(2, "indirect table length");
  // Table outside RAM, and straddling its end.
  tq_->WriteDesc(3, kRam, 16, kVirtqDescFIndirect, 0);
  tq_->Publish(3);
  ExpectRefused(3, "not guest RAM");
  tq_->WriteDesc(4, kRam - 16, 32, kVirtqDescFIndirect, 0);
  tq_->Publish(4);
  ExpectRefused(4, "not guest RAM");
  // F_NEXT on the indirect descriptor itself.
  tq_->WriteDesc(5, table, 16, kVirtqDescFIndirect | kVirtqDescFNext, 6);
  tq_->WriteDesc(6, buf, 16, 0, 0);
  tq_->Publish(5);
  ExpectRefused(5, "F_NEXT");
}

TEST_F(VirtqueueTest, NestedIndirectIsRefused) {
  ASSERT_TRUE(Enable().ok());
  uint64_t inner = alloc_.Alloc(16, 16);
  uint64_t outer = alloc_.Alloc(16, 16);
  ASSERT_TRUE(mem_->WriteObject(inner, VirtqDesc{Buffer(16), 16, 0, 0}).ok());
  ASSERT_TRUE(
      mem_->WriteObject(outer, VirtqDesc{inner, 16, kVirtqDescFIndirect, 0})
          .ok());
  tq_->WriteDesc(0, outer, 16, kVirtqDescFIndirect, 0);
  tq_->Publish(0);
  ExpectRefused(0, "nested");
}

TEST_F(VirtqueueTest, IndirectOnlyAtTheHead) {
  ASSERT_TRUE(Enable().ok());
  uint64_t table = alloc_.Alloc(16, 16);
  ASSERT_TRUE(mem_->WriteObject(table, VirtqDesc{Buffer(8), 8, 0, 0}).ok());
  tq_->WriteDesc(0, Buffer(16), 16, kVirtqDescFNext, 1);
  tq_->WriteDesc(1, table, 16, kVirtqDescFIndirect, 0);
  tq_->Publish(0);
  ExpectRefused(0, "not the chain's head");
}

TEST_F(VirtqueueTest, LoopsAndBadIndicesInsideAnIndirectTable) {
  ASSERT_TRUE(Enable().ok());
  uint64_t buf = Buffer(16);
  uint64_t table = alloc_.Alloc(32, 16);
  ASSERT_TRUE(
      mem_->WriteObject(table, VirtqDesc{buf, 16, kVirtqDescFNext, 1}).ok());
  ASSERT_TRUE(
      mem_->WriteObject(table + 16, VirtqDesc{buf, 16, kVirtqDescFNext, 0})
          .ok());
  tq_->WriteDesc(0, table, 32, kVirtqDescFIndirect, 0);
  tq_->Publish(0);
  ExpectRefused(0, "loop");

  // next = 2 is inside the ring (size 8) but outside this 2-entry table.
  ASSERT_TRUE(
      mem_->WriteObject(table + 16, VirtqDesc{buf, 16, kVirtqDescFNext, 2})
          .ok());
  tq_->WriteDesc(1, table, 32, kVirtqDescFIndirect, 0);
  tq_->Publish(1);
  ExpectRefused(1, "next index");
}

TEST_F(VirtqueueTest, AvailIdxRacingAheadBreaksTheQueue) {
  ASSERT_TRUE(Enable().ok());
  PublishGoodChain();
  tq_->SetAvailIdx(kSize + 2);
  EXPECT_FALSE(vq_.Pop().has_value());
  EXPECT_TRUE(vq_.broken());
  EXPECT_THAT(vq_.last_error(), HasSubstr("ahead"));
  // Stays broken even if the driver "fixes" the index.
  tq_->SetAvailIdx(1);
  EXPECT_FALSE(vq_.Pop().has_value());
  EXPECT_EQ(tq_->UsedIdx(), 0);
  // A reset and a fresh setup bring it back.
  vq_.Reset();
  EXPECT_FALSE(vq_.broken());
  tq_ = std::make_unique<TestQueue>(mem_.get(), &alloc_, kSize);
  ASSERT_TRUE(Enable().ok());
  PublishGoodChain();
  EXPECT_TRUE(vq_.Pop().has_value());
}

TEST_F(VirtqueueTest, ExactlyAFullRingIsFine) {
  ASSERT_TRUE(Enable().ok());
  for (int i = 0; i < kSize; ++i) PublishGoodChain();
  int popped = 0;
  while (vq_.Pop()) ++popped;
  EXPECT_EQ(popped, kSize);
  EXPECT_FALSE(vq_.broken());
}

TEST_F(VirtqueueTest, HeadIndexOutOfRangeBreaksTheQueue) {
  ASSERT_TRUE(Enable().ok());
  tq_->Publish(kSize);  // names descriptor 8 of 8
  EXPECT_FALSE(vq_.Pop().has_value());
  EXPECT_TRUE(vq_.broken());
  EXPECT_EQ(tq_->UsedIdx(), 0);  // no invalid id handed back
}

TEST_F(VirtqueueTest, IndicesWrapAround) {
  ASSERT_TRUE(Enable(kVirtioFVersion1, 4).ok());
  tq_ = std::make_unique<TestQueue>(mem_.get(), 4, tq_->desc_gpa(),
                                    tq_->avail_gpa(), tq_->used_gpa());
  uint64_t buf = Buffer(16);
  for (int i = 0; i < 70000; ++i) {
    uint16_t head = static_cast<uint16_t>(i % 4);
    tq_->WriteDesc(head, buf, 16, kVirtqDescFWrite, 0);
    tq_->Publish(head);
    absl::optional<DescriptorChain> chain = vq_.Pop();
    ASSERT_TRUE(chain.has_value()) << i;
    ASSERT_EQ(chain->head(), head);
    vq_.AddUsed(head, static_cast<uint32_t>(i));
    absl::optional<VirtqUsedElem> used = tq_->PopUsed();
    ASSERT_TRUE(used.has_value());
    ASSERT_EQ(used->len, static_cast<uint32_t>(i));
  }
  EXPECT_EQ(tq_->UsedIdx(), static_cast<uint16_t>(70000));
}

TEST_F(VirtqueueTest, InterruptSuppressionWithoutEventIdx) {
  ASSERT_TRUE(Enable(kVirtioFVersion1).ok());
  EXPECT_FALSE(vq_.NeedsInterrupt());  // nothing used yet
  PublishGoodChain();
  auto chain = vq_.Pop();
  vq_.AddUsed(chain->head(), 0);
  EXPECT_TRUE(vq_.NeedsInterrupt());
  EXPECT_FALSE(vq_.NeedsInterrupt());  // nothing new since

  tq_->SetAvailFlags(kVirtqAvailFNoInterrupt);
  PublishGoodChain();
  chain = vq_.Pop();
  vq_.AddUsed(chain->head(), 0);
  EXPECT_FALSE(vq_.NeedsInterrupt());
}

TEST_F(VirtqueueTest, EventIdxHonoursUsedEvent) {
  ASSERT_TRUE(Enable().ok());
  // The driver wants an interrupt once the entry with index 2 is used, i.e.
  // when used->idx passes 2.
  tq_->SetUsedEvent(2);
  for (int i = 0; i < 4; ++i) PublishGoodChain();
  std::vector<bool> wanted;
  for (int i = 0; i < 4; ++i) {
    auto chain = vq_.Pop();
    ASSERT_TRUE(chain.has_value());
    vq_.AddUsed(chain->head(), 0);
    wanted.push_back(vq_.NeedsInterrupt());
  }
  EXPECT_EQ(wanted, (std::vector<bool>{false, false, true, false}));
  // With EVENT_IDX the NO_INTERRUPT flag means nothing.
  tq_->SetAvailFlags(kVirtqAvailFNoInterrupt);
  tq_->SetUsedEvent(4);
  PublishGoodChain();
  auto chain = vq_.Pop();
  vq_.AddUsed(chain->head(), 0);
  EXPECT_TRUE(vq_.NeedsInterrupt());
  // A batch that steps past used_event in the middle still interrupts.
  tq_->SetUsedEvent(6);
  for (int i = 0; i < 3; ++i) PublishGoodChain();
  while ((chain = vq_.Pop())) vq_.AddUsed(chain->head(), 0);
  EXPECT_TRUE(vq_.NeedsInterrupt());
}

TEST_F(VirtqueueTest, EventIdxPublishesAvailEventWhenEmpty) {
  ASSERT_TRUE(Enable().ok());
  PublishGoodChain();
  PublishGoodChain();
  EXPECT_TRUE(vq_.Pop().has_value());
  EXPECT_TRUE(vq_.Pop().has_value());
  EXPECT_FALSE(vq_.Pop().has_value());
  // "Notify me when avail->idx moves past 2."
  EXPECT_EQ(tq_->AvailEvent(), 2);
}

}  // namespace
}  // namespace kuml
