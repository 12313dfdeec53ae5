#include "devices/virtio/descriptor_chain.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"

namespace kuml {
namespace {

uint64_t TotalBytes(const DescriptorChain::Segments& segments) {
  uint64_t total = 0;
  for (const GuestSegment& s : segments) total += s.len;
  return total;
}

// Calls fn(host, len) for each piece of [offset, offset + len) of the stream
// made of `segments`; the caller has checked the range.
template <typename Fn>
absl::Status Walk(const DescriptorChain::Segments& segments, uint64_t offset,
                  uint64_t len, Fn fn) {
  for (const GuestSegment& s : segments) {
    if (len == 0) break;
    if (offset >= s.len) {
      offset -= s.len;
      continue;
    }
    uint64_t n = std::min<uint64_t>(s.len - offset, len);
    absl::Status status = fn(s.host + offset, n);
    if (!status.ok()) return status;
    len -= n;
    offset = 0;
  }
  return absl::OkStatus();
}

absl::Status CheckRange(uint64_t offset, uint64_t len, uint64_t total) {
  if (offset > total || len > total - offset) {
    return absl::OutOfRangeError(absl::StrFormat(
        "range [%u, +%u) is outside a %u-byte buffer", offset, len, total));
  }
  return absl::OkStatus();
}

}  // namespace

DescriptorChain::DescriptorChain(uint16_t head, Segments readable,
                                 Segments writable)
    : head_(head),
      readable_(std::move(readable)),
      writable_(std::move(writable)),
      readable_bytes_(TotalBytes(readable_)),
      writable_bytes_(TotalBytes(writable_)) {}

uint64_t DescriptorChain::CopyFromReadable(uint64_t offset,
                                           absl::Span<uint8_t> dst) const {
  if (offset >= readable_bytes_) return 0;
  uint64_t len = std::min<uint64_t>(dst.size(), readable_bytes_ - offset);
  uint8_t* out = dst.data();
  Walk(readable_, offset, len, [&out](uint8_t* host, uint64_t n) {
    std::memcpy(out, host, n);
    out += n;
    return absl::OkStatus();
  }).IgnoreError();
  return len;
}

uint64_t DescriptorChain::CopyToWritable(uint64_t offset,
                                         absl::Span<const uint8_t> src) const {
  if (offset >= writable_bytes_) return 0;
  uint64_t len = std::min<uint64_t>(src.size(), writable_bytes_ - offset);
  const uint8_t* in = src.data();
  Walk(writable_, offset, len, [&in](uint8_t* host, uint64_t n) {
    std::memcpy(host, in, n);
    in += n;
    return absl::OkStatus();
  }).IgnoreError();
  return len;
}

absl::Status DescriptorChain::ForEachReadable(
    uint64_t offset, uint64_t len,
    absl::FunctionRef<absl::Status(absl::Span<const uint8_t>)> fn) const {
  absl::Status range = CheckRange(offset, len, readable_bytes_);
  if (!range.ok()) return range;
  return Walk(readable_, offset, len, [&fn](uint8_t* host, uint64_t n) {
    return fn(absl::Span<const uint8_t>(host, n));
  });
}

absl::Status DescriptorChain::ForEachWritable(
    uint64_t offset, uint64_t len,
    absl::FunctionRef<absl::Status(absl::Span<uint8_t>)> fn) const {
  absl::Status range = CheckRange(offset, len, writable_bytes_);
  if (!range.ok()) return range;
  return Walk(writable_, offset, len, [&fn](uint8_t* host, uint64_t n) {
    return fn(absl::Span<uint8_t>(host, n));
  });
}

}  // namespace kuml
