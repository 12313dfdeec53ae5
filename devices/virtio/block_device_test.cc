#include "devices/virtio/block_device.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "devices/virtio/mmio_transport.h"
#include "devices/virtio/test_driver.h"
#include "devices/virtio/virtio_spec.h"
#include "disk/raw_file_backend.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "util/unique_fd.h"
#include "vmm/guest_memory.h"

namespace kuml {
namespace {

constexpr uint64_t kDiskBytes = 64 * 1024;  // 128 sectors
constexpr uint64_t kSectors = kDiskBytes / 512;
constexpr uint64_t kLinuxFeatures =
    kVirtioFVersion1 | kVirtioFRingIndirectDesc | kVirtioFRingEventIdx |
    kVirtioBlkFSegMax | kVirtioBlkFBlkSize | kVirtioBlkFFlush | kVirtioBlkFRo;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir ? dir : "/tmp", "/", name);
}

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 13 + seed);
  return s;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Result {
  uint8_t status = 0xff;
  uint32_t used_len = 0;
  std::string data;  // what the device wrote before the status byte
  bool completed = false;
};

class VirtioBlockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = TempPath(absl::StrCat(
        ::testing::UnitTest::GetInstance()->current_test_info()->name(),
        ".img"));
    contents_ = Pattern(kDiskBytes, 1);
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << contents_;
    auto m = GuestMemory::Create(16 << 20);
    ASSERT_TRUE(m.ok()) << m.status();
    mem_ = std::move(*m);
  }

  void StartDevice(bool read_only = false, std::string serial = "kuml-disk",
                   bool discard = false) {
    UniqueFd fd(::open(path_.c_str(), (read_only ? O_RDONLY : O_RDWR)));
    auto backend =
        RawFileBackend::FromFd(std::move(fd), path_, read_only, discard);
    ASSERT_TRUE(backend.ok()) << backend.status();
    auto blk =
        std::make_unique<VirtioBlock>(std::move(*backend), std::move(serial));
    blk_ = blk.get();
    transport_ =
        std::make_unique<MmioTransport>(std::move(blk), mem_.get(), &irq_);
    if (notify_again_) transport_->SetNotifyAgain(notify_again_);
    driver_ = std::make_unique<MmioTestDriver>(transport_.get());
    queue_ = std::make_unique<TestQueue>(mem_.get(), &alloc_, queue_size_);
    ASSERT_TRUE(driver_->Initialize(kLinuxFeatures, {queue_.get()}).ok());
  }

  uint64_t Put(const std::string& bytes) {
    uint64_t gpa = alloc_.Alloc(bytes.size(), 8);
    EXPECT_TRUE(mem_->Write(gpa, bytes.data(), bytes.size()).ok());
    return gpa;
  }

  static std::string Header(uint32_t type, uint64_t sector) {
    VirtioBlkReqHeader h{type, 0, sector};
    return std::string(reinterpret_cast<char*>(&h), sizeof h);
  }

  // Submits a request laid out the way Linux does it: header, data buffers
  // (split into `pieces` descriptors), status byte. Returns the result.
  Result Submit(uint32_t type, uint64_t sector, const std::string& out_data,
                uint32_t in_len, int pieces = 1, bool indirect = false) {
    std::vector<TestQueue::Buffer> bufs;
    bufs.push_back({Put(Header(type, sector)), 16, false});
    auto split = [&](uint64_t gpa, uint32_t len, bool w) {
      uint32_t step = len / pieces;
      for (int i = 0; i < pieces; ++i) {
        uint32_t n = i + 1 == pieces ? len - step * i : step;
        bufs.push_back({gpa + step * i, n, w});
      }
    };
    if (!out_data.empty()) {
      split(Put(out_data), static_cast<uint32_t>(out_data.size()), false);
    }
    uint64_t in_gpa = 0;
    if (in_len) {
      in_gpa = Put(std::string(in_len, '\xee'));
      split(in_gpa, in_len, true);
    }
    uint64_t status_gpa = Put("\xff");
    bufs.push_back({status_gpa, 1, true});
    uint16_t head = indirect ? queue_->AddIndirectChain(
                                   alloc_.Alloc(16 * bufs.size(), 16), bufs)
                             : queue_->AddChain(bufs);
    return Run(head, in_gpa, in_len, status_gpa);
  }

  // Publishes `head`, kicks, collects the completion.
  Result Run(uint16_t head, uint64_t in_gpa, uint32_t in_len,
             uint64_t status_gpa) {
    queue_->Publish(head);
    driver_->Notify(0);
    Result r;
    auto used = queue_->PopUsed();
    if (!used.has_value()) return r;
    EXPECT_EQ(used->id, head);
    r.completed = true;
    r.used_len = used->len;
    r.status = *mem_->ReadObject<uint8_t>(status_gpa);
    r.data.resize(in_len);
    if (in_len) {
      EXPECT_TRUE(mem_->Read(in_gpa, &r.data[0], in_len).ok());
    }
    return r;
  }

  std::string path_;
  std::string contents_;
  std::unique_ptr<GuestMemory> mem_;
  GuestAllocator alloc_;
  FakeInterruptLine irq_;
  VirtioBlock* blk_ = nullptr;
  std::unique_ptr<MmioTransport> transport_;
  std::unique_ptr<MmioTestDriver> driver_;
  std::unique_ptr<TestQueue> queue_;
  // Before StartDevice(): the VMM's way to notify again, and the ring size.
  std::function<void(uint16_t)> notify_again_;
  uint16_t queue_size_ = 128;
};

TEST_F(VirtioBlockTest, FeaturesAndConfig) {
  StartDevice();
  EXPECT_EQ(driver_->Read32(0x008), kVirtioIdBlock);
  uint64_t f = driver_->DeviceFeatures();
  EXPECT_EQ(f, kLinuxFeatures & ~kVirtioBlkFRo);
  EXPECT_EQ(driver_->ReadConfig64(0), kSectors);
  EXPECT_EQ(driver_->ReadConfig32(12), VirtioBlock::kSegMax);
  EXPECT_EQ(driver_->ReadConfig32(20), 512u);
  EXPECT_EQ(driver_->ReadConfig8(0), kSectors & 0xff);
  EXPECT_EQ(driver_->ReadConfig32(0x60), 0u);  // past the config
  // No ubd index given: kuml's ubd words stay zero.
  EXPECT_EQ(driver_->ReadConfig32(VirtioBlock::kCfgUbdMagic), 0u);
  EXPECT_EQ(driver_->ReadConfig32(VirtioBlock::kCfgUbdIndex), 0u);
  driver_->Write32(0x030, 0);
  EXPECT_EQ(driver_->Read32(0x034), VirtioBlock::kQueueSize);
}

std::string DiscardSegment(uint64_t sector, uint32_t sectors,
                           uint32_t flags = 0) {
  VirtioBlkDiscardSegment seg{sector, sectors, flags};
  return std::string(reinterpret_cast<char*>(&seg), sizeof seg);
}

TEST_F(VirtioBlockTest, DiscardIsOfferedOnlyWhenTheBackendCan) {
  StartDevice();
  EXPECT_EQ(driver_->DeviceFeatures() & kVirtioBlkFDiscard, 0u);
  EXPECT_EQ(driver_->ReadConfig32(36), 0u);
  Result r = Submit(kVirtioBlkTDiscard, 0, DiscardSegment(0, 1), 0);
  EXPECT_EQ(r.status, kVirtioBlkSUnsupp);
  EXPECT_EQ(ReadFile(path_), contents_);
}

TEST_F(VirtioBlockTest, DiscardPunchesEveryRangeOrNone) {
  StartDevice(false, "kuml-disk", /*discard=*/true);
  EXPECT_NE(driver_->DeviceFeatures() & kVirtioBlkFDiscard, 0u);
  EXPECT_EQ(driver_->ReadConfig32(36), VirtioBlock::kMaxDiscardSectors);
  EXPECT_EQ(driver_->ReadConfig32(40), VirtioBlock::kMaxDiscardSegments);
  EXPECT_EQ(driver_->ReadConfig32(44), VirtioBlock::kDiscardAlignmentSectors);
  // A bad range or a flag anywhere: nothing is discarded.
  Result r = Submit(kVirtioBlkTDiscard, 0,
                    DiscardSegment(0, 8) + DiscardSegment(kSectors - 1, 2), 0);
  EXPECT_EQ(r.status, kVirtioBlkSIoErr);
  r = Submit(kVirtioBlkTDiscard, 0,
             DiscardSegment(0, 8) + DiscardSegment(16, 8, /*unmap=*/1), 0);
  EXPECT_EQ(r.status, kVirtioBlkSUnsupp);
  r = Submit(kVirtioBlkTDiscard, 0, "short", 0);
  EXPECT_EQ(r.status, kVirtioBlkSIoErr);
  EXPECT_EQ(ReadFile(path_), contents_);
  r = Submit(kVirtioBlkTDiscard, 0,
             DiscardSegment(8, 8) + DiscardSegment(kSectors - 8, 8), 0);
  EXPECT_EQ(r.status, kVirtioBlkSOk);
  contents_.replace(8 * 512, 4096, std::string(4096, '\0'));
  contents_.replace(kDiskBytes - 4096, 4096, std::string(4096, '\0'));
  EXPECT_EQ(ReadFile(path_), contents_);
  EXPECT_EQ(blk_->stats().discards, 4u);
}

TEST_F(VirtioBlockTest, ReadsSectors) {
  StartDevice();
  Result r = Submit(kVirtioBlkTIn, 3, "", 1024);
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(r.status, kVirtioBlkSOk);
  EXPECT_EQ(r.used_len, 1025u);
  EXPECT_EQ(r.data, contents_.substr(3 * 512, 1024));
  EXPECT_TRUE(irq_.level());
  EXPECT_EQ(driver_->AckInterrupt(), 1u);
  EXPECT_EQ(blk_->stats().reads, 1u);
}

TEST_F(VirtioBlockTest, ReadsIntoOddlySplitBuffersAndThroughIndirect) {
  StartDevice();
  Result r = Submit(kVirtioBlkTIn, 0, "", 4096, /*pieces=*/7);
  EXPECT_EQ(r.status, kVirtioBlkSOk);
  EXPECT_EQ(r.data, contents_.substr(0, 4096));
  r = Submit(kVirtioBlkTIn, kSectors - 8, "", 4096, 3, /*indirect=*/true);
  EXPECT_EQ(r.status, kVirtioBlkSOk);
  EXPECT_EQ(r.data, contents_.substr(kDiskBytes - 4096));
}

TEST_F(VirtioBlockTest, WritesReachTheFile) {
  StartDevice();
  std::string data = Pattern(1536, 77);
  Result r = Submit(kVirtioBlkTOut, 5, data, 0, /*pieces=*/5);
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(r.status, kVirtioBlkSOk);
  EXPECT_EQ(r.used_len, 1u);
  r = Submit(kVirtioBlkTFlush, 0, "", 0);
  EXPECT_EQ(r.status, kVirtioBlkSOk);
  EXPECT_EQ(r.used_len, 1u);
  contents_.replace(5 * 512, data.size(), data);
  EXPECT_EQ(ReadFile(path_), contents_);
  // And read back through the device.
  r = Submit(kVirtioBlkTIn, 5, "", 1536);
  EXPECT_EQ(r.data, data);
  EXPECT_EQ(blk_->stats().writes, 1u);
  EXPECT_EQ(blk_->stats().flushes, 1u);
}

TEST_F(VirtioBlockTest, HeaderAndDataInOneDescriptor) {
  // VERSION_1 implies ANY_LAYOUT: header and data may share a buffer, and
  // data and status too.
  StartDevice();
  std::string data = Pattern(512, 9);
  uint64_t out = Put(Header(kVirtioBlkTOut, 1) + data);
  uint64_t status = Put("\xff");
  uint16_t head = queue_->AddChain({{out, 528, false}, {status, 1, true}});
  Result r = Run(head, 0, 0, status);
  EXPECT_EQ(r.status, kVirtioBlkSOk);
  contents_.replace(512, 512, data);
  EXPECT_EQ(ReadFile(path_), contents_);

  uint64_t hdr = Put(Header(kVirtioBlkTIn, 1));
  uint64_t in = Put(std::string(513, '\0'));
  head = queue_->AddChain({{hdr, 16, false}, {in, 513, true}});
  r = Run(head, in, 512, in + 512);
  EXPECT_EQ(r.status, kVirtioBlkSOk);
  EXPECT_EQ(r.used_len, 513u);
  EXPECT_EQ(r.data, data);
}

TEST_F(VirtioBlockTest, GetId) {
  StartDevice(false, "kuml-disk-7");
  Result r = Submit(kVirtioBlkTGetId, 0, "", 20);
  EXPECT_EQ(r.status, kVirtioBlkSOk);
  EXPECT_EQ(r.used_len, 21u);
  EXPECT_EQ(r.data, std::string("kuml-disk-7") + std::string(9, '\0'));
}

TEST_F(VirtioBlockTest, GetIdOfExactly20BytesHasNoNul) {
  StartDevice(false, "0123456789abcdefghijKLMNOP");  // cut to 20
  Result r = Submit(kVirtioBlkTGetId, 0, "", 20);
  EXPECT_EQ(r.status, kVirtioBlkSOk);
  EXPECT_EQ(r.data, "0123456789abcdefghij");
  // A smaller buffer gets what fits.
  r = Submit(kVirtioBlkTGetId, 0, "", 4);
  EXPECT_EQ(r.data, "0123");
  EXPECT_EQ(r.used_len, 5u);
}

TEST_F(VirtioBlockTest, ReadOnlyDiskRefusesWrites) {
  ASSERT_EQ(chmod(path_.c_str(), 0444), 0);
  StartDevice(/*read_only=*/true);
  EXPECT_TRUE(driver_->DeviceFeatures() & kVirtioBlkFRo);
  Result r = Submit(kVirtioBlkTOut, 0, std::string(512, 'w'), 0);
  EXPECT_EQ(r.status, kVirtioBlkSIoErr);
  EXPECT_EQ(r.used_len, 1u);
  r = Submit(kVirtioBlkTIn, 0, "", 512);
  EXPECT_EQ(r.status, kVirtioBlkSOk);
  EXPECT_EQ(r.data, contents_.substr(0, 512));
  r = Submit(kVirtioBlkTFlush, 0, "", 0);
  EXPECT_EQ(r.status, kVirtioBlkSOk);
  EXPECT_EQ(ReadFile(path_), contents_);
}

TEST_F(VirtioBlockTest, OutOfRangeRequestsFailAndTouchNothing) {
  StartDevice();
  struct Case {
    uint32_t type;
    uint64_t sector;
    uint32_t len;
  } cases[] = {
      {kVirtioBlkTIn, kSectors, 512},       // one past the end
      {kVirtioBlkTIn, kSectors - 1, 1024},  // runs past the end
      {kVirtioBlkTOut, kSectors - 1, 1024},
      {kVirtioBlkTIn, 1ull << 55, 512},  // sector * 512 overflows
      {kVirtioBlkTOut, ~0ull, 512},
      {kVirtioBlkTOut, ~0ull / 512, 512},
      {kVirtioBlkTIn, 0, 100},  // not whole sectors
      {kVirtioBlkTOut, 0, 513},
  };
  for (const Case& c : cases) {
    std::string out =
        c.type == kVirtioBlkTOut ? std::string(c.len, 'X') : std::string();
    Result r =
        Submit(c.type, c.sector, out, c.type == kVirtioBlkTIn ? c.len : 0);
    ASSERT_TRUE(r.completed);
    EXPECT_EQ(r.status, kVirtioBlkSIoErr) << c.type << " " << c.sector;
    EXPECT_EQ(r.used_len, 1u);
    if (c.type == kVirtioBlkTIn) {
      EXPECT_EQ(r.data, std::string(c.len, '\xee'));
    }
  }
  EXPECT_EQ(ReadFile(path_), contents_);
  EXPECT_EQ(blk_->stats().io_errors, 8u);
  // The last sector itself is fine, and zero-length I/O at the end too.
  EXPECT_EQ(Submit(kVirtioBlkTIn, kSectors - 1, "", 512).status, kVirtioBlkSOk);
  EXPECT_EQ(Submit(kVirtioBlkTIn, kSectors, "", 0).status, kVirtioBlkSOk);
}

TEST_F(VirtioBlockTest, UnsupportedRequestTypes) {
  StartDevice();
  for (uint32_t type : {2u, 11u, 13u, 0xffffffffu}) {
    Result r = Submit(type, 0, std::string(512, 'd'), 0);
    EXPECT_EQ(r.status, kVirtioBlkSUnsupp) << type;
    EXPECT_EQ(r.used_len, 1u);
  }
  EXPECT_EQ(ReadFile(path_), contents_);
}

TEST_F(VirtioBlockTest, ChainsWithoutHeaderOrStatusAreDropped) {
  StartDevice();
  // 15 readable bytes: no room for the header.
  uint64_t hdr = Put(Header(kVirtioBlkTIn, 0));
  uint64_t status = Put("\x55");
  uint16_t head = queue_->AddChain({{hdr, 15, false}, {status, 1, true}});
  Result r = Run(head, 0, 0, status);
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(r.used_len, 0u);
  EXPECT_EQ(r.status, 0x55);  // untouched
  // No writable byte for the status.
  head = queue_->AddChain(
      {{Put(Header(kVirtioBlkTOut, 0) + std::string(512, 'z')), 528, false}});
  r = Run(head, 0, 0, status);
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(r.used_len, 0u);
  EXPECT_EQ(blk_->stats().dropped, 2u);
  EXPECT_EQ(ReadFile(path_), contents_);
}

TEST_F(VirtioBlockTest, HostileChainsDoNotStopTheDisk) {
  StartDevice();
  // A descriptor loop, an address outside RAM and a huge length, each
  // completed with length 0 without touching the disk.
  uint64_t hdr = Put(Header(kVirtioBlkTIn, 0));
  queue_->WriteDesc(0, hdr, 16, kVirtqDescFNext, 1);
  queue_->WriteDesc(1, hdr, 16, kVirtqDescFNext, 0);
  Result r = Run(0, 0, 0, hdr);
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(r.used_len, 0u);
  queue_->WriteDesc(2, hdr, 16, kVirtqDescFNext, 3);
  queue_->WriteDesc(3, 0xffff'ffff'0000, 512, kVirtqDescFWrite, 0);
  r = Run(2, 0, 0, hdr);
  EXPECT_EQ(r.used_len, 0u);
  queue_->WriteDesc(4, hdr, 16, kVirtqDescFNext, 5);
  queue_->WriteDesc(5, 0, 0xffffffff, kVirtqDescFWrite, 0);
  r = Run(4, 0, 0, hdr);
  EXPECT_EQ(r.used_len, 0u);
  // Zero-length descriptors sprinkled in a good request are fine.
  uint64_t in = Put(std::string(512, '\0'));
  uint64_t status = Put("\xff");
  queue_->WriteDesc(6, hdr, 16, kVirtqDescFNext, 7);
  queue_->WriteDesc(7, 0, 0, kVirtqDescFNext, 8);
  queue_->WriteDesc(8, in, 512, kVirtqDescFWrite | kVirtqDescFNext, 9);
  queue_->WriteDesc(9, 0xdead'0000'0000, 0, kVirtqDescFWrite | kVirtqDescFNext,
                    10);
  queue_->WriteDesc(10, status, 1, kVirtqDescFWrite, 0);
  r = Run(6, in, 512, status);
  EXPECT_EQ(r.status, kVirtioBlkSOk);
  EXPECT_EQ(r.used_len, 513u);
  EXPECT_EQ(r.data, contents_.substr(0, 512));
  EXPECT_EQ(driver_->Status() & kVirtioStatusNeedsReset, 0u);
  EXPECT_EQ(transport_->device()->num_queues(), 1);
}

TEST_F(VirtioBlockTest, RacingAvailIdxNeedsReset) {
  StartDevice();
  queue_->SetAvailIdx(1000);
  driver_->Notify(0);
  EXPECT_TRUE(driver_->Status() & kVirtioStatusNeedsReset);
  EXPECT_EQ(driver_->AckInterrupt(), 2u);
  EXPECT_EQ(queue_->UsedIdx(), 0);
  // Further kicks do nothing more (and do not re-announce).
  driver_->Notify(0);
  EXPECT_EQ(driver_->Read32(0x060), 0u);
  // After a reset the disk works again.
  queue_ = std::make_unique<TestQueue>(mem_.get(), &alloc_, 128);
  ASSERT_TRUE(driver_->Initialize(kLinuxFeatures, {queue_.get()}).ok());
  EXPECT_EQ(Submit(kVirtioBlkTIn, 0, "", 512).status, kVirtioBlkSOk);
}

TEST_F(VirtioBlockTest, EventIdxSuppressesInterrupts) {
  StartDevice();
  queue_->SetUsedEvent(1);  // interrupt when the second request completes
  Submit(kVirtioBlkTIn, 0, "", 512);
  EXPECT_FALSE(irq_.level());
  Submit(kVirtioBlkTIn, 1, "", 512);
  EXPECT_TRUE(irq_.level());
  // And the device asked to be kicked for the next request.
  EXPECT_EQ(queue_->AvailEvent(), 2);
}

// A guest that keeps its ring full: one notification serves a budget of
// requests and asks for another turn, so the event loop shared with every
// other device gets back in between. Before, one notification served the
// queue until the guest stopped adding.
TEST_F(VirtioBlockTest, ServesABudgetPerNotificationAndAsksForMore) {
  std::vector<uint16_t> again;
  notify_again_ = [&again](uint16_t q) { again.push_back(q); };
  queue_size_ = 256;
  StartDevice();
  constexpr int kRequests = 200;
  for (int i = 0; i < kRequests; ++i) {
    // Indirect: one ring descriptor per request, so 200 fit in 256.
    std::vector<TestQueue::Buffer> bufs = {
        {Put(Header(kVirtioBlkTIn, i % 100)), 16, false},
        {Put(std::string(512, '\0')), 512, true},
        {Put("\xff"), 1, true}};
    queue_->Publish(queue_->AddIndirectChain(alloc_.Alloc(16 * 3, 16), bufs));
  }
  auto served = [&] {
    int n = 0;
    while (queue_->PopUsed().has_value()) ++n;
    return n;
  };
  driver_->Notify(0);
  EXPECT_EQ(served(), VirtioBlock::kRequestsPerNotify);
  ASSERT_EQ(again, std::vector<uint16_t>{0});
  driver_->Notify(0);  // what the re-signalled ioeventfd does
  EXPECT_EQ(served(), kRequests - VirtioBlock::kRequestsPerNotify);
  EXPECT_EQ(again.size(), 1u) << "asked again with nothing left";
  EXPECT_EQ(blk_->stats().reads, static_cast<uint64_t>(kRequests));
}

TEST_F(VirtioBlockTest, DeviceIsInertBeforeDriverOkAndAfterReset) {
  StartDevice();
  driver_->SetStatus(0);
  Result r = Submit(kVirtioBlkTOut, 0, std::string(512, 'n'), 0);
  EXPECT_FALSE(r.completed);
  blk_->QueueNotify(0);  // even if called directly
  EXPECT_EQ(ReadFile(path_), contents_);
  EXPECT_FALSE(irq_.level());
}

// An in-memory backend that counts calls and checks nothing itself, so the
// tests below see the device's own checks (RawFileBackend would also refuse
// these accesses).
class CountingBackend : public BlockBackend {
 public:
  CountingBackend(uint64_t size, bool read_only)
      : data_(size, 'c'), read_only_(read_only) {}
  uint64_t size_bytes() const override { return data_.size(); }
  bool read_only() const override { return read_only_; }
  absl::Status ReadAt(uint64_t, absl::Span<uint8_t>) override {
    ++calls;
    return absl::OkStatus();
  }
  absl::Status WriteAt(uint64_t, absl::Span<const uint8_t>) override {
    ++calls;
    return absl::OkStatus();
  }
  absl::Status Flush() override { return absl::OkStatus(); }
  int calls = 0;

 private:
  std::string data_;
  bool read_only_;
};

TEST_F(VirtioBlockTest, DeviceChecksRangesAndReadOnlyBeforeTheBackend) {
  for (bool read_only : {false, true}) {
    auto owned = std::make_unique<CountingBackend>(kDiskBytes, read_only);
    CountingBackend* backend = owned.get();
    transport_ = std::make_unique<MmioTransport>(
        std::make_unique<VirtioBlock>(std::move(owned), "c"), mem_.get(),
        &irq_);
    driver_ = std::make_unique<MmioTestDriver>(transport_.get());
    queue_ = std::make_unique<TestQueue>(mem_.get(), &alloc_, 128);
    ASSERT_TRUE(driver_->Initialize(kLinuxFeatures, {queue_.get()}).ok());
    std::string sector(512, 's');
    EXPECT_EQ(Submit(kVirtioBlkTIn, kSectors, "", 512).status,
              kVirtioBlkSIoErr);
    EXPECT_EQ(Submit(kVirtioBlkTIn, kSectors - 1, "", 1024).status,
              kVirtioBlkSIoErr);
    EXPECT_EQ(Submit(kVirtioBlkTIn, 1ull << 55, "", 512).status,
              kVirtioBlkSIoErr);
    EXPECT_EQ(Submit(kVirtioBlkTIn, 0, "", 511).status, kVirtioBlkSIoErr);
    EXPECT_EQ(Submit(kVirtioBlkTOut, ~0ull, sector, 0).status,
              kVirtioBlkSIoErr);
    EXPECT_EQ(backend->calls, 0);
    Result w = Submit(kVirtioBlkTOut, 0, sector, 0);
    EXPECT_EQ(w.status, read_only ? kVirtioBlkSIoErr : kVirtioBlkSOk);
    EXPECT_EQ(backend->calls, read_only ? 0 : 1);
  }
}

TEST_F(VirtioBlockTest, RefusesToRunWithoutItsQueue) {
  auto backend = RawFileBackend::Open(path_, false);
  ASSERT_TRUE(backend.ok());
  VirtioBlock blk(std::move(*backend), "x");
  Virtqueue q(0, 8);
  VirtioActivation a;
  a.memory = mem_.get();
  a.queues = {&q};
  EXPECT_FALSE(blk.Activate(a).ok());
  a.queues = {};
  EXPECT_FALSE(blk.Activate(a).ok());
}

// kuml's kernel (guest/patches/0003-*) names a disk ubd<a + index> from the
// magic and index at the end of the config space.
TEST(VirtioBlockUbdWords, CarryTheUbdIndex) {
  const std::string path = ::testing::TempDir() + "/ubd_words.img";
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(4096, '\0');
  }
  auto backend = RawFileBackend::Open(path, false);
  ASSERT_TRUE(backend.ok()) << backend.status();
  VirtioBlock blk(std::move(*backend), "", 3);
  uint8_t word[4];
  blk.ReadConfig(VirtioBlock::kCfgUbdMagic, word, 4);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(word), 4), "UBD1");
  blk.ReadConfig(VirtioBlock::kCfgUbdIndex, word, 4);
  EXPECT_EQ(word[0], 3);
  EXPECT_EQ(word[1] | word[2] | word[3], 0);
  blk.ReadConfig(VirtioBlock::kConfigBytes, word, 4);  // past the end: zero
  EXPECT_EQ(word[0] | word[1] | word[2] | word[3], 0);
}

}  // namespace
}  // namespace kuml
