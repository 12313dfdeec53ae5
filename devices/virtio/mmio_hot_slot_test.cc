#include "devices/virtio/mmio_hot_slot.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "devices/virtio/block_device.h"
#include "devices/virtio/test_driver.h"
#include "devices/virtio/virtio_spec.h"
#include "disk/raw_file_backend.h"
#include "gtest/gtest.h"
#include "vmm/guest_memory.h"

namespace kuml {
namespace {

uint32_t Reg(MmioHotSlot& slot, uint64_t offset) {
  uint32_t v = 0xdeadbeef;
  slot.Read(offset, reinterpret_cast<uint8_t*>(&v), 4);
  return v;
}

class MmioHotSlotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = GuestMemory::Create(16 << 20);
    ASSERT_TRUE(m.ok()) << m.status();
    mem_ = std::move(*m);
    std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/disk.img";
    int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 1 << 20), 0);
    ::close(fd);
    auto backend = RawFileBackend::Open(path, /*read_only=*/false);
    ASSERT_TRUE(backend.ok()) << backend.status();
    transport_ = std::make_unique<MmioTransport>(
        std::make_unique<VirtioBlock>(std::move(*backend), "hot"), mem_.get(),
        &irq_);
  }

  std::unique_ptr<GuestMemory> mem_;
  FakeInterruptLine irq_;
  std::unique_ptr<MmioTransport> transport_;
  MmioHotSlot slot_;
};

// What Linux's virtio_mmio_probe() reads first: it must see a virtio-mmio
// transport with DeviceID 0 (a placeholder) and leave it unbound.
TEST_F(MmioHotSlotTest, EmptySlotIsAPlaceholder) {
  EXPECT_TRUE(slot_.empty());
  EXPECT_EQ(Reg(slot_, 0x000), MmioTransport::kMagic);
  EXPECT_EQ(Reg(slot_, 0x004), 2u);
  EXPECT_EQ(Reg(slot_, 0x008), 0u);
  EXPECT_EQ(Reg(slot_, 0x00c), MmioTransport::kVendorId);
  EXPECT_EQ(Reg(slot_, 0x010), 0u);  // no features
  EXPECT_EQ(Reg(slot_, 0x034), 0u);  // no queues
  EXPECT_EQ(Reg(slot_, 0x070), 0u);  // status
  EXPECT_EQ(Reg(slot_, 0x100), 0u);  // config space
  uint8_t byte = 0xff;
  slot_.Read(0x000, &byte, 1);  // not a 32-bit access: zero
  EXPECT_EQ(byte, 0);
  // A driver writing anyway changes nothing.
  uint32_t v = 0xffffffff;
  for (uint64_t off = 0; off < 0x200; off += 4) {
    slot_.Write(off, reinterpret_cast<const uint8_t*>(&v), 4);
  }
  EXPECT_EQ(Reg(slot_, 0x008), 0u);
  EXPECT_EQ(Reg(slot_, 0x070), 0u);
  EXPECT_FALSE(irq_.level());
}

TEST_F(MmioHotSlotTest, FilledSlotIsTheTransportAndEmptiesAgain) {
  slot_.Set(transport_.get());
  EXPECT_FALSE(slot_.empty());
  EXPECT_EQ(Reg(slot_, 0x008), kVirtioIdBlock);
  uint32_t status = kVirtioStatusAcknowledge;
  slot_.Write(0x070, reinterpret_cast<const uint8_t*>(&status), 4);
  EXPECT_EQ(transport_->status(), kVirtioStatusAcknowledge);
  EXPECT_EQ(Reg(slot_, 0x070), kVirtioStatusAcknowledge);
  slot_.Set(nullptr);
  EXPECT_TRUE(slot_.empty());
  EXPECT_EQ(Reg(slot_, 0x008), 0u);
  EXPECT_EQ(Reg(slot_, 0x070), 0u);
}

// vCPUs keep reading while the VMM plugs and unplugs: every read sees either
// the placeholder or the device, and once Set(nullptr) has returned the
// transport can go away.
TEST_F(MmioHotSlotTest, SwapsWhileReadersRun) {
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!done.load()) {
      uint32_t id = Reg(slot_, 0x008);
      if (id != 0 && id != kVirtioIdBlock) bad.fetch_add(1);
    }
  });
  for (int i = 0; i < 2000; ++i) {
    slot_.Set(transport_.get());
    slot_.Set(nullptr);
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  transport_.reset();  // nothing may touch it any more
  EXPECT_EQ(Reg(slot_, 0x008), 0u);
}

}  // namespace
}  // namespace kuml
