// Mapping: sole owner of an mmap()ed range; unmaps it when destroyed.
#ifndef KUML_UTIL_MAPPING_H_
#define KUML_UTIL_MAPPING_H_

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/status/statusor.h"
#include "util/errno_status.h"

namespace kuml {

class Mapping {
 public:
  Mapping() = default;
  Mapping(void* addr, size_t size) : addr_(addr), size_(size) {}
  ~Mapping() { Reset(); }

  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  Mapping(Mapping&& other) noexcept
      : addr_(std::exchange(other.addr_, nullptr)),
        size_(std::exchange(other.size_, 0)) {}
  Mapping& operator=(Mapping&& other) noexcept {
    if (this != &other) {
      Reset();
      addr_ = std::exchange(other.addr_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }

  // mmap() with the given arguments; the error names `what`.
  static absl::StatusOr<Mapping> Map(size_t size, int prot, int flags, int fd,
                                     off_t offset, const char* what) {
    void* addr = ::mmap(nullptr, size, prot, flags, fd, offset);
    if (addr == MAP_FAILED) return ErrnoStatus(what);
    return Mapping(addr, size);
  }

  // Private, zero-filled memory that takes host pages only when touched.
  static absl::StatusOr<Mapping> Anonymous(size_t size, const char* what) {
    return Map(size, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0, what);
  }

  uint8_t* data() const { return static_cast<uint8_t*>(addr_); }
  size_t size() const { return size_; }
  bool valid() const { return addr_ != nullptr; }

  void Reset() {
    if (addr_ != nullptr) ::munmap(addr_, size_);
    addr_ = nullptr;
    size_ = 0;
  }

 private:
  void* addr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace kuml

#endif  // KUML_UTIL_MAPPING_H_
