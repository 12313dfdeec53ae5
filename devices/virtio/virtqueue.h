// Virtqueue: the device side of one split virtqueue (virtio 1.x, 2.7) living
// in guest RAM.
//
// The transport writes the queue's configuration (size, ring addresses) on
// the driver's behalf and calls Enable() when the driver sets QueueReady;
// Enable() checks it all against guest RAM once. From then on the device pops
// descriptor chains and returns them with AddUsed(). Everything read from the
// rings is guest-controlled and checked before use:
//  - avail->idx may run at most `size` entries ahead of what we consumed;
//    head and `next` indices must be inside their table;
//  - a chain may not be longer than its table (this is what stops loops);
//  - every descriptor's [addr, addr + len) must be guest RAM, and a chain's
//    total length must fit the 32-bit used length;
//  - device-readable descriptors must all come before device-writable ones;
//  - VIRTQ_DESC_F_INDIRECT (if negotiated) only on the head descriptor,
//    without F_NEXT, with a table of 1..kMaxIndirectDescriptors entries
//    (length a multiple of 16) inside RAM, and no indirect entries in it.
// Zero-length descriptors are accepted and carry nothing (their address is
// not looked at), though they still count for length and ordering rules.
//
// Malformed-chain policy:
//  - a chain that breaks a rule but has a valid head index is returned to the
//    driver at once with used length 0, counted in malformed_chains() (reason
//    in last_error()), and Pop() goes on to the next one: the guest gets its
//    descriptors back and we never touch the bad memory;
//  - when the ring itself cannot be trusted (avail->idx more than `size`
//    ahead, or a head index >= size) there is no head we could safely give
//    back: the queue turns broken(), Pop() returns nothing until the next
//    reset, and the device should report DEVICE_NEEDS_RESET.
//
// Memory ordering (the driver runs concurrently on other vCPUs): avail->idx
// is loaded with acquire before its ring entries and descriptors are read;
// used elements are written before a release store of used->idx; a full
// fence separates publishing used->idx (or avail_event) from reading the
// driver's suppression fields (or avail->idx again), the Dekker pattern both
// sides of a virtqueue rely on.
//
// Not thread-safe: the transport touches the configuration only while the
// device is not active, and the device serializes its own runtime calls.
#ifndef KUML_DEVICES_VIRTIO_VIRTQUEUE_H_
#define KUML_DEVICES_VIRTIO_VIRTQUEUE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/types/optional.h"
#include "devices/virtio/descriptor_chain.h"
#include "vmm/guest_memory.h"

namespace kuml {

class Virtqueue {
 public:
  // The largest indirect table we walk. Linux sizes its tables by the number
  // of segments of one request (virtio-blk: seg_max + 2).
  static constexpr uint32_t kMaxIndirectDescriptors = 1024;

  // `index` only names the queue in messages. `max_size` is what QueueNumMax
  // reports: a power of two in [1, 32768].
  Virtqueue(uint16_t index, uint16_t max_size);

  // ---- Configuration (transport side, only while !ready()) ----
  uint16_t index() const { return index_; }
  uint16_t max_size() const { return max_size_; }
  // Size as the driver wrote it (32 bits, the register's width); checked by
  // Enable().
  uint32_t size() const { return size_; }
  void set_size(uint32_t size) { size_ = size; }
  uint64_t desc_gpa() const { return desc_gpa_; }
  uint64_t avail_gpa() const { return avail_gpa_; }
  uint64_t used_gpa() const { return used_gpa_; }
  void set_desc_gpa(uint64_t gpa) { desc_gpa_ = gpa; }
  void set_avail_gpa(uint64_t gpa) { avail_gpa_ = gpa; }
  void set_used_gpa(uint64_t gpa) { used_gpa_ = gpa; }
  bool ready() const { return ready_; }

  // Checks size (power of two, 1..max_size) and the three areas (alignment
  // 16/2/4, entirely inside guest RAM) and, on success, makes the queue
  // ready with its indices at 0. `features` are the negotiated feature bits
  // (INDIRECT_DESC and EVENT_IDX change how the rings are used). `memory`
  // must outlive the queue's use. On failure the queue stays not ready.
  absl::Status Enable(const GuestMemory* memory, uint64_t features);
  // The driver wrote QueueReady = 0: the queue stops, its configuration
  // stays (readable back, rewritable).
  void Disable() { ready_ = false; }
  // Back to the power-on state: not ready, size = max_size, addresses 0,
  // counters cleared.
  void Reset();

  // ---- Runtime (device side) ----
  // The next well-formed available chain, or nullopt when there is none
  // (queue empty, not ready, or broken). Malformed chains met on the way are
  // completed with length 0 (see the policy above).
  absl::optional<DescriptorChain> Pop();
  // Hands chain `head` back to the driver with `len` bytes written into its
  // writable part. Heads out of range are ignored (a device bug).
  void AddUsed(uint16_t head, uint32_t len);
  // After a batch of AddUsed(): true when the driver asked to be interrupted
  // for what was added since the previous call (used_event with EVENT_IDX,
  // otherwise the absence of VIRTQ_AVAIL_F_NO_INTERRUPT).
  bool NeedsInterrupt();

  bool broken() const { return broken_; }
  uint64_t malformed_chains() const { return malformed_chains_; }
  // Why the last chain was refused or the queue broke; empty if never.
  const std::string& last_error() const { return last_error_; }

 private:
  // Walks and checks the chain starting at descriptor `head` (< size).
  absl::StatusOr<DescriptorChain> ReadChain(uint16_t head) const;
  void MarkBroken(std::string reason);

  uint16_t AvailIdxAcquire() const;
  uint16_t AvailRing(uint16_t slot) const;
  uint16_t AvailFlags() const;
  uint16_t UsedEvent() const;
  void SetAvailEvent(uint16_t value);

  const uint16_t index_;
  const uint16_t max_size_;

  uint32_t size_;
  uint64_t desc_gpa_ = 0;
  uint64_t avail_gpa_ = 0;
  uint64_t used_gpa_ = 0;
  bool ready_ = false;

  // Valid while ready_.
  const GuestMemory* memory_ = nullptr;
  uint8_t* desc_ = nullptr;   // host address of the descriptor table
  uint8_t* avail_ = nullptr;  // ... of the driver area (avail ring)
  uint8_t* used_ = nullptr;   // ... of the device area (used ring)
  bool indirect_ = false;     // VIRTIO_RING_F_INDIRECT_DESC negotiated
  bool event_idx_ = false;    // VIRTIO_RING_F_EVENT_IDX negotiated

  uint16_t next_avail_ = 0;      // avail ring index we consume next
  uint16_t next_used_ = 0;       // used->idx we publish next
  uint16_t signalled_used_ = 0;  // used->idx at the last NeedsInterrupt()
  bool broken_ = false;
  uint64_t malformed_chains_ = 0;
  std::string last_error_;
};

}  // namespace kuml

#endif  // KUML_DEVICES_VIRTIO_VIRTQUEUE_H_
