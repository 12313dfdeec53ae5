// Test helpers that play the guest's part against a virtio-mmio device:
//  - FakeInterruptLine records what the transport does with its line;
//  - GuestAllocator hands out guest-physical buffers in a GuestMemory;
//  - TestQueue is the driver's side of a split virtqueue laid out in guest
//    memory (descriptors, avail ring, used ring) that tests can fill with
//    well-formed or deliberately hostile chains;
//  - MmioTestDriver programs an MmioTransport through BusDevice::Read/Write
//    in the order Linux's virtio_mmio driver does.
// testonly: no KVM needed.
#ifndef KUML_DEVICES_VIRTIO_TEST_DRIVER_H_
#define KUML_DEVICES_VIRTIO_TEST_DRIVER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/optional.h"
#include "devices/virtio/virtio_spec.h"
#include "vmm/bus_device.h"
#include "vmm/guest_memory.h"
#include "vmm/interrupt_line.h"

namespace kuml {

class FakeInterruptLine : public InterruptLine {
 public:
  void SetLevel(bool high) override {
    absl::MutexLock lock(&mu_);
    if (high && !level_) ++raises_;
    level_ = high;
    ++calls_;
  }
  bool level() const {
    absl::MutexLock lock(&mu_);
    return level_;
  }
  // Low -> high transitions seen.
  int raises() const {
    absl::MutexLock lock(&mu_);
    return raises_;
  }
  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  mutable absl::Mutex mu_;
  bool level_ = false;
  int raises_ = 0;
  int calls_ = 0;
};

// Bump allocator over guest RAM, starting above the first 64 KiB.
class GuestAllocator {
 public:
  explicit GuestAllocator(uint64_t start = 0x10000) : next_(start) {}
  uint64_t Alloc(uint64_t bytes, uint64_t align = 16) {
    next_ = (next_ + align - 1) / align * align;
    uint64_t gpa = next_;
    next_ += bytes;
    return gpa;
  }

 private:
  uint64_t next_;
};

class TestQueue {
 public:
  // A buffer in a chain: device-readable unless `device_writes`.
  struct Buffer {
    uint64_t gpa;
    uint32_t len;
    bool device_writes;
  };

  // Lays out a queue of `size` entries at freshly allocated, correctly
  // aligned addresses, all rings zeroed.
  TestQueue(GuestMemory* memory, GuestAllocator* alloc, uint16_t size);
  // A queue at the given addresses (which may be anything, for hostile
  // tests); nothing is written.
  TestQueue(GuestMemory* memory, uint16_t size, uint64_t desc_gpa,
            uint64_t avail_gpa, uint64_t used_gpa);

  uint16_t size() const { return size_; }
  uint64_t desc_gpa() const { return desc_gpa_; }
  uint64_t avail_gpa() const { return avail_gpa_; }
  uint64_t used_gpa() const { return used_gpa_; }

  // Raw descriptor write (any values).
  void WriteDesc(uint16_t index, uint64_t addr, uint32_t len, uint16_t flags,
                 uint16_t next);
  // Writes `buffers` into the next free descriptors, linked with F_NEXT;
  // returns the head. Does not publish.
  uint16_t AddChain(const std::vector<Buffer>& buffers);
  // Writes `buffers` as an indirect table at `table_gpa` and one descriptor
  // pointing at it; returns that descriptor's index. Does not publish.
  uint16_t AddIndirectChain(uint64_t table_gpa,
                            const std::vector<Buffer>& buffers);
  // Puts `head` in the avail ring and bumps avail->idx (with a release
  // fence, as a driver does).
  void Publish(uint16_t head);
  // Writes avail->idx directly (hostile tests).
  void SetAvailIdx(uint16_t idx);
  uint16_t avail_idx() const { return avail_idx_; }
  void SetAvailFlags(uint16_t flags);
  void SetUsedEvent(uint16_t value);

  uint16_t UsedIdx() const;
  VirtqUsedElem UsedElem(uint16_t slot) const;  // slot taken mod size
  uint16_t UsedFlags() const;
  uint16_t AvailEvent() const;
  // The next used element not yet taken by PopUsed(), if the device
  // published one.
  absl::optional<VirtqUsedElem> PopUsed();

 private:
  GuestMemory* memory_;
  uint16_t size_;
  uint64_t desc_gpa_, avail_gpa_, used_gpa_;
  uint16_t next_desc_ = 0;
  uint16_t avail_idx_ = 0;
  uint16_t last_used_ = 0;
};

class MmioTestDriver {
 public:
  explicit MmioTestDriver(BusDevice* device) : device_(device) {}

  uint32_t Read32(uint64_t offset);
  void Write32(uint64_t offset, uint32_t value);
  uint8_t ReadConfig8(uint64_t offset);
  uint16_t ReadConfig16(uint64_t offset);
  uint32_t ReadConfig32(uint64_t offset);
  // Two 32-bit reads, as Linux does for 64-bit config fields.
  uint64_t ReadConfig64(uint64_t offset);

  uint32_t Status() { return Read32(0x070); }
  void SetStatus(uint32_t status) { Write32(0x070, status); }
  uint64_t DeviceFeatures();
  void WriteDriverFeatures(uint64_t features);

  // Reset, ACKNOWLEDGE, DRIVER, check magic/version, accept
  // `wanted & offered` (or exactly `wanted` if `exact`), FEATURES_OK and read
  // it back. FailedPrecondition when the device refused FEATURES_OK.
  absl::Status Negotiate(uint64_t wanted, bool exact = false);
  // vm_setup_vq(): select, check not ready and QueueNumMax, write size and
  // addresses, QueueReady = 1.
  absl::Status SetupQueue(uint16_t index, const TestQueue& queue);
  void DriverOk();
  // Negotiate(wanted) + SetupQueue(i, *queues[i]) + DriverOk().
  absl::Status Initialize(uint64_t wanted, std::vector<TestQueue*> queues);

  void Notify(uint16_t queue) { Write32(0x050, queue); }
  // What an interrupt handler does: read InterruptStatus, ack it all.
  uint32_t AckInterrupt();

 private:
  BusDevice* device_;
};

}  // namespace kuml

#endif  // KUML_DEVICES_VIRTIO_TEST_DRIVER_H_
