// ImageFile: a kernel or initrd file opened for loading.
//
// Every read is bounds-checked against the file size and fails with a message
// that names the file and what was being read, so a truncated or corrupt image
// gives "<path>: truncated: ..." instead of garbage in guest RAM. Large parts
// (kernel segments, the initrd) are read straight into guest memory.
#ifndef KUML_VMM_BOOT_IMAGE_FILE_H_
#define KUML_VMM_BOOT_IMAGE_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "util/unique_fd.h"
#include "vmm/guest_memory.h"

namespace kuml {

class ImageFile {
 public:
  // Opens a regular file for reading.
  static absl::StatusOr<ImageFile> Open(const std::string& path);

  ImageFile(ImageFile&&) = default;
  ImageFile& operator=(ImageFile&&) = default;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }

  // True when [offset, offset + len) lies inside the file.
  bool Has(uint64_t offset, uint64_t len) const {
    return offset <= size_ && len <= size_ - offset;
  }

  // Reads exactly `len` bytes at `offset`. `what` names the part for the
  // error message ("ELF header", "program header 3", ...).
  absl::Status ReadAt(uint64_t offset, void* dst, uint64_t len,
                      absl::string_view what) const;

  // Copies [offset, offset + len) of the file to guest RAM at `gpa`.
  absl::Status ReadIntoGuest(GuestMemory& mem, uint64_t gpa, uint64_t offset,
                             uint64_t len, absl::string_view what) const;

 private:
  ImageFile(std::string path, UniqueFd fd, uint64_t size)
      : path_(std::move(path)), fd_(std::move(fd)), size_(size) {}

  absl::Status Truncated(uint64_t offset, uint64_t len,
                         absl::string_view what) const;

  std::string path_;
  UniqueFd fd_;
  uint64_t size_;
};

}  // namespace kuml

#endif  // KUML_VMM_BOOT_IMAGE_FILE_H_
