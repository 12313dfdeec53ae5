#include "devices/virtio/test_driver.h"

#include <atomic>
#include <cstring>

#include "absl/strings/str_format.h"

namespace kuml {
namespace {

template <typename T>
T Get(const GuestMemory* m, uint64_t gpa) {
  absl::StatusOr<T> v = m->ReadObject<T>(gpa);
  return v.ok() ? *v : T{};
}

}  // namespace

TestQueue::TestQueue(GuestMemory* memory, GuestAllocator* alloc, uint16_t size)
    : memory_(memory), size_(size) {
  desc_gpa_ = alloc->Alloc(VirtqDescTableBytes(size), 16);
  avail_gpa_ = alloc->Alloc(VirtqAvailRingBytes(size), 2);
  used_gpa_ = alloc->Alloc(VirtqUsedRingBytes(size), 4);
  memory_->Zero(desc_gpa_, VirtqDescTableBytes(size)).IgnoreError();
  memory_->Zero(avail_gpa_, VirtqAvailRingBytes(size)).IgnoreError();
  memory_->Zero(used_gpa_, VirtqUsedRingBytes(size)).IgnoreError();
}

TestQueue::TestQueue(GuestMemory* memory, uint16_t size, uint64_t desc_gpa,
                     uint64_t avail_gpa, uint64_t used_gpa)
    : memory_(memory),
      size_(size),
      desc_gpa_(desc_gpa),
      avail_gpa_(avail_gpa),
      used_gpa_(used_gpa) {}

void TestQueue::WriteDesc(uint16_t index, uint64_t addr, uint32_t len,
                          uint16_t flags, uint16_t next) {
  VirtqDesc d{addr, len, flags, next};
  memory_->WriteObject(desc_gpa_ + 16 * uint64_t{index}, d).IgnoreError();
}

uint16_t TestQueue::AddChain(const std::vector<Buffer>& buffers) {
  uint16_t head = next_desc_;
  for (size_t i = 0; i < buffers.size(); ++i) {
    uint16_t index = next_desc_;
    next_desc_ = (next_desc_ + 1) % size_;
    bool last = i + 1 == buffers.size();
    WriteDesc(index, buffers[i].gpa, buffers[i].len,
              (buffers[i].device_writes ? kVirtqDescFWrite : 0) |
                  (last ? 0 : kVirtqDescFNext),
              last ? 0 : next_desc_);
  }
  return head;
}

uint16_t TestQueue::AddIndirectChain(uint64_t table_gpa,
                                     const std::vector<Buffer>& buffers) {
  for (size_t i = 0; i < buffers.size(); ++i) {
    bool last = i + 1 == buffers.size();
    VirtqDesc d{buffers[i].gpa, buffers[i].len,
                static_cast<uint16_t>(
                    (buffers[i].device_writes ? kVirtqDescFWrite : 0) |
                    (last ? 0 : kVirtqDescFNext)),
                static_cast<uint16_t>(last ? 0 : i + 1)};
    memory_->WriteObject(table_gpa + 16 * i, d).IgnoreError();
  }
  uint16_t index = next_desc_;
  next_desc_ = (next_desc_ + 1) % size_;
  WriteDesc(index, table_gpa, static_cast<uint32_t>(16 * buffers.size()),
            kVirtqDescFIndirect, 0);
  return index;
}

void TestQueue::Publish(uint16_t head) {
  memory_
      ->WriteObject<uint16_t>(avail_gpa_ + 4 + 2 * (avail_idx_ % size_), head)
      .IgnoreError();
  std::atomic_thread_fence(std::memory_order_release);
  SetAvailIdx(avail_idx_ + 1);
}

void TestQueue::SetAvailIdx(uint16_t idx) {
  avail_idx_ = idx;
  memory_->WriteObject<uint16_t>(avail_gpa_ + 2, idx).IgnoreError();
}

void TestQueue::SetAvailFlags(uint16_t flags) {
  memory_->WriteObject<uint16_t>(avail_gpa_, flags).IgnoreError();
}

void TestQueue::SetUsedEvent(uint16_t value) {
  memory_->WriteObject<uint16_t>(avail_gpa_ + 4 + 2 * uint64_t{size_}, value)
      .IgnoreError();
}

uint16_t TestQueue::UsedIdx() const {
  return Get<uint16_t>(memory_, used_gpa_ + 2);
}

uint16_t TestQueue::UsedFlags() const {
  return Get<uint16_t>(memory_, used_gpa_);
}

VirtqUsedElem TestQueue::UsedElem(uint16_t slot) const {
  return Get<VirtqUsedElem>(memory_, used_gpa_ + 4 + 8 * (slot % size_));
}

uint16_t TestQueue::AvailEvent() const {
  return Get<uint16_t>(memory_, used_gpa_ + 4 + 8 * uint64_t{size_});
}

absl::optional<VirtqUsedElem> TestQueue::PopUsed() {
  if (UsedIdx() == last_used_) return absl::nullopt;
  std::atomic_thread_fence(std::memory_order_acquire);
  return UsedElem(last_used_++);
}

uint32_t MmioTestDriver::Read32(uint64_t offset) {
  uint32_t v = 0;
  device_->Read(offset, reinterpret_cast<uint8_t*>(&v), 4);
  return v;
}

void MmioTestDriver::Write32(uint64_t offset, uint32_t value) {
  device_->Write(offset, reinterpret_cast<const uint8_t*>(&value), 4);
}

uint8_t MmioTestDriver::ReadConfig8(uint64_t offset) {
  uint8_t v = 0;
  device_->Read(0x100 + offset, &v, 1);
  return v;
}

uint16_t MmioTestDriver::ReadConfig16(uint64_t offset) {
  uint16_t v = 0;
  device_->Read(0x100 + offset, reinterpret_cast<uint8_t*>(&v), 2);
  return v;
}

uint32_t MmioTestDriver::ReadConfig32(uint64_t offset) {
  return Read32(0x100 + offset);
}

uint64_t MmioTestDriver::ReadConfig64(uint64_t offset) {
  uint64_t low = ReadConfig32(offset);
  return low | (uint64_t{ReadConfig32(offset + 4)} << 32);
}

uint64_t MmioTestDriver::DeviceFeatures() {
  Write32(0x014, 1);
  uint64_t high = Read32(0x010);
  Write32(0x014, 0);
  return (high << 32) | Read32(0x010);
}

void MmioTestDriver::WriteDriverFeatures(uint64_t features) {
  Write32(0x024, 1);
  Write32(0x020, static_cast<uint32_t>(features >> 32));
  Write32(0x024, 0);
  Write32(0x020, static_cast<uint32_t>(features));
}

absl::Status MmioTestDriver::Negotiate(uint64_t wanted, bool exact) {
  if (Read32(0x000) != 0x74726976 || Read32(0x004) != 2) {
    return absl::FailedPreconditionError("not a virtio-mmio v2 device");
  }
  SetStatus(0);
  SetStatus(kVirtioStatusAcknowledge);
  SetStatus(kVirtioStatusAcknowledge | kVirtioStatusDriver);
  uint64_t offered = DeviceFeatures();
  WriteDriverFeatures(exact ? wanted : (wanted & offered));
  uint32_t s =
      kVirtioStatusAcknowledge | kVirtioStatusDriver | kVirtioStatusFeaturesOk;
  SetStatus(s);
  if (!(Status() & kVirtioStatusFeaturesOk)) {
    return absl::FailedPreconditionError("device refused FEATURES_OK");
  }
  return absl::OkStatus();
}

absl::Status MmioTestDriver::SetupQueue(uint16_t index, const TestQueue& q) {
  Write32(0x030, index);
  if (Read32(0x044) != 0) {
    return absl::FailedPreconditionError("queue already ready");
  }
  uint32_t max = Read32(0x034);
  if (max == 0) return absl::NotFoundError("queue does not exist");
  if (q.size() > max) {
    return absl::InvalidArgumentError(
        absl::StrFormat("queue size %u > max %u", q.size(), max));
  }
  Write32(0x038, q.size());
  Write32(0x080, static_cast<uint32_t>(q.desc_gpa()));
  Write32(0x084, static_cast<uint32_t>(q.desc_gpa() >> 32));
  Write32(0x090, static_cast<uint32_t>(q.avail_gpa()));
  Write32(0x094, static_cast<uint32_t>(q.avail_gpa() >> 32));
  Write32(0x0a0, static_cast<uint32_t>(q.used_gpa()));
  Write32(0x0a4, static_cast<uint32_t>(q.used_gpa() >> 32));
  Write32(0x044, 1);
  return absl::OkStatus();
}

void MmioTestDriver::DriverOk() { SetStatus(Status() | kVirtioStatusDriverOk); }

absl::Status MmioTestDriver::Initialize(uint64_t wanted,
                                        std::vector<TestQueue*> queues) {
  absl::Status s = Negotiate(wanted);
  if (!s.ok()) return s;
  for (size_t i = 0; i < queues.size(); ++i) {
    s = SetupQueue(static_cast<uint16_t>(i), *queues[i]);
    if (!s.ok()) return s;
  }
  DriverOk();
  if (!(Status() & kVirtioStatusDriverOk)) {
    return absl::FailedPreconditionError("DRIVER_OK not accepted");
  }
  return absl::OkStatus();
}

uint32_t MmioTestDriver::AckInterrupt() {
  uint32_t status = Read32(0x060);
  if (status != 0) Write32(0x064, status);
  return status;
}

}  // namespace kuml
