// The factory of UML's disks: ubd<n>= (at boot) and mconsole's
// `config ubd<n>=` (hot-plug) both come here. The only place kuml builds a
// virtio-blk.
//
// The host side is opened once for the whole kuml process (disk/ubd_open.h:
// host locks, COW files created or followed, UML's notices), so the locks
// and the COW bitmap outlive the guest's reboots; each boot gets a new
// virtio-blk over the same backend. Each disk carries its ubd index in its
// config space, so kuml's kernel names it as UML does (/dev/ubda for ubd0,
// /dev/ubdd for ubd3, block 98:16n); another kernel sees the disks in slot
// order: the boot disks in ubd index order are /dev/vda, /dev/vdb, ...
#ifndef KUML_MACHINE_DISK_FACTORY_H_
#define KUML_MACHINE_DISK_FACTORY_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "frontend/machine_spec.h"
#include "machine/pluggable_device.h"

namespace kuml {

// Opens ubd<index> as `ubd` says, printing UML's notices ("Creating ... as
// COW file for ...") unless `spec.quiet`; `spec.ubd_sync` (ubd=sync) makes
// it synchronous as flag s does. The device's virtio-blk serial is
// `ubd.serial` (none when empty). Errors start with the switch.
absl::StatusOr<PluggableDevice> OpenDiskDevice(int index, const UbdSpec& ubd,
                                               const MachineSpec& spec);

// A virtio-blk device over an open backend, ubd<ubd_index> when given
// (tests and benchmarks that open their own disks use this too).
PluggableDevice DiskDevice(std::shared_ptr<BlockBackend> backend,
                           std::string serial,
                           std::optional<uint32_t> ubd_index = std::nullopt);

}  // namespace kuml

#endif  // KUML_MACHINE_DISK_FACTORY_H_
