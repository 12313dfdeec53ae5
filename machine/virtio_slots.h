// VirtioMmioSlots: the machine's table of virtio-mmio windows -- the slots
// filled at boot, the spare slots hot-plug fills and empties, and what a
// pause must finish before the host may copy a disk.
//
// Guest physical layout (see vmm/boot/layout.h for low memory):
//   0xd0000000 + i * 0x1000   virtio-mmio slot i, IRQ kFirstIrq + i (Linux's
//                             platform device virtio-mmio.<i>); the spare
//                             slots come after the boot devices
// Each slot has its own irqfd, and an ioeventfd per queue on QueueNotify
// (datamatch on the queue index), so a notification never makes the vCPU
// exit to userspace: the event loop reads the eventfd and runs the queue.
//
// Threads: AddDevice()/AddSpare() while the machine is built (before any
// vCPU runs); Plug()/Unplug()/FinishAndFlush() on the machine's event loop
// thread only (Machine::RunOnLoop), which is also where every queue is
// served, so no request is ever half done when they run.
#ifndef KUML_MACHINE_VIRTIO_SLOTS_H_
#define KUML_MACHINE_VIRTIO_SLOTS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "devices/virtio/mmio_hot_slot.h"
#include "devices/virtio/mmio_transport.h"
#include "devices/virtio/virtio_device.h"
#include "disk/block_backend.h"
#include "machine/pluggable_device.h"
#include "util/unique_fd.h"
#include "vmm/event_loop.h"
#include "vmm/guest_memory.h"
#include "vmm/io_bus.h"
#include "vmm/kvm/kvm.h"
#include "vmm/kvm/kvm_interrupt_lines.h"

namespace kuml {

class VirtioMmioSlots {
 public:
  static constexpr uint64_t kBase = 0xd0000000;
  static constexpr uint32_t kFirstIrq = 5;
  // IOAPIC pins kFirstIrq..23.
  static constexpr uint32_t kMaxSlots = 24 - kFirstIrq;

  // Nothing is owned; all must outlive the table.
  VirtioMmioSlots(Vm* vm, IoBus* mmio, GuestMemory* memory, EventLoop* loop);
  ~VirtioMmioSlots();

  VirtioMmioSlots(const VirtioMmioSlots&) = delete;
  VirtioMmioSlots& operator=(const VirtioMmioSlots&) = delete;

  // Boot: `device` in the next slot. `disk`, when given, is flushed by
  // FinishAndFlush(). Returns the slot's announcement for the kernel command
  // line (virtio_mmio.device=4K@0xd0000000:5).
  absl::StatusOr<std::string> AddDevice(std::unique_ptr<VirtioDevice> device,
                                        std::shared_ptr<BlockBackend> disk);
  // Boot: an empty slot for Plug(), announced the same way.
  absl::StatusOr<std::string> AddSpare();
  size_t size() const { return slots_.size(); }

  // Event loop thread. Makes a device with `device.make` and puts it into a
  // free spare slot; returns the slot number (Linux's virtio-mmio.<slot>).
  // The factory's error is returned and takes no slot; ResourceExhausted
  // when no spare slot is free.
  absl::StatusOr<uint32_t> Plug(const PluggableDevice& device);
  // Event loop thread. Empties a slot, filled at boot or by Plug(): its
  // ioeventfds are dropped, the device is reset and destroyed, its disk
  // flushed and released; the slot is free for Plug() from then on.
  // NotFound for a slot that holds no device.
  absl::Status Unplug(uint32_t index);
  // Event loop thread, with every vCPU parked: runs the notifications the
  // guest left in the ioeventfds (a kick may still sit there), then flushes
  // every disk, so a host-side copy taken now is consistent.
  absl::Status FinishAndFlush();

 private:
  struct Slot {
    uint64_t base = 0;
    uint32_t irq = 0;
    std::unique_ptr<IrqFdLine> irq_line;
    std::unique_ptr<MmioTransport> transport;
    std::vector<UniqueFd> notify;  // per queue: ioeventfd on QueueNotify
    // What the bus sees: `transport`, or an empty slot while it is null.
    std::unique_ptr<MmioHotSlot> hot;
    std::shared_ptr<BlockBackend> disk;
  };

  // A new slot's address, IRQ and irqfd (not yet on the bus).
  absl::StatusOr<std::unique_ptr<Slot>> NewSlot();
  absl::Status WatchNotifications(Slot& slot);
  void UnwatchNotifications(Slot& slot);
  static std::string Announcement(const Slot& slot);

  Vm* vm_;
  IoBus* mmio_;
  GuestMemory* memory_;
  EventLoop* loop_;
  std::vector<std::unique_ptr<Slot>> slots_;
};

}  // namespace kuml

#endif  // KUML_MACHINE_VIRTIO_SLOTS_H_
