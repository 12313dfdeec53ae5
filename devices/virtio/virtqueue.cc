#include "devices/virtio/virtqueue.h"

#include <atomic>
#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"
#include "devices/virtio/virtio_spec.h"

namespace kuml {
namespace {

// Field offsets inside the rings (spec 2.7.6, 2.7.8).
constexpr uint64_t kRingFlags = 0;
constexpr uint64_t kRingIdx = 2;
constexpr uint64_t kRingEntries = 4;

// Ring fields are shared with the driver on other CPUs: access them with
// single atomic loads/stores so that no access tears or gets duplicated.
// Every pointer here is naturally aligned (Enable() checks ring alignment and
// the mapping is page aligned).
uint16_t Load16(const uint8_t* p, int order) {
  return __atomic_load_n(reinterpret_cast<const uint16_t*>(p), order);
}
void Store16(uint8_t* p, uint16_t v, int order) {
  __atomic_store_n(reinterpret_cast<uint16_t*>(p), v, order);
}

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

Virtqueue::Virtqueue(uint16_t index, uint16_t max_size)
    : index_(index), max_size_(max_size), size_(max_size) {}

void Virtqueue::Reset() {
  size_ = max_size_;
  desc_gpa_ = avail_gpa_ = used_gpa_ = 0;
  ready_ = false;
  memory_ = nullptr;
  desc_ = avail_ = used_ = nullptr;
  indirect_ = event_idx_ = false;
  next_avail_ = next_used_ = signalled_used_ = 0;
  broken_ = false;
  malformed_chains_ = 0;
  last_error_.clear();
}

absl::Status Virtqueue::Enable(const GuestMemory* memory, uint64_t features) {
  ready_ = false;
  if (!IsPowerOfTwo(size_) || size_ > max_size_) {
    return absl::InvalidArgumentError(
        absl::StrFormat("queue %u: size %u is not a power of two in [1, %u]",
                        index_, size_, max_size_));
  }
  struct Area {
    const char* name;
    uint64_t gpa;
    uint64_t bytes;
    uint64_t align;
    uint8_t** host;
  } areas[] = {
      {"descriptor table", desc_gpa_, VirtqDescTableBytes(size_),
       kVirtqDescTableAlign, &desc_},
      {"available ring", avail_gpa_, VirtqAvailRingBytes(size_),
       kVirtqAvailRingAlign, &avail_},
      {"used ring", used_gpa_, VirtqUsedRingBytes(size_), kVirtqUsedRingAlign,
       &used_},
  };
  for (const Area& a : areas) {
    if (a.gpa % a.align != 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("queue %u: %s at %#x is not %u-byte aligned", index_,
                          a.name, a.gpa, a.align));
    }
    absl::StatusOr<uint8_t*> host = memory->Translate(a.gpa, a.bytes);
    if (!host.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("queue %u: %s [%#x, +%#x) is not guest RAM", index_,
                          a.name, a.gpa, a.bytes));
    }
    *a.host = *host;
  }
  memory_ = memory;
  indirect_ = (features & kVirtioFRingIndirectDesc) != 0;
  event_idx_ = (features & kVirtioFRingEventIdx) != 0;
  next_avail_ = next_used_ = signalled_used_ = 0;
  broken_ = false;
  ready_ = true;
  return absl::OkStatus();
}

uint16_t Virtqueue::AvailIdxAcquire() const {
  return Load16(avail_ + kRingIdx, __ATOMIC_ACQUIRE);
}
uint16_t Virtqueue::AvailRing(uint16_t slot) const {
  return Load16(avail_ + kRingEntries + 2 * uint64_t{slot}, __ATOMIC_RELAXED);
}
uint16_t Virtqueue::AvailFlags() const {
  return Load16(avail_ + kRingFlags, __ATOMIC_RELAXED);
}
uint16_t Virtqueue::UsedEvent() const {
  // used_event sits right after the avail ring's entries.
  return Load16(avail_ + kRingEntries + 2 * uint64_t{size_}, __ATOMIC_RELAXED);
}
void Virtqueue::SetAvailEvent(uint16_t value) {
  // avail_event sits right after the used ring's entries.
  Store16(used_ + kRingEntries + 8 * uint64_t{size_}, value, __ATOMIC_RELAXED);
}

void Virtqueue::MarkBroken(std::string reason) {
  broken_ = true;
  last_error_ = std::move(reason);
}

absl::optional<DescriptorChain> Virtqueue::Pop() {
  if (!ready_ || broken_) return absl::nullopt;
  for (;;) {
    uint16_t avail_idx = AvailIdxAcquire();
    uint16_t pending = static_cast<uint16_t>(avail_idx - next_avail_);
    if (pending == 0 && event_idx_) {
      // Ask for a notification when the next chain arrives, then look again:
      // the driver may have added one before it could see avail_event.
      SetAvailEvent(next_avail_);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      avail_idx = AvailIdxAcquire();
      pending = static_cast<uint16_t>(avail_idx - next_avail_);
    }
    if (pending == 0) return absl::nullopt;
    if (pending > size_) {
      MarkBroken(absl::StrFormat(
          "queue %u: avail idx %u is %u entries ahead of %u (size %u)", index_,
          avail_idx, pending, next_avail_, size_));
      return absl::nullopt;
    }
    uint16_t head = AvailRing(next_avail_ % size_);
    if (head >= size_) {
      MarkBroken(absl::StrFormat(
          "queue %u: avail ring slot %u names descriptor %u (size %u)", index_,
          next_avail_ % size_, head, size_));
      return absl::nullopt;
    }
    ++next_avail_;
    absl::StatusOr<DescriptorChain> chain = ReadChain(head);
    if (chain.ok()) return std::move(*chain);
    ++malformed_chains_;
    last_error_ = absl::StrFormat("queue %u: chain at head %u refused: %s",
                                  index_, head, chain.status().message());
    AddUsed(head, 0);
  }
}

absl::StatusOr<DescriptorChain> Virtqueue::ReadChain(uint16_t head) const {
  DescriptorChain::Segments readable, writable;
  uint64_t total = 0;
  const uint8_t* table = desc_;
  uint32_t table_size = size_;
  bool in_indirect = false;
  bool seen_writable = false;  // even an empty one ends the readable part
  uint32_t count = 0;          // descriptors walked in the current table
  uint16_t i = head;
  for (;;) {
    if (++count > table_size) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "chain longer than its %u-entry table (a loop?)", table_size));
    }
    VirtqDesc d;
    std::memcpy(&d, table + 16 * uint64_t{i}, sizeof d);

    if (d.flags & kVirtqDescFIndirect) {
      if (!indirect_) {
        return absl::InvalidArgumentError(
            "indirect descriptor but INDIRECT_DESC not negotiated");
      }
      if (in_indirect) {
        return absl::InvalidArgumentError("nested indirect descriptor");
      }
      if (count != 1) {
        return absl::InvalidArgumentError(
            "indirect descriptor is not the chain's head");
      }
      if (d.flags & kVirtqDescFNext) {
        return absl::InvalidArgumentError(
            "indirect descriptor with VIRTQ_DESC_F_NEXT");
      }
      if (d.len == 0 || d.len % sizeof(VirtqDesc) != 0 ||
          d.len / sizeof(VirtqDesc) > kMaxIndirectDescriptors) {
        return absl::InvalidArgumentError(
            absl::StrFormat("indirect table length %u is not 16 * [1, %u]",
                            d.len, kMaxIndirectDescriptors));
      }
      absl::StatusOr<uint8_t*> t = memory_->Translate(d.addr, d.len);
      if (!t.ok()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "indirect table [%#x, +%#x) is not guest RAM", d.addr, d.len));
      }
      // The F_WRITE bit of the indirect descriptor itself means nothing.
      table = *t;
      table_size = d.len / sizeof(VirtqDesc);
      in_indirect = true;
      count = 0;
      i = 0;
      continue;
    }

    bool device_writes = (d.flags & kVirtqDescFWrite) != 0;
    if (!device_writes && seen_writable) {
      return absl::InvalidArgumentError(
          "device-readable descriptor after a device-writable one");
    }
    seen_writable |= device_writes;
    if (d.len != 0) {
      absl::StatusOr<uint8_t*> host = memory_->Translate(d.addr, d.len);
      if (!host.ok()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "descriptor %u [%#x, +%#x) is not guest RAM", i, d.addr, d.len));
      }
      total += d.len;
      if (total > UINT32_MAX) {
        return absl::InvalidArgumentError("chain is longer than 4 GiB");
      }
      (device_writes ? writable : readable).push_back({d.addr, d.len, *host});
    }

    if (!(d.flags & kVirtqDescFNext)) break;
    if (d.next >= table_size) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "next index %u is outside the %u-entry table", d.next, table_size));
    }
    i = d.next;
  }
  return DescriptorChain(head, std::move(readable), std::move(writable));
}

void Virtqueue::AddUsed(uint16_t head, uint32_t len) {
  if (!ready_ || head >= size_) return;
  VirtqUsedElem elem{head, len};
  std::memcpy(used_ + kRingEntries + 8 * uint64_t{next_used_ % size_}, &elem,
              sizeof elem);
  ++next_used_;
  // The element must be visible before the index that publishes it.
  Store16(used_ + kRingIdx, next_used_, __ATOMIC_RELEASE);
}

bool Virtqueue::NeedsInterrupt() {
  if (!ready_) return false;
  // Our used->idx store must be globally visible before we read what the
  // driver wants, or we could miss its request for an interrupt.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  uint16_t old_used = signalled_used_;
  uint16_t new_used = next_used_;
  signalled_used_ = new_used;
  if (new_used == old_used) return false;
  if (event_idx_) {
    // vring_need_event(): did used->idx just step past used_event?
    uint16_t event = UsedEvent();
    return static_cast<uint16_t>(new_used - event - 1) <
           static_cast<uint16_t>(new_used - old_used);
  }
  return (AvailFlags() & kVirtqAvailFNoInterrupt) == 0;
}

}  // namespace kuml
