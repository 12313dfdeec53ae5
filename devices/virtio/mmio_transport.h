// MmioTransport: the virtio-mmio transport, version 2 ("modern", virtio 1.x
// spec 4.2), presenting one VirtioDevice to the guest as a BusDevice.
//
// Register file (32-bit accesses at 4-byte aligned offsets; other accesses
// below 0x100 read as zero and are ignored):
//   0x000 MagicValue "virt"   0x004 Version (2)    0x008 DeviceID
//   0x00c VendorID (kVendorId)  0x010/0x014 DeviceFeatures/Sel
//   0x020/0x024 DriverFeatures/Sel   0x030 QueueSel   0x034 QueueNumMax
//   0x038 QueueNum   0x044 QueueReady   0x050 QueueNotify (write: the queue
//   index)   0x060 InterruptStatus   0x064 InterruptACK   0x070 Status
//   0x080/0x084 QueueDesc   0x090/0x094 QueueDriver (avail)   0x0a0/0x0a4
//   QueueDevice (used)   0x0b0/0x0b4 SHMLen (always -1: no shared memory)
//   0x0fc ConfigGeneration   0x100... device configuration space (any size)
//
// What the transport enforces on the driver:
//  - FEATURES_OK is refused (left clear, as the spec says) when the driver
//    accepted a feature we did not offer or left out VIRTIO_F_VERSION_1;
//    DRIVER_OK is refused without FEATURES_OK; status bits can only be added,
//    writing 0 resets the device.
//  - DriverFeatures is frozen once FEATURES_OK is set; queue registers are
//    frozen while the queue is ready and once DRIVER_OK is set.
//  - QueueReady = 1 is refused before FEATURES_OK. On write it checks the
//    queue (size, alignment, areas inside RAM); a bad queue stays not ready
//    and DEVICE_NEEDS_RESET is set (last_error() says why).
//  - Notifications for queues that do not exist, or before DRIVER_OK, are
//    dropped (counted in ignored_notifications()).
// The interrupt line is level: high while InterruptStatus is non-zero (bit 0
// used buffers, bit 1 configuration change), low when the driver has acked
// every bit.
//
// Threads: registers are accessed from vCPU threads and NotifyQueue() may
// come from the event loop (ioeventfd on base + kQueueNotifyOffset with the
// queue index as the 32-bit datum). Register state is under mu_; interrupt
// state under a separate lock that the device may take from inside
// QueueNotify(), which itself runs without mu_. Lock order: mu_ -> device's
// lock -> interrupt lock.
#ifndef KUML_DEVICES_VIRTIO_MMIO_TRANSPORT_H_
#define KUML_DEVICES_VIRTIO_MMIO_TRANSPORT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "devices/virtio/virtio_device.h"
#include "devices/virtio/virtqueue.h"
#include "vmm/bus_device.h"
#include "vmm/guest_memory.h"
#include "vmm/interrupt_line.h"

namespace kuml {

class MmioTransport : public BusDevice {
 public:
  static constexpr uint32_t kMagic = 0x74726976;  // "virt"
  static constexpr uint32_t kVersion = 2;
  // "KUML" as four little-endian bytes (QEMU uses "QEMU" the same way).
  static constexpr uint32_t kVendorId = 0x4c4d554b;
  // Registers plus the 256 bytes of config space every current device fits.
  static constexpr uint64_t kRegisterBytes = 0x200;
  // Size to register on the bus and to announce to Linux ("4K"): a page, so
  // that devices can sit at page-aligned bases; beyond kRegisterBytes the
  // device's config space reads as zero.
  static constexpr uint64_t kWindowBytes = 0x1000;
  static constexpr uint64_t kConfigOffset = 0x100;
  static constexpr uint64_t kQueueNotifyOffset = 0x050;

  // `memory` and `irq` are not owned and must outlive the transport.
  MmioTransport(std::unique_ptr<VirtioDevice> device, GuestMemory* memory,
                InterruptLine* irq);
  ~MmioTransport() override;

  MmioTransport(const MmioTransport&) = delete;
  MmioTransport& operator=(const MmioTransport&) = delete;

  void Read(uint64_t offset, uint8_t* data, uint32_t size) override;
  void Write(uint64_t offset, const uint8_t* data, uint32_t size) override;

  // The driver kicked queue `index`: what a 32-bit write of `index` to
  // QueueNotify (offset 0x50) does. For the VMM's ioeventfd handler.
  void NotifyQueue(uint32_t index);

  // Resets device and transport as a Status write of 0 does (machine reset).
  void Reset();

  // How the device asks to be notified again (VirtioActivation::
  // notify_again); set by the VMM before the driver can activate the device.
  void SetNotifyAgain(std::function<void(uint16_t)> notify_again) {
    notify_again_ = std::move(notify_again);
  }

  VirtioDevice* device() const { return device_.get(); }
  // Status as the driver reads it (including DEVICE_NEEDS_RESET).
  uint32_t status() const;
  uint32_t interrupt_status() const;
  // Why the last configuration step was refused; empty if none.
  std::string last_error() const;
  uint64_t ignored_notifications() const {
    return ignored_notifications_.load(std::memory_order_relaxed);
  }

 private:
  // Gives the device its way back to the driver.
  class Interrupts : public VirtioInterrupt {
   public:
    explicit Interrupts(MmioTransport* t) : t_(t) {}
    void SignalUsedBuffers() override;
    void SignalConfigChange() override;
    void SignalNeedsReset(absl::string_view reason) override;

   private:
    MmioTransport* t_;
  };

  uint32_t ReadRegister(uint64_t offset) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteRegister(uint64_t offset, uint32_t value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteStatus(uint32_t value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteQueueReady(uint32_t value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ActivateDevice() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ResetLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The selected queue if its configuration may be changed now, else null.
  Virtqueue* WritableQueue() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Virtqueue* SelectedQueue() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sets InterruptStatus bits and raises the line.
  void RaiseInterrupt(uint32_t bits) ABSL_LOCKS_EXCLUDED(irq_mu_);
  void SetNeedsReset(std::string reason) ABSL_LOCKS_EXCLUDED(irq_mu_);

  const std::unique_ptr<VirtioDevice> device_;
  std::function<void(uint16_t)> notify_again_;
  GuestMemory* const memory_;
  InterruptLine* const irq_;
  const uint64_t device_features_;
  Interrupts interrupts_{this};

  mutable absl::Mutex mu_;
  uint32_t status_ ABSL_GUARDED_BY(mu_) = 0;  // without NEEDS_RESET
  uint32_t device_features_sel_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t driver_features_sel_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t driver_features_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t queue_sel_ ABSL_GUARDED_BY(mu_) = 0;
  // Owned here; the device uses them between Activate() and Reset().
  std::vector<std::unique_ptr<Virtqueue>> queues_ ABSL_GUARDED_BY(mu_);
  bool activated_ ABSL_GUARDED_BY(mu_) = false;

  // Mirrors DRIVER_OK for the lock-free NotifyQueue() fast path.
  std::atomic<bool> driver_ok_{false};
  std::atomic<uint64_t> ignored_notifications_{0};

  mutable absl::Mutex irq_mu_ ABSL_ACQUIRED_AFTER(mu_);
  uint32_t interrupt_status_ ABSL_GUARDED_BY(irq_mu_) = 0;
  bool needs_reset_ ABSL_GUARDED_BY(irq_mu_) = false;
  uint32_t config_generation_ ABSL_GUARDED_BY(irq_mu_) = 0;
  std::string last_error_ ABSL_GUARDED_BY(irq_mu_);
};

}  // namespace kuml

#endif  // KUML_DEVICES_VIRTIO_MMIO_TRANSPORT_H_
