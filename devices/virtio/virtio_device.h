// VirtioDevice: what a virtio device type (blk, net, console, ...) implements
// so that a transport (virtio-mmio today, virtio-pci later) can present it.
//
// The transport owns the register file, feature negotiation and the queues'
// configuration; the device owns what the queues mean. Lifecycle:
//   feature/config queries at any time -> Activate() once the driver sets
//   DRIVER_OK -> QueueNotify() for every driver kick -> Reset() when the
//   driver writes status 0 (or the VMM resets the machine) -> Activate() ...
// Activate() and Reset() are called with the transport's lock held and may
// block until in-flight requests are done; QueueNotify() is called without
// it, possibly on another thread (the event loop's ioeventfd handler), so a
// device guards its own state and ignores notifications while inactive.
#ifndef KUML_DEVICES_VIRTIO_VIRTIO_DEVICE_H_
#define KUML_DEVICES_VIRTIO_VIRTIO_DEVICE_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "devices/virtio/virtqueue.h"
#include "vmm/guest_memory.h"

namespace kuml {

// The device's way back to the driver, provided by the transport.
// Thread-safe; may be called from inside QueueNotify().
class VirtioInterrupt {
 public:
  virtual ~VirtioInterrupt() = default;
  // Used buffers were added (call when Virtqueue::NeedsInterrupt() says so).
  virtual void SignalUsedBuffers() = 0;
  // The device configuration space changed.
  virtual void SignalConfigChange() = 0;
  // The device hit an error it cannot recover from without a reset (e.g. a
  // broken() queue): sets DEVICE_NEEDS_RESET and tells the driver. `reason`
  // is kept for the VMM's diagnostics.
  virtual void SignalNeedsReset(absl::string_view reason) = 0;
};

// Everything a device needs to run, handed over at DRIVER_OK. The pointers
// stay valid until Reset() returns.
struct VirtioActivation {
  GuestMemory* memory = nullptr;
  // One per queue the device declared, indexed by queue number. A queue the
  // driver did not set up is !ready().
  std::vector<Virtqueue*> queues;
  uint64_t features = 0;  // negotiated: offered & accepted by the driver
  VirtioInterrupt* interrupt = nullptr;
  // Asks for QueueNotify(queue) to be called again once the host has served
  // its other pending work (the VMM re-signals the queue's ioeventfd). A
  // device that served its budget of requests in one QueueNotify() and left
  // the rest calls it, so that a guest that keeps its queue full cannot
  // starve the event loop the other devices share. Empty: nobody will call
  // again; the device serves everything now.
  std::function<void(uint16_t queue)> notify_again;
};

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;

  // Device type (spec 5), e.g. kVirtioIdBlock.
  virtual uint32_t device_type() const = 0;
  // Every feature bit offered, including kVirtioFVersion1 and the ring
  // features (INDIRECT_DESC, EVENT_IDX) the device's queues handle.
  virtual uint64_t device_features() const = 0;
  virtual uint16_t num_queues() const = 0;
  // QueueNumMax for queue `index` (< num_queues()): a power of two.
  virtual uint16_t queue_max_size(uint16_t index) const = 0;

  // Device configuration space access; `offset` is relative to its start.
  // Bytes beyond the device's config read as zero; writes to read-only
  // fields are ignored.
  virtual void ReadConfig(uint64_t offset, uint8_t* data, uint32_t size) = 0;
  virtual void WriteConfig(uint64_t offset, const uint8_t* data,
                           uint32_t size) = 0;

  // The driver set DRIVER_OK. An error (e.g. a required queue not ready)
  // makes the transport report DEVICE_NEEDS_RESET.
  virtual absl::Status Activate(VirtioActivation activation) = 0;
  // The driver kicked queue `index` (< num_queues()).
  virtual void QueueNotify(uint16_t index) = 0;
  // True when kicks of queue `index` are best served right on the vCPU
  // thread that wrote QueueNotify, instead of through an ioeventfd and the
  // event loop: for queues whose driver spins until the buffer comes back
  // (virtio-console transmit), where a thread hand-off per buffer costs more
  // than the work. QueueNotify must then never block.
  virtual bool NotifyInVcpu(uint16_t index) const { return false; }
  // Stop using the queues and memory (waiting for in-flight work) and return
  // to the pre-activation state. Safe to call when not active.
  virtual void Reset() = 0;
};

}  // namespace kuml

#endif  // KUML_DEVICES_VIRTIO_VIRTIO_DEVICE_H_
