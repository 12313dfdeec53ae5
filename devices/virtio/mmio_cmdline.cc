#include "devices/virtio/mmio_cmdline.h"

#include "absl/strings/str_format.h"

namespace kuml {

std::string VirtioMmioCmdline(uint64_t base, uint64_t size, uint32_t irq) {
  std::string size_text;
  if (size != 0 && size % (1ull << 20) == 0) {
    size_text = absl::StrFormat("%uM", size >> 20);
  } else if (size != 0 && size % (1ull << 10) == 0) {
    size_text = absl::StrFormat("%uK", size >> 10);
  } else {
    size_text = absl::StrFormat("%u", size);
  }
  return absl::StrFormat("virtio_mmio.device=%s@%#x:%u", size_text, base, irq);
}

}  // namespace kuml
