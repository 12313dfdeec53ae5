#include "devices/virtio/mmio_transport.h"

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "devices/virtio/mmio_cmdline.h"
#include "devices/virtio/test_driver.h"
#include "devices/virtio/virtio_device.h"
#include "devices/virtio/virtio_spec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vmm/guest_memory.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kDeviceBit0 = 1;  // a device-specific feature
constexpr uint64_t kOffered = kVirtioFVersion1 | kVirtioFRingIndirectDesc |
                              kVirtioFRingEventIdx | kDeviceBit0;
constexpr uint32_t kTestDeviceType = 42;

// A two-queue device that echoes each chain's readable bytes into its
// writable part and signals from inside QueueNotify(), as real devices do.
class EchoDevice : public VirtioDevice {
 public:
  uint32_t device_type() const override { return kTestDeviceType; }
  uint64_t device_features() const override { return kOffered; }
  uint16_t num_queues() const override { return 2; }
  uint16_t queue_max_size(uint16_t index) const override {
    return index == 0 ? 16 : 8;
  }
  void ReadConfig(uint64_t offset, uint8_t* data, uint32_t size) override {
    absl::MutexLock lock(&mu_);
    std::memset(data, 0, size);
    for (uint32_t i = 0; i < size; ++i) {
      if (offset + i < sizeof config_) data[i] = config_[offset + i];
    }
  }
  void WriteConfig(uint64_t offset, const uint8_t* data,
                   uint32_t size) override {
    absl::MutexLock lock(&mu_);
    for (uint32_t i = 0; i < size; ++i) {
      if (offset + i < sizeof config_) config_[offset + i] = data[i];
    }
  }
  absl::Status Activate(VirtioActivation a) override {
    absl::MutexLock lock(&mu_);
    if (!a.queues[0]->ready()) {
      return absl::FailedPreconditionError("queue 0 not ready");
    }
    activation_ = a;
    ++activations_;
    active_ = true;
    return absl::OkStatus();
  }
  void QueueNotify(uint16_t index) override {
    absl::MutexLock lock(&mu_);
    ++notifies_;
    if (!active_) return;
    Virtqueue* q = activation_.queues[index];
    while (auto chain = q->Pop()) {
      std::vector<uint8_t> data(chain->readable_bytes());
      chain->CopyFromReadable(0, absl::MakeSpan(data));
      uint64_t n = chain->CopyToWritable(0, absl::MakeConstSpan(data));
      q->AddUsed(chain->head(), static_cast<uint32_t>(n));
    }
    if (q->broken()) activation_.interrupt->SignalNeedsReset(q->last_error());
    if (q->NeedsInterrupt()) activation_.interrupt->SignalUsedBuffers();
  }
  void Reset() override {
    absl::MutexLock lock(&mu_);
    active_ = false;
    activation_ = {};
    ++resets_;
  }

  // Test hooks.
  void ChangeConfig(uint8_t byte0) {
    absl::MutexLock lock(&mu_);
    config_[0] = byte0;
    activation_.interrupt->SignalConfigChange();
  }
  bool active() const {
    absl::MutexLock lock(&mu_);
    return active_;
  }
  uint64_t negotiated() const {
    absl::MutexLock lock(&mu_);
    return activation_.features;
  }
  int activations() const {
    absl::MutexLock lock(&mu_);
    return activations_;
  }
  int notifies() const {
    absl::MutexLock lock(&mu_);
    return notifies_;
  }

 private:
  mutable absl::Mutex mu_;
  uint8_t config_[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  bool active_ = false;
  VirtioActivation activation_;
  int activations_ = 0;
  int resets_ = 0;
  int notifies_ = 0;
};

class MmioTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = GuestMemory::Create(16 << 20);
    ASSERT_TRUE(m.ok()) << m.status();
    mem_ = std::move(*m);
    auto dev = std::make_unique<EchoDevice>();
    dev_ = dev.get();
    transport_ =
        std::make_unique<MmioTransport>(std::move(dev), mem_.get(), &irq_);
    driver_ = std::make_unique<MmioTestDriver>(transport_.get());
    q0_ = std::make_unique<TestQueue>(mem_.get(), &alloc_, 16);
    q1_ = std::make_unique<TestQueue>(mem_.get(), &alloc_, 8);
  }

  // Sends `text` through queue 0 and returns the echoed chain's used elem.
  uint16_t SubmitEcho(const std::string& text, uint64_t* out_gpa) {
    uint64_t in = alloc_.Alloc(text.size());
    EXPECT_TRUE(mem_->Write(in, text.data(), text.size()).ok());
    *out_gpa = alloc_.Alloc(text.size());
    uint16_t head =
        q0_->AddChain({{in, static_cast<uint32_t>(text.size()), false},
                       {*out_gpa, static_cast<uint32_t>(text.size()), true}});
    q0_->Publish(head);
    return head;
  }

  std::unique_ptr<GuestMemory> mem_;
  GuestAllocator alloc_;
  FakeInterruptLine irq_;
  EchoDevice* dev_ = nullptr;
  std::unique_ptr<MmioTransport> transport_;
  std::unique_ptr<MmioTestDriver> driver_;
  std::unique_ptr<TestQueue> q0_, q1_;
};

TEST_F(MmioTransportTest, IdentifiesItself) {
  EXPECT_EQ(driver_->Read32(0x000), 0x74726976u);
  EXPECT_EQ(driver_->Read32(0x004), 2u);
  EXPECT_EQ(driver_->Read32(0x008), kTestDeviceType);
  EXPECT_EQ(driver_->Read32(0x00c), MmioTransport::kVendorId);
  EXPECT_EQ(driver_->Read32(0x0b0), 0xffffffffu);  // no shared memory
  EXPECT_EQ(driver_->Read32(0x0b4), 0xffffffffu);
  EXPECT_EQ(driver_->Read32(0x0f8), 0u);  // unknown register
}

TEST_F(MmioTransportTest, OnlyAligned32BitRegisterAccesses) {
  uint8_t b[8];
  std::memset(b, 0xaa, sizeof b);
  transport_->Read(0x000, b, 1);
  EXPECT_EQ(b[0], 0);
  std::memset(b, 0xaa, sizeof b);
  transport_->Read(0x002, b, 4);  // misaligned
  EXPECT_EQ(b[0] | b[1] | b[2] | b[3], 0);
  std::memset(b, 0xaa, sizeof b);
  transport_->Read(0x000, b, 8);
  for (uint8_t x : b) EXPECT_EQ(x, 0);
  // A 2-byte status write and a 1-byte reset are ignored.
  driver_->SetStatus(kVirtioStatusAcknowledge);
  uint16_t s = kVirtioStatusAcknowledge | kVirtioStatusDriver;
  transport_->Write(0x070, reinterpret_cast<uint8_t*>(&s), 2);
  EXPECT_EQ(driver_->Status(), kVirtioStatusAcknowledge);
  uint8_t zero = 0;
  transport_->Write(0x070, &zero, 1);
  EXPECT_EQ(driver_->Status(), kVirtioStatusAcknowledge);
}

TEST_F(MmioTransportTest, DeviceFeaturesBySelector) {
  EXPECT_EQ(driver_->DeviceFeatures(), kOffered);
  driver_->Write32(0x014, 2);
  EXPECT_EQ(driver_->Read32(0x010), 0u);
}

TEST_F(MmioTransportTest, NegotiatesASubset) {
  ASSERT_TRUE(driver_->Negotiate(kVirtioFVersion1 | kDeviceBit0).ok());
  ASSERT_TRUE(driver_->SetupQueue(0, *q0_).ok());
  driver_->DriverOk();
  EXPECT_TRUE(dev_->active());
  EXPECT_EQ(dev_->negotiated(), kVirtioFVersion1 | kDeviceBit0);
}

TEST_F(MmioTransportTest, RefusesFeaturesNotOffered) {
  absl::Status s = driver_->Negotiate(kOffered | (1ull << 40), /*exact=*/true);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(driver_->Status(), kVirtioStatusAcknowledge | kVirtioStatusDriver);
  EXPECT_THAT(transport_->last_error(), HasSubstr("not offered"));
  // DRIVER_OK without FEATURES_OK is refused as well.
  driver_->DriverOk();
  EXPECT_EQ(driver_->Status() & kVirtioStatusDriverOk, 0u);
  EXPECT_FALSE(dev_->active());
}

TEST_F(MmioTransportTest, RefusesDriversWithoutVersion1) {
  absl::Status s = driver_->Negotiate(kDeviceBit0, /*exact=*/true);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(transport_->last_error(), HasSubstr("VERSION_1 missing"));
  // The driver may try again after a reset.
  EXPECT_TRUE(driver_->Negotiate(kVirtioFVersion1).ok());
}

TEST_F(MmioTransportTest, DriverFeaturesFrozenAfterFeaturesOk) {
  ASSERT_TRUE(driver_->Negotiate(kVirtioFVersion1).ok());
  driver_->WriteDriverFeatures(kOffered);
  ASSERT_TRUE(driver_->SetupQueue(0, *q0_).ok());
  driver_->DriverOk();
  EXPECT_EQ(dev_->negotiated(), kVirtioFVersion1);
}

TEST_F(MmioTransportTest, StatusBitsOnlyClearedByReset) {
  ASSERT_TRUE(driver_->Initialize(kOffered, {q0_.get(), q1_.get()}).ok());
  uint32_t full = driver_->Status();
  driver_->SetStatus(kVirtioStatusAcknowledge);  // tries to clear bits
  EXPECT_EQ(driver_->Status(), full);
  driver_->SetStatus(full | kVirtioStatusNeedsReset);  // not the driver's bit
  EXPECT_EQ(driver_->Status(), full);
  driver_->SetStatus(0);
  EXPECT_EQ(driver_->Status(), 0u);
  EXPECT_FALSE(dev_->active());
  driver_->Write32(0x030, 0);
  EXPECT_EQ(driver_->Read32(0x044), 0u);   // queue no longer ready
  EXPECT_EQ(driver_->Read32(0x038), 16u);  // size back to max
  EXPECT_EQ(driver_->Read32(0x080), 0u);
}

TEST_F(MmioTransportTest, QueueRegisters) {
  driver_->Write32(0x030, 0);
  EXPECT_EQ(driver_->Read32(0x034), 16u);
  driver_->Write32(0x030, 1);
  EXPECT_EQ(driver_->Read32(0x034), 8u);
  // A queue that does not exist: max 0, writes go nowhere.
  driver_->Write32(0x030, 7);
  EXPECT_EQ(driver_->Read32(0x034), 0u);
  driver_->Write32(0x038, 4);
  driver_->Write32(0x044, 1);
  EXPECT_EQ(driver_->Read32(0x038), 0u);
  EXPECT_EQ(driver_->Read32(0x044), 0u);
  // 64-bit addresses from two halves.
  driver_->Write32(0x030, 1);
  driver_->Write32(0x0a0, 0x89abcdef);
  driver_->Write32(0x0a4, 0x01234567);
  EXPECT_EQ(driver_->Read32(0x0a0), 0x89abcdefu);
  EXPECT_EQ(driver_->Read32(0x0a4), 0x01234567u);
}

TEST_F(MmioTransportTest, QueueReadyRefusedBeforeFeaturesOk) {
  driver_->SetStatus(kVirtioStatusAcknowledge | kVirtioStatusDriver);
  driver_->Write32(0x030, 0);
  driver_->Write32(0x038, 16);
  driver_->Write32(0x080, static_cast<uint32_t>(q0_->desc_gpa()));
  driver_->Write32(0x090, static_cast<uint32_t>(q0_->avail_gpa()));
  driver_->Write32(0x0a0, static_cast<uint32_t>(q0_->used_gpa()));
  driver_->Write32(0x044, 1);
  EXPECT_EQ(driver_->Read32(0x044), 0u);
  EXPECT_TRUE(driver_->Status() & kVirtioStatusNeedsReset);
  EXPECT_THAT(transport_->last_error(), HasSubstr("before FEATURES_OK"));
}

TEST_F(MmioTransportTest, QueueSizeNotPowerOfTwo) {
  ASSERT_TRUE(driver_->Negotiate(kOffered).ok());
  TestQueue bad(mem_.get(), 12, q0_->desc_gpa(), q0_->avail_gpa(),
                q0_->used_gpa());
  ASSERT_TRUE(driver_->SetupQueue(0, bad).ok());
  EXPECT_EQ(driver_->Read32(0x044), 0u);
  EXPECT_TRUE(driver_->Status() & kVirtioStatusNeedsReset);
  EXPECT_THAT(transport_->last_error(), HasSubstr("power of two"));
  // DRIVER_OK: the device refuses to run without queue 0; the driver hears
  // about it through a configuration interrupt.
  driver_->DriverOk();
  EXPECT_FALSE(dev_->active());
  EXPECT_TRUE(irq_.level());
  EXPECT_EQ(driver_->AckInterrupt(), 2u);
  EXPECT_FALSE(irq_.level());
  // A reset clears NEEDS_RESET and a good setup then works.
  ASSERT_TRUE(driver_->Initialize(kOffered, {q0_.get()}).ok());
  EXPECT_EQ(driver_->Status() & kVirtioStatusNeedsReset, 0u);
  EXPECT_TRUE(dev_->active());
}

TEST_F(MmioTransportTest, QueueAddressesOutsideRam) {
  ASSERT_TRUE(driver_->Negotiate(kOffered).ok());
  TestQueue bad(mem_.get(), 16, q0_->desc_gpa(), q0_->avail_gpa(),
                0x7'0000'0000);
  ASSERT_TRUE(driver_->SetupQueue(0, bad).ok());
  EXPECT_EQ(driver_->Read32(0x044), 0u);
  EXPECT_TRUE(driver_->Status() & kVirtioStatusNeedsReset);
  EXPECT_THAT(transport_->last_error(), HasSubstr("used ring"));
}

TEST_F(MmioTransportTest, QueueRegistersFrozenOnceRunning) {
  ASSERT_TRUE(driver_->Initialize(kOffered, {q0_.get()}).ok());
  driver_->Write32(0x030, 0);
  driver_->Write32(0x038, 2);
  driver_->Write32(0x080, 0x1000);
  driver_->Write32(0x044, 0);
  EXPECT_EQ(driver_->Read32(0x038), 16u);
  EXPECT_EQ(driver_->Read32(0x080), static_cast<uint32_t>(q0_->desc_gpa()));
  EXPECT_EQ(driver_->Read32(0x044), 1u);
  // Queue 1 was not set up; it cannot be added after DRIVER_OK.
  ASSERT_TRUE(driver_->SetupQueue(1, *q1_).ok());
  EXPECT_EQ(driver_->Read32(0x044), 0u);
}

TEST_F(MmioTransportTest, NotifyThroughTheRegisterAndInterruptFlow) {
  ASSERT_TRUE(driver_->Initialize(kOffered, {q0_.get(), q1_.get()}).ok());
  EXPECT_FALSE(irq_.level());
  uint64_t out;
  uint16_t head = SubmitEcho("ping through mmio", &out);
  driver_->Notify(0);
  auto used = q0_->PopUsed();
  ASSERT_TRUE(used.has_value());
  EXPECT_EQ(used->id, head);
  EXPECT_EQ(used->len, 17u);
  char got[17];
  ASSERT_TRUE(mem_->Read(out, got, 17).ok());
  EXPECT_EQ(std::string(got, 17), "ping through mmio");

  EXPECT_TRUE(irq_.level());
  EXPECT_EQ(irq_.raises(), 1);
  EXPECT_EQ(driver_->Read32(0x060), 1u);
  // A partial ack of a bit that is not set keeps the line up.
  driver_->Write32(0x064, 2);
  EXPECT_TRUE(irq_.level());
  EXPECT_EQ(driver_->AckInterrupt(), 1u);
  EXPECT_FALSE(irq_.level());
  EXPECT_EQ(driver_->Read32(0x060), 0u);
}

TEST_F(MmioTransportTest, NotifyQueueMethodForIoeventfd) {
  ASSERT_TRUE(driver_->Initialize(kOffered, {q0_.get()}).ok());
  uint64_t out;
  SubmitEcho("eventfd", &out);
  transport_->NotifyQueue(0);
  EXPECT_TRUE(q0_->PopUsed().has_value());
  EXPECT_TRUE(irq_.level());
  EXPECT_EQ(MmioTransport::kQueueNotifyOffset, 0x50u);
}

TEST_F(MmioTransportTest, NotifyOfMissingQueueOrBeforeDriverOkIsDropped) {
  uint64_t out;
  ASSERT_TRUE(driver_->Negotiate(kOffered).ok());
  ASSERT_TRUE(driver_->SetupQueue(0, *q0_).ok());
  SubmitEcho("too early", &out);
  driver_->Notify(0);  // before DRIVER_OK
  EXPECT_EQ(dev_->notifies(), 0);
  EXPECT_EQ(q0_->UsedIdx(), 0);
  EXPECT_FALSE(irq_.level());

  driver_->DriverOk();
  driver_->Notify(2);
  transport_->NotifyQueue(0xffffffff);
  EXPECT_EQ(dev_->notifies(), 0);
  EXPECT_EQ(transport_->ignored_notifications(), 3u);
  // The chain published early is served by the first real kick.
  driver_->Notify(0);
  EXPECT_TRUE(q0_->PopUsed().has_value());
}

TEST_F(MmioTransportTest, BrokenQueueSetsNeedsResetWithConfigInterrupt) {
  ASSERT_TRUE(driver_->Initialize(kOffered, {q0_.get()}).ok());
  q0_->SetAvailIdx(100);  // 100 entries "available" in a 16-entry ring
  driver_->Notify(0);
  EXPECT_TRUE(driver_->Status() & kVirtioStatusNeedsReset);
  EXPECT_TRUE(driver_->Status() & kVirtioStatusDriverOk);
  EXPECT_TRUE(irq_.level());
  EXPECT_EQ(driver_->Read32(0x060), 2u);
  EXPECT_THAT(transport_->last_error(), HasSubstr("ahead"));
  EXPECT_EQ(q0_->UsedIdx(), 0);
}

TEST_F(MmioTransportTest, ConfigSpaceAndGeneration) {
  EXPECT_EQ(driver_->ReadConfig8(2), 3);
  EXPECT_EQ(driver_->ReadConfig16(2), 0x0403);
  EXPECT_EQ(driver_->ReadConfig32(4), 0x08070605u);
  EXPECT_EQ(driver_->ReadConfig32(0x80), 0u);  // beyond the device's config
  uint8_t b = 0x77;
  transport_->Write(0x101, &b, 1);
  EXPECT_EQ(driver_->ReadConfig8(1), 0x77);

  ASSERT_TRUE(driver_->Initialize(kOffered, {q0_.get()}).ok());
  uint32_t gen = driver_->Read32(0x0fc);
  dev_->ChangeConfig(9);
  EXPECT_NE(driver_->Read32(0x0fc), gen);
  EXPECT_EQ(driver_->ReadConfig8(0), 9);
  EXPECT_EQ(driver_->AckInterrupt(), 2u);
}

TEST_F(MmioTransportTest, ResetDropsAPendingInterrupt) {
  ASSERT_TRUE(driver_->Initialize(kOffered, {q0_.get()}).ok());
  uint64_t out;
  SubmitEcho("x", &out);
  driver_->Notify(0);
  EXPECT_TRUE(irq_.level());
  driver_->SetStatus(0);
  EXPECT_FALSE(irq_.level());
  EXPECT_EQ(driver_->Read32(0x060), 0u);
  // Re-initialising activates the device a second time.
  q0_ = std::make_unique<TestQueue>(mem_.get(), &alloc_, 16);
  ASSERT_TRUE(driver_->Initialize(kOffered, {q0_.get()}).ok());
  EXPECT_EQ(dev_->activations(), 2);
}

// Kicks from an "event loop" thread while vCPU threads read and ack
// interrupts and finally reset the device: nothing may deadlock or crash.
TEST_F(MmioTransportTest, ConcurrentNotifyAckAndReset) {
  ASSERT_TRUE(driver_->Initialize(kOffered, {q0_.get()}).ok());
  std::atomic<bool> stop{false};
  std::thread kicker([&] {
    while (!stop.load()) transport_->NotifyQueue(0);
  });
  std::thread acker([&] {
    MmioTestDriver d(transport_.get());
    while (!stop.load()) d.AckInterrupt();
  });
  for (int i = 0; i < 200; ++i) {
    uint64_t out;
    SubmitEcho("concurrent", &out);
    if (i % 50 == 49) {
      driver_->SetStatus(0);
      q0_ = std::make_unique<TestQueue>(mem_.get(), &alloc_, 16);
      ASSERT_TRUE(driver_->Initialize(kOffered, {q0_.get()}).ok());
    }
  }
  stop = true;
  kicker.join();
  acker.join();
  EXPECT_EQ(dev_->activations(), 5);
}

TEST(VirtioMmioCmdlineTest, FormatsLikeLinuxParses) {
  EXPECT_EQ(VirtioMmioCmdline(0xd0000000, 0x1000, 5),
            "virtio_mmio.device=4K@0xd0000000:5");
  EXPECT_EQ(VirtioMmioCmdline(0xd0001000, MmioTransport::kRegisterBytes, 12),
            "virtio_mmio.device=512@0xd0001000:12");
  EXPECT_EQ(VirtioMmioCmdline(0x1'0000'0000, 2 << 20, 33),
            "virtio_mmio.device=2M@0x100000000:33");
}

}  // namespace
}  // namespace kuml
