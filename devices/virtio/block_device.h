// VirtioBlock: a virtio-blk device (virtio 1.x spec 5.2) over a BlockBackend.
//
// One request queue of kQueueSize entries. Offered features: VERSION_1,
// SEG_MAX (kQueueSize - 2), BLK_SIZE (512), FLUSH, RO when the backend is
// read-only, DISCARD when the backend supports it, RING_INDIRECT_DESC,
// RING_EVENT_IDX. Config space: capacity in 512-byte sectors, seg_max,
// blk_size, and the discard limits; when the device is a ubd disk, kuml's
// own words past the spec's fields: the magic "UBD1" at kCfgUbdMagic and the
// ubd index at kCfgUbdIndex, from which kuml's kernel names the disk as UML
// does (/dev/ubd<a + index>, block 98:16 * index; guest/patches/0003-*).
// Other kernels never read that far.
//
// Requests: IN, OUT, FLUSH, GET_ID (the serial, at most 20 bytes, NUL
// padded when shorter) and, when offered, DISCARD (every range checked
// before any is discarded; a range with flags set gets UNSUPP); any other
// type gets VIRTIO_BLK_S_UNSUPP. A request
// whose data length is not a multiple of 512, whose sector range overflows or
// ends past the capacity, or that writes to a read-only disk gets
// VIRTIO_BLK_S_IOERR and moves no data. A chain with fewer than 16 readable
// bytes (the header) or no writable byte (the status) is returned unanswered
// with used length 0. The used length is the number of bytes written into
// the guest's buffers, status byte included. The last writable byte is the
// status; no framing is assumed otherwise (spec 2.6.4).
//
// Requests are served synchronously inside QueueNotify(), on whichever
// thread kicked the queue (vCPU or event loop). An asynchronous path
// (io_uring, a worker) can replace Serve() later without changing the
// interface.
#ifndef KUML_DEVICES_VIRTIO_BLOCK_DEVICE_H_
#define KUML_DEVICES_VIRTIO_BLOCK_DEVICE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "devices/virtio/descriptor_chain.h"
#include "devices/virtio/virtio_device.h"
#include "disk/block_backend.h"

namespace kuml {

class VirtioBlock : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr uint32_t kSegMax = kQueueSize - 2;  // + header + status
  static constexpr size_t kConfigBytes = 256;
  // kuml's ubd words (include/linux/kuml_names.h of guest/patches/0003-*).
  static constexpr size_t kCfgUbdMagic = 0xf8;
  static constexpr size_t kCfgUbdIndex = 0xfc;
  static constexpr uint32_t kUbdMagic = 0x31444255;  // "UBD1", little endian
  // Discard limits offered to the guest: ranges per request, sectors per
  // range, and the granularity (4 KiB, so holes are whole host blocks).
  static constexpr uint32_t kMaxDiscardSegments = 32;
  static constexpr uint32_t kMaxDiscardSectors = 1u << 22;
  static constexpr uint32_t kDiscardAlignmentSectors = 8;

  // What happened to requests so far (for tests and the VMM's statistics).
  struct Stats {
    uint64_t reads = 0;
    uint64_t writes = 0;
    uint64_t flushes = 0;
    uint64_t get_ids = 0;
    uint64_t discards = 0;
    uint64_t unsupported = 0;
    uint64_t io_errors = 0;  // requests answered VIRTIO_BLK_S_IOERR
    uint64_t dropped = 0;    // chains without header or status byte
  };

  // Requests served per QueueNotify() when the VMM can notify again.
  static constexpr int kRequestsPerNotify = 128;

  // `serial` is what GET_ID returns; longer than 20 bytes is cut.
  // `ubd_index`: the disk's UML ubd number, for the config space's ubd words
  // (none: the words stay zero).
  VirtioBlock(std::shared_ptr<BlockBackend> backend, std::string serial,
              std::optional<uint32_t> ubd_index = std::nullopt);

  BlockBackend* backend() const { return backend_.get(); }
  Stats stats() const;

  // VirtioDevice:
  uint32_t device_type() const override;
  uint64_t device_features() const override { return features_; }
  uint16_t num_queues() const override { return 1; }
  uint16_t queue_max_size(uint16_t index) const override { return kQueueSize; }
  void ReadConfig(uint64_t offset, uint8_t* data, uint32_t size) override;
  void WriteConfig(uint64_t offset, const uint8_t* data,
                   uint32_t size) override;
  absl::Status Activate(VirtioActivation activation) override;
  // Serves at most kRequestsPerNotify requests, then asks to be notified
  // again (VirtioActivation::notify_again) for the rest.
  void QueueNotify(uint16_t index) override;
  void Reset() override;

 private:
  // Serves one request; returns the used length.
  uint32_t Serve(const DescriptorChain& chain)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Serves a DISCARD whose ranges are the chain's data after the header.
  uint8_t ServeDiscard(const DescriptorChain& chain, uint64_t data_out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // VIRTIO_BLK_S_OK when [sector * 512, + len) is a whole-sector range
  // inside the disk, VIRTIO_BLK_S_IOERR otherwise; sets *offset.
  uint8_t CheckRange(uint64_t sector, uint64_t len, uint64_t* offset) const;

  const std::shared_ptr<BlockBackend> backend_;
  const std::string serial_;
  const uint64_t features_;
  std::array<uint8_t, kConfigBytes> config_{};

  mutable absl::Mutex mu_;
  bool active_ ABSL_GUARDED_BY(mu_) = false;
  Virtqueue* queue_ ABSL_GUARDED_BY(mu_) = nullptr;
  VirtioInterrupt* interrupt_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::function<void(uint16_t)> notify_again_ ABSL_GUARDED_BY(mu_);
  bool reported_broken_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kuml

#endif  // KUML_DEVICES_VIRTIO_BLOCK_DEVICE_H_
