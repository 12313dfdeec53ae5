// DescriptorChain: one request a driver placed on a virtqueue, already
// walked and checked by Virtqueue::Pop().
//
// A chain is two byte streams: the device-readable part (what the driver
// sends) followed by the device-writable part (where the device answers).
// Each is a list of guest RAM segments whose host addresses were validated
// when the chain was popped; devices must not assume any framing (a request
// header may share a segment with data, or be split over several), so the
// helpers below address both streams by byte offset across segment
// boundaries. The segments point into memory the guest can change at any
// time: copy what you need to decide on (headers) before you check it.
#ifndef KUML_DEVICES_VIRTIO_DESCRIPTOR_CHAIN_H_
#define KUML_DEVICES_VIRTIO_DESCRIPTOR_CHAIN_H_

#include <cstdint>

#include "absl/container/inlined_vector.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/types/span.h"

namespace kuml {

// A piece of guest RAM named by one descriptor.
struct GuestSegment {
  uint64_t gpa = 0;
  uint32_t len = 0;  // never 0: empty descriptors are dropped
  uint8_t* host = nullptr;
};

class DescriptorChain {
 public:
  using Segments = absl::InlinedVector<GuestSegment, 4>;

  // Only Virtqueue (and tests) build chains; segments must be valid RAM.
  DescriptorChain(uint16_t head, Segments readable, Segments writable);

  // Descriptor index to hand back with Virtqueue::AddUsed().
  uint16_t head() const { return head_; }
  const Segments& readable() const { return readable_; }
  const Segments& writable() const { return writable_; }
  uint64_t readable_bytes() const { return readable_bytes_; }
  uint64_t writable_bytes() const { return writable_bytes_; }

  // Copies up to dst.size() bytes of the readable stream starting `offset`
  // bytes into it; returns how many were copied (less at the end).
  uint64_t CopyFromReadable(uint64_t offset, absl::Span<uint8_t> dst) const;
  // Copies up to src.size() bytes into the writable stream starting `offset`
  // bytes into it; returns how many were copied (less at the end).
  uint64_t CopyToWritable(uint64_t offset, absl::Span<const uint8_t> src) const;

  // Calls `fn` on each host piece of [offset, offset + len) of a stream, in
  // order, stopping at the first error. OutOfRange, without calling `fn`,
  // when the range is not entirely inside the stream. For zero-copy I/O.
  absl::Status ForEachReadable(
      uint64_t offset, uint64_t len,
      absl::FunctionRef<absl::Status(absl::Span<const uint8_t>)> fn) const;
  absl::Status ForEachWritable(
      uint64_t offset, uint64_t len,
      absl::FunctionRef<absl::Status(absl::Span<uint8_t>)> fn) const;

 private:
  uint16_t head_;
  Segments readable_;
  Segments writable_;
  uint64_t readable_bytes_ = 0;
  uint64_t writable_bytes_ = 0;
};

}  // namespace kuml

#endif  // KUML_DEVICES_VIRTIO_DESCRIPTOR_CHAIN_H_
