#include "devices/virtio/mmio_transport.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "devices/virtio/virtio_spec.h"

namespace kuml {
namespace {

// Register offsets (virtio 1.x spec 4.2.2).
enum : uint64_t {
  kMagicValue = 0x000,
  kVersionReg = 0x004,
  kDeviceId = 0x008,
  kVendorIdReg = 0x00c,
  kDeviceFeatures = 0x010,
  kDeviceFeaturesSel = 0x014,
  kDriverFeatures = 0x020,
  kDriverFeaturesSel = 0x024,
  kQueueSel = 0x030,
  kQueueNumMax = 0x034,
  kQueueNum = 0x038,
  kQueueReady = 0x044,
  kQueueNotify = 0x050,
  kInterruptStatus = 0x060,
  kInterruptAck = 0x064,
  kStatus = 0x070,
  kQueueDescLow = 0x080,
  kQueueDescHigh = 0x084,
  kQueueDriverLow = 0x090,
  kQueueDriverHigh = 0x094,
  kQueueDeviceLow = 0x0a0,
  kQueueDeviceHigh = 0x0a4,
  kShmLenLow = 0x0b0,
  kShmLenHigh = 0x0b4,
  kConfigGeneration = 0x0fc,
};

constexpr uint32_t kInterruptUsedBuffer = 1;
constexpr uint32_t kInterruptConfigChange = 2;

uint64_t SetLow(uint64_t v, uint32_t low) {
  return (v & 0xffffffff00000000ull) | low;
}
uint64_t SetHigh(uint64_t v, uint32_t high) {
  return (v & 0xffffffffull) | (uint64_t{high} << 32);
}

}  // namespace

MmioTransport::MmioTransport(std::unique_ptr<VirtioDevice> device,
                             GuestMemory* memory, InterruptLine* irq)
    : device_(std::move(device)),
      memory_(memory),
      irq_(irq),
      device_features_(device_->device_features()) {
  absl::MutexLock lock(&mu_);
  for (uint16_t i = 0; i < device_->num_queues(); ++i) {
    queues_.push_back(
        std::make_unique<Virtqueue>(i, device_->queue_max_size(i)));
  }
}

MmioTransport::~MmioTransport() { device_->Reset(); }

void MmioTransport::Read(uint64_t offset, uint8_t* data, uint32_t size) {
  if (offset >= kConfigOffset) {
    device_->ReadConfig(offset - kConfigOffset, data, size);
    return;
  }
  uint32_t value = 0;
  if (size == 4 && offset % 4 == 0) {
    absl::MutexLock lock(&mu_);
    value = ReadRegister(offset);
  }
  // Registers are 32 bits wide; anything else reads as zero.
  std::memset(data, 0, size);
  if (size == 4) std::memcpy(data, &value, 4);
}

void MmioTransport::Write(uint64_t offset, const uint8_t* data, uint32_t size) {
  if (offset >= kConfigOffset) {
    device_->WriteConfig(offset - kConfigOffset, data, size);
    return;
  }
  if (size != 4 || offset % 4 != 0) return;
  uint32_t value;
  std::memcpy(&value, data, 4);
  if (offset == kQueueNotify) {
    // Without mu_: the device may take a while and signal from inside.
    NotifyQueue(value);
    return;
  }
  absl::MutexLock lock(&mu_);
  WriteRegister(offset, value);
}

Virtqueue* MmioTransport::SelectedQueue() {
  return queue_sel_ < queues_.size() ? queues_[queue_sel_].get() : nullptr;
}

Virtqueue* MmioTransport::WritableQueue() {
  Virtqueue* q = SelectedQueue();
  if (q == nullptr || q->ready() || (status_ & kVirtioStatusDriverOk)) {
    return nullptr;
  }
  return q;
}

uint32_t MmioTransport::ReadRegister(uint64_t offset) {
  Virtqueue* q = SelectedQueue();
  switch (offset) {
    case kMagicValue:
      return kMagic;
    case kVersionReg:
      return kVersion;
    case kDeviceId:
      return device_->device_type();
    case kVendorIdReg:
      return kVendorId;
    case kDeviceFeatures:
      if (device_features_sel_ == 0) return uint32_t(device_features_);
      if (device_features_sel_ == 1) return uint32_t(device_features_ >> 32);
      return 0;
    case kQueueNumMax:
      return q ? q->max_size() : 0;  // 0 tells Linux "no such queue"
    case kQueueNum:
      return q ? q->size() : 0;
    case kQueueReady:
      return q && q->ready() ? 1 : 0;
    case kQueueDescLow:
      return q ? uint32_t(q->desc_gpa()) : 0;
    case kQueueDescHigh:
      return q ? uint32_t(q->desc_gpa() >> 32) : 0;
    case kQueueDriverLow:
      return q ? uint32_t(q->avail_gpa()) : 0;
    case kQueueDriverHigh:
      return q ? uint32_t(q->avail_gpa() >> 32) : 0;
    case kQueueDeviceLow:
      return q ? uint32_t(q->used_gpa()) : 0;
    case kQueueDeviceHigh:
      return q ? uint32_t(q->used_gpa() >> 32) : 0;
    case kShmLenLow:
    case kShmLenHigh:
      return 0xffffffff;  // length -1: no shared memory region
    case kInterruptStatus:
      return interrupt_status();
    case kStatus: {
      absl::MutexLock lock(&irq_mu_);
      return status_ | (needs_reset_ ? kVirtioStatusNeedsReset : 0);
    }
    case kConfigGeneration: {
      absl::MutexLock lock(&irq_mu_);
      return config_generation_;
    }
    default:
      return 0;
  }
}

void MmioTransport::WriteRegister(uint64_t offset, uint32_t value) {
  Virtqueue* q = nullptr;
  switch (offset) {
    case kDeviceFeaturesSel:
      device_features_sel_ = value;
      return;
    case kDriverFeaturesSel:
      driver_features_sel_ = value;
      return;
    case kDriverFeatures:
      if (status_ & kVirtioStatusFeaturesOk) return;  // negotiated already
      if (driver_features_sel_ == 0) {
        driver_features_ = SetLow(driver_features_, value);
      } else if (driver_features_sel_ == 1) {
        driver_features_ = SetHigh(driver_features_, value);
      }
      return;
    case kQueueSel:
      queue_sel_ = value;
      return;
    case kQueueReady:
      WriteQueueReady(value);
      return;
    case kInterruptAck: {
      absl::MutexLock lock(&irq_mu_);
      uint32_t before = interrupt_status_;
      interrupt_status_ &= ~value;
      if (before != 0 && interrupt_status_ == 0) irq_->SetLevel(false);
      return;
    }
    case kStatus:
      WriteStatus(value);
      return;
    case kQueueNum:
    case kQueueDescLow:
    case kQueueDescHigh:
    case kQueueDriverLow:
    case kQueueDriverHigh:
    case kQueueDeviceLow:
    case kQueueDeviceHigh:
      q = WritableQueue();
      if (q == nullptr) return;
      break;
    default:
      return;  // read-only or unknown
  }
  switch (offset) {
    case kQueueNum:
      q->set_size(value);
      break;
    case kQueueDescLow:
      q->set_desc_gpa(SetLow(q->desc_gpa(), value));
      break;
    case kQueueDescHigh:
      q->set_desc_gpa(SetHigh(q->desc_gpa(), value));
      break;
    case kQueueDriverLow:
      q->set_avail_gpa(SetLow(q->avail_gpa(), value));
      break;
    case kQueueDriverHigh:
      q->set_avail_gpa(SetHigh(q->avail_gpa(), value));
      break;
    case kQueueDeviceLow:
      q->set_used_gpa(SetLow(q->used_gpa(), value));
      break;
    case kQueueDeviceHigh:
      q->set_used_gpa(SetHigh(q->used_gpa(), value));
      break;
  }
}

void MmioTransport::WriteQueueReady(uint32_t value) {
  Virtqueue* q = SelectedQueue();
  // Once DRIVER_OK is set the device is using the queues: leave them alone.
  if (q == nullptr || (status_ & kVirtioStatusDriverOk)) return;
  if (value == 0) {
    q->Disable();
    return;
  }
  if (q->ready()) return;
  if (!(status_ & kVirtioStatusFeaturesOk)) {
    // The ring format depends on the features, which are not settled yet.
    SetNeedsReset(absl::StrFormat(
        "queue %u: QueueReady written before FEATURES_OK", q->index()));
    return;
  }
  absl::Status s = q->Enable(memory_, driver_features_);
  if (!s.ok()) SetNeedsReset(std::string(s.message()));
}

void MmioTransport::WriteStatus(uint32_t value) {
  if (value == 0) {
    ResetLocked();
    return;
  }
  // NEEDS_RESET is the device's to set.
  value &= ~kVirtioStatusNeedsReset;
  if ((status_ & ~value) != 0) return;  // only a reset may clear bits
  uint32_t added = value & ~status_;
  if (added & kVirtioStatusFeaturesOk) {
    uint64_t unknown = driver_features_ & ~device_features_;
    if (unknown != 0 || !(driver_features_ & kVirtioFVersion1)) {
      absl::MutexLock lock(&irq_mu_);
      last_error_ = absl::StrFormat(
          "FEATURES_OK refused: driver features %#x (not offered: %#x, "
          "VERSION_1 %s)",
          driver_features_, unknown,
          (driver_features_ & kVirtioFVersion1) ? "present" : "missing");
      value &= ~kVirtioStatusFeaturesOk;
    }
  }
  if ((added & kVirtioStatusDriverOk) && !(value & kVirtioStatusFeaturesOk)) {
    value &= ~kVirtioStatusDriverOk;
  }
  status_ = value;
  if ((added & kVirtioStatusDriverOk) && (value & kVirtioStatusDriverOk)) {
    ActivateDevice();
  }
}

void MmioTransport::ActivateDevice() {
  VirtioActivation activation;
  activation.memory = memory_;
  activation.features = driver_features_;
  activation.interrupt = &interrupts_;
  activation.notify_again = notify_again_;
  for (auto& q : queues_) activation.queues.push_back(q.get());
  absl::Status s = device_->Activate(std::move(activation));
  if (!s.ok()) {
    // Activate() must not have kept anything, but make sure.
    device_->Reset();
    SetNeedsReset(absl::StrCat("device activation failed: ", s.message()));
  } else {
    activated_ = true;
  }
  driver_ok_.store(true, std::memory_order_release);
  // A failure before DRIVER_OK could not be announced; do it now.
  bool announce;
  {
    absl::MutexLock lock(&irq_mu_);
    announce = needs_reset_;
  }
  if (announce) RaiseInterrupt(kInterruptConfigChange);
}

void MmioTransport::Reset() {
  absl::MutexLock lock(&mu_);
  ResetLocked();
}

void MmioTransport::ResetLocked() {
  driver_ok_.store(false, std::memory_order_release);
  // Waits for in-flight requests; after this the device touches nothing.
  device_->Reset();
  activated_ = false;
  for (auto& q : queues_) q->Reset();
  status_ = 0;
  device_features_sel_ = driver_features_sel_ = 0;
  driver_features_ = 0;
  queue_sel_ = 0;
  absl::MutexLock lock(&irq_mu_);
  needs_reset_ = false;
  if (interrupt_status_ != 0) {
    interrupt_status_ = 0;
    irq_->SetLevel(false);
  }
}

void MmioTransport::NotifyQueue(uint32_t index) {
  if (index >= device_->num_queues() ||
      !driver_ok_.load(std::memory_order_acquire)) {
    ignored_notifications_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  device_->QueueNotify(static_cast<uint16_t>(index));
}

uint32_t MmioTransport::status() const {
  absl::MutexLock lock(&mu_);
  absl::MutexLock irq_lock(&irq_mu_);
  return status_ | (needs_reset_ ? kVirtioStatusNeedsReset : 0);
}

uint32_t MmioTransport::interrupt_status() const {
  absl::MutexLock lock(&irq_mu_);
  return interrupt_status_;
}

std::string MmioTransport::last_error() const {
  absl::MutexLock lock(&irq_mu_);
  return last_error_;
}

void MmioTransport::RaiseInterrupt(uint32_t bits) {
  absl::MutexLock lock(&irq_mu_);
  bool was_low = interrupt_status_ == 0;
  interrupt_status_ |= bits;
  if (was_low) irq_->SetLevel(true);
}

void MmioTransport::SetNeedsReset(std::string reason) {
  absl::MutexLock lock(&irq_mu_);
  needs_reset_ = true;
  last_error_ = std::move(reason);
}

void MmioTransport::Interrupts::SignalUsedBuffers() {
  t_->RaiseInterrupt(kInterruptUsedBuffer);
}

void MmioTransport::Interrupts::SignalConfigChange() {
  {
    // Drivers re-read the config space until the generation is stable.
    absl::MutexLock lock(&t_->irq_mu_);
    ++t_->config_generation_;
  }
  t_->RaiseInterrupt(kInterruptConfigChange);
}

void MmioTransport::Interrupts::SignalNeedsReset(absl::string_view reason) {
  t_->SetNeedsReset(std::string(reason));
  // The spec wants a configuration change notification once DRIVER_OK is
  // set; the device only calls this while active, i.e. after DRIVER_OK.
  t_->RaiseInterrupt(kInterruptConfigChange);
}

}  // namespace kuml
