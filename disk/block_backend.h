// BlockBackend: the host side of a virtual disk.
//
// A disk device (virtio-blk) turns guest requests into calls on this
// interface; the backend decides where the bytes live (a raw file, a UML COW
// file over a backing file, ...). Offsets and lengths are in bytes; callers
// keep every access inside [0, size_bytes()), but backends check anyway.
// Accesses need not be sector aligned: a guest may split a request at any
// byte. Implementations must allow concurrent calls from several threads.
#ifndef KUML_DISK_BLOCK_BACKEND_H_
#define KUML_DISK_BLOCK_BACKEND_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace kuml {

class BlockBackend {
 public:
  static constexpr uint64_t kSectorBytes = 512;

  virtual ~BlockBackend() = default;

  // Size of the disk in bytes; a multiple of kSectorBytes.
  virtual uint64_t size_bytes() const = 0;
  virtual bool read_only() const = 0;

  // Fills `dst` with the disk bytes at [offset, offset + dst.size()).
  virtual absl::Status ReadAt(uint64_t offset, absl::Span<uint8_t> dst) = 0;
  // Stores `src` at [offset, offset + src.size()). FailedPrecondition on a
  // read-only disk.
  virtual absl::Status WriteAt(uint64_t offset,
                               absl::Span<const uint8_t> src) = 0;
  // Makes every completed write durable.
  virtual absl::Status Flush() = 0;

  // Whether Discard() does something: the disk device offers discard to the
  // guest only then (ubd flag `t` turns it off).
  virtual bool supports_discard() const { return false; }
  // Tells the backend [offset, offset + length) (whole sectors) is no longer
  // needed; what it reads afterwards is unspecified. Backends that can
  // punch holes override it.
  virtual absl::Status Discard(uint64_t offset, uint64_t length) {
    (void)offset;
    (void)length;
    return absl::UnimplementedError("discard is not supported");
  }
};

}  // namespace kuml

#endif  // KUML_DISK_BLOCK_BACKEND_H_
