// PluggableDevice: one virtio device as the machine takes it, from the
// factory of its UML device kind (disk_devices.h, net_devices.h,
// line_devices.h). The boot path (MachineConfig::devices) and mconsole's
// `config <dev>=` (Machine::PlugVirtio) take the same struct, so a device is
// built in exactly one place whichever way it arrives.
#ifndef KUML_MACHINE_PLUGGABLE_DEVICE_H_
#define KUML_MACHINE_PLUGGABLE_DEVICE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "devices/virtio/virtio_device.h"
#include "disk/block_backend.h"
#include "vmm/event_loop.h"
#include "vmm/guest_memory.h"

namespace kuml {

// What a virtio device gets from the machine it is plugged into.
struct VirtioDeviceContext {
  EventLoop* loop = nullptr;  // host fds of the device's backend
  GuestMemory* memory = nullptr;
};

// Makes one virtio device for one Machine: a reboot makes a new one over the
// same host side (a tap, a line's channel, a disk's backend), which the
// factory holds. Called on the thread that builds the Machine at boot, on
// the machine's event loop thread for hot-plug.
using VirtioDeviceFactory =
    std::function<absl::StatusOr<std::unique_ptr<VirtioDevice>>(
        const VirtioDeviceContext&)>;

struct PluggableDevice {
  // The UML device it is ("ubd0", "eth1", "vec0"; "lines" for the console
  // device of every line): how mconsole finds a boot device's slot.
  std::string name;
  VirtioDeviceFactory make;
  // A disk's backend: flushed when the machine pauses and when the device
  // is unplugged. Null for other kinds.
  std::shared_ptr<BlockBackend> disk;
  // The switch's text after '=' (after ':' for vec<n>): what mconsole
  // `config <dev>` answers for a device added at run time.
  std::string config;
  // A console line (con<n>): the guest gives its port an hvc tty, which the
  // guest agent names on bind and checks on unbind.
  bool console_tty = false;
};

}  // namespace kuml

#endif  // KUML_MACHINE_PLUGGABLE_DEVICE_H_
