// RawFileBackend: a disk image that is a plain host file (or block device),
// byte for byte. The image's size is fixed at open time.
#ifndef KUML_DISK_RAW_FILE_BACKEND_H_
#define KUML_DISK_RAW_FILE_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "disk/block_backend.h"
#include "util/unique_fd.h"

namespace kuml {

class RawFileBackend : public BlockBackend {
 public:
  // Opens `path` read-write (read-only when `read_only`). Fails, naming the
  // path, when it cannot be opened, is neither a regular file nor a block
  // device, or its size is not a multiple of 512 bytes.
  static absl::StatusOr<std::unique_ptr<RawFileBackend>> Open(
      absl::string_view path, bool read_only);
  // The same checks on a descriptor the caller opened (and perhaps locked);
  // `path` names it. With `discard`, Discard() punches holes.
  static absl::StatusOr<std::unique_ptr<RawFileBackend>> FromFd(
      UniqueFd fd, std::string path, bool read_only, bool discard = false);

  uint64_t size_bytes() const override { return size_; }
  bool read_only() const override { return read_only_; }
  const std::string& path() const { return path_; }

  absl::Status ReadAt(uint64_t offset, absl::Span<uint8_t> dst) override;
  absl::Status WriteAt(uint64_t offset, absl::Span<const uint8_t> src) override;
  absl::Status Flush() override;
  bool supports_discard() const override { return discard_; }
  // Punches the range out of a regular file (it then reads as zeros); a
  // no-op where the host cannot.
  absl::Status Discard(uint64_t offset, uint64_t length) override;

 private:
  RawFileBackend(UniqueFd fd, std::string path, uint64_t size, bool read_only,
                 bool discard)
      : fd_(std::move(fd)),
        path_(std::move(path)),
        size_(size),
        read_only_(read_only),
        discard_(discard) {}

  // OutOfRange unless [offset, offset + length) is inside the image.
  absl::Status CheckRange(uint64_t offset, uint64_t length) const;

  UniqueFd fd_;
  std::string path_;
  uint64_t size_;
  bool read_only_;
  bool discard_;
};

}  // namespace kuml

#endif  // KUML_DISK_RAW_FILE_BACKEND_H_
