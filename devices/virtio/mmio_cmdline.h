// The Linux kernel command-line fragment that announces one virtio-mmio
// device to a guest built with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES:
//   virtio_mmio.device=<size>@<base>:<irq>
// Linux parses <size> with memparse() (so "4K", "1M" or a plain number) and
// <base> with "%lli" (so 0x-prefixed hex works).
#ifndef KUML_DEVICES_VIRTIO_MMIO_CMDLINE_H_
#define KUML_DEVICES_VIRTIO_MMIO_CMDLINE_H_

#include <cstdint>
#include <string>

namespace kuml {

// E.g. VirtioMmioCmdline(0xd0000000, 0x1000, 5) ==
// "virtio_mmio.device=4K@0xd0000000:5".
std::string VirtioMmioCmdline(uint64_t base, uint64_t size, uint32_t irq);

}  // namespace kuml

#endif  // KUML_DEVICES_VIRTIO_MMIO_CMDLINE_H_
