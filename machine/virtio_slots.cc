#include "machine/virtio_slots.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "devices/virtio/mmio_cmdline.h"
#include "util/errno_status.h"

namespace kuml {

VirtioMmioSlots::VirtioMmioSlots(Vm* vm, IoBus* mmio, GuestMemory* memory,
                                 EventLoop* loop)
    : vm_(vm), mmio_(mmio), memory_(memory), loop_(loop) {}

VirtioMmioSlots::~VirtioMmioSlots() = default;

std::string VirtioMmioSlots::Announcement(const Slot& slot) {
  return VirtioMmioCmdline(slot.base, MmioTransport::kWindowBytes, slot.irq);
}

absl::StatusOr<std::unique_ptr<VirtioMmioSlots::Slot>>
VirtioMmioSlots::NewSlot() {
  auto slot = std::make_unique<Slot>();
  const uint32_t index = slots_.size();
  slot->base = kBase + index * MmioTransport::kWindowBytes;
  slot->irq = kFirstIrq + index;
  absl::StatusOr<std::unique_ptr<IrqFdLine>> irq =
      IrqFdLine::Create(vm_, slot->irq);
  if (!irq.ok()) return irq.status();
  slot->irq_line = std::move(*irq);
  return slot;
}

absl::StatusOr<std::string> VirtioMmioSlots::AddSpare() {
  absl::StatusOr<std::unique_ptr<Slot>> slot = NewSlot();
  if (!slot.ok()) return slot.status();
  (*slot)->hot = std::make_unique<MmioHotSlot>();
  absl::Status s = mmio_->Register((*slot)->base, MmioTransport::kWindowBytes,
                                   (*slot)->hot.get());
  if (!s.ok()) return s;
  std::string announcement = Announcement(**slot);
  slots_.push_back(std::move(*slot));
  return announcement;
}

absl::StatusOr<std::string> VirtioMmioSlots::AddDevice(
    std::unique_ptr<VirtioDevice> device, std::shared_ptr<BlockBackend> disk) {
  absl::StatusOr<std::unique_ptr<Slot>> new_slot = NewSlot();
  if (!new_slot.ok()) return new_slot.status();
  std::unique_ptr<Slot> slot = std::move(*new_slot);
  slot->transport = std::make_unique<MmioTransport>(std::move(device), memory_,
                                                    slot->irq_line.get());
  // Behind a hot slot like the spares, so that the device can be unplugged
  // (mconsole `remove ubd<n>` of a boot disk).
  slot->hot = std::make_unique<MmioHotSlot>();
  absl::Status s =
      mmio_->Register(slot->base, MmioTransport::kWindowBytes, slot->hot.get());
  if (!s.ok()) return s;
  s = WatchNotifications(*slot);
  if (!s.ok()) return s;
  slot->hot->Set(slot->transport.get());
  slot->disk = std::move(disk);
  std::string announcement = Announcement(*slot);
  slots_.push_back(std::move(slot));
  return announcement;
}

absl::Status VirtioMmioSlots::WatchNotifications(Slot& slot) {
  // The driver's write of a queue index to QueueNotify is caught by KVM and
  // signalled on that queue's eventfd (datamatch), so the vCPU never exits.
  MmioTransport* transport = slot.transport.get();
  for (uint16_t q = 0; q < transport->device()->num_queues(); ++q) {
    if (transport->device()->NotifyInVcpu(q)) {
      slot.notify.emplace_back();  // the MMIO write reaches the transport
      continue;
    }
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd.valid()) return ErrnoStatus("eventfd for ioeventfd");
    absl::Status s = vm_->AddIoEventFd(
        fd.get(), slot.base + MmioTransport::kQueueNotifyOffset, 4,
        /*pio=*/false, /*datamatch=*/q);
    if (!s.ok()) return s;
    int raw = fd.get();
    s = loop_->Add(raw, EPOLLIN, [transport, raw, q](uint32_t) {
      uint64_t count;
      if (::read(raw, &count, sizeof(count)) == sizeof(count)) {
        transport->NotifyQueue(q);
      }
    });
    if (!s.ok()) return s;
    slot.notify.push_back(std::move(fd));
  }
  // A device that served its budget asks for another turn: the same
  // eventfd, so the loop serves every other ready fd first.
  std::vector<int> fds;
  for (const UniqueFd& fd : slot.notify)
    fds.push_back(fd.valid() ? fd.get() : -1);
  transport->SetNotifyAgain([fds](uint16_t q) {
    if (q >= fds.size() || fds[q] < 0) return;
    const uint64_t one = 1;
    (void)!::write(fds[q], &one, sizeof one);
  });
  return absl::OkStatus();
}

void VirtioMmioSlots::UnwatchNotifications(Slot& slot) {
  for (size_t q = 0; q < slot.notify.size(); ++q) {
    if (!slot.notify[q].valid()) continue;
    loop_->Remove(slot.notify[q].get());
    (void)vm_->RemoveIoEventFd(slot.notify[q].get(),
                               slot.base + MmioTransport::kQueueNotifyOffset, 4,
                               /*pio=*/false, /*datamatch=*/q);
  }
  slot.notify.clear();
}

absl::StatusOr<uint32_t> VirtioMmioSlots::Plug(const PluggableDevice& device) {
  Slot* free_slot = nullptr;
  uint32_t index = 0;
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = *slots_[i];
    if (slot.hot == nullptr || slot.transport != nullptr) continue;
    free_slot = &slot;
    index = i;
    break;
  }
  if (free_slot == nullptr) {
    return absl::ResourceExhaustedError(
        "no spare virtio-mmio slot is free (kuml announces a few at "
        "boot; remove a hot-plugged device first)");
  }
  const VirtioDeviceContext context{loop_, memory_};
  absl::StatusOr<std::unique_ptr<VirtioDevice>> made = device.make(context);
  if (!made.ok()) return made.status();
  Slot& slot = *free_slot;
  slot.transport = std::make_unique<MmioTransport>(std::move(*made), memory_,
                                                   slot.irq_line.get());
  absl::Status w = WatchNotifications(slot);
  if (!w.ok()) {
    UnwatchNotifications(slot);
    slot.transport.reset();
    return w;
  }
  slot.hot->Set(slot.transport.get());
  slot.disk = device.disk;
  return index;
}

absl::Status VirtioMmioSlots::Unplug(uint32_t index) {
  if (index >= slots_.size() || slots_[index]->transport == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("virtio-mmio slot ", index, " is not plugged"));
  }
  Slot& slot = *slots_[index];
  slot.hot->Set(nullptr);  // no vCPU reaches the transport any more
  UnwatchNotifications(slot);
  slot.transport->Reset();
  slot.transport.reset();
  absl::Status flushed;
  if (slot.disk != nullptr) {
    flushed = slot.disk->Flush();
    slot.disk.reset();
  }
  return flushed;
}

absl::Status VirtioMmioSlots::FinishAndFlush() {
  for (auto& slot : slots_) {
    for (size_t q = 0; q < slot->notify.size(); ++q) {
      uint64_t count;
      // Until the eventfd stays empty: a device that served its budget
      // signals it again for the rest. The vCPUs are parked, so the guest
      // adds nothing meanwhile and the ring bounds the turns.
      while (slot->notify[q].valid() &&
             ::read(slot->notify[q].get(), &count, sizeof(count)) ==
                 sizeof(count)) {
        slot->transport->NotifyQueue(static_cast<uint32_t>(q));
      }
    }
  }
  absl::Status status;
  for (auto& slot : slots_) {
    if (slot->disk == nullptr) continue;
    absl::Status s = slot->disk->Flush();
    if (!s.ok() && status.ok()) status = s;
  }
  return status;
}

}  // namespace kuml
