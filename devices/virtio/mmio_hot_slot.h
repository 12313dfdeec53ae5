// MmioHotSlot: a virtio-mmio window whose device can come and go while the
// guest runs (mconsole `config ubd<n>=` / `remove ubd<n>`).
//
// Empty, it answers as a virtio-mmio transport without a device: MagicValue
// "virt", Version 2, DeviceID 0, VendorID kuml's; every other register reads
// as zero and writes are ignored. Linux's virtio_mmio_probe() leaves such a
// slot unbound (-ENODEV: "a (dummy) placeholder with no function") but keeps
// its platform device virtio-mmio.<n>, so once a transport is put in, a
// write of "virtio-mmio.<n>" to /sys/bus/platform/drivers/virtio-mmio/bind
// probes it again and the guest finds the new device.
//
// Threads: accesses arrive on vCPU threads; Set() may be called from any
// other thread. Once Set() returns, no access reaches the transport it
// replaced (an access in progress has finished), so the caller may destroy
// it.
#ifndef KUML_DEVICES_VIRTIO_MMIO_HOT_SLOT_H_
#define KUML_DEVICES_VIRTIO_MMIO_HOT_SLOT_H_

#include "absl/synchronization/mutex.h"
#include "devices/virtio/mmio_transport.h"
#include "vmm/bus_device.h"

namespace kuml {

class MmioHotSlot : public BusDevice {
 public:
  void Read(uint64_t offset, uint8_t* data, uint32_t size) override;
  void Write(uint64_t offset, const uint8_t* data, uint32_t size) override;

  // `transport` (not owned; null: empty) serves the window from now on.
  void Set(MmioTransport* transport);
  bool empty() const;

 private:
  mutable absl::Mutex mu_;
  MmioTransport* transport_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace kuml

#endif  // KUML_DEVICES_VIRTIO_MMIO_HOT_SLOT_H_
