#include "machine/machine_builder.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "frontend/guest_cmdline.h"
#include "machine/disk_factory.h"
#include "machine/net_factory.h"

namespace kuml {
namespace {}  // namespace

std::string DefaultKernelPath() {
  if (const char* k = std::getenv("KUML_KERNEL"); k != nullptr && *k) return k;
  std::string cache;
  if (const char* c = std::getenv("KUML_CACHE"); c != nullptr && *c) {
    cache = c;
  } else {
    const char* home = std::getenv("HOME");
    cache = absl::StrCat(home != nullptr ? home : "", "/.cache/kuml");
  }
  return cache + "/guest/vmlinux";
}

absl::StatusOr<MachineConfig> BuildMachineConfig(const MachineSpec& spec,
                                                 const LineFactory& lines) {
  MachineConfig config;
  config.mem_bytes = spec.mem_bytes;
  config.num_vcpus = spec.num_vcpus;
  config.kernel_path =
      spec.kernel_path.empty() ? DefaultKernelPath() : spec.kernel_path;
  if (!spec.initrd_path.empty()) config.initrd_path = spec.initrd_path;
  config.kernel_args = GuestKernelArgs(spec);
  // With UML's names the kernel arguments carry UML's console=tty0.
  if (spec.guest_names == GuestNames::kUml) config.boot_console.clear();
  for (const auto& [index, ubd] : spec.disks) {  // ubd index order
    absl::StatusOr<PluggableDevice> disk = OpenDiskDevice(index, ubd, spec);
    if (!disk.ok()) return disk.status();
    config.devices.push_back(*std::move(disk));
  }
  absl::StatusOr<std::vector<PluggableDevice>> nets =
      OpenBootNetDevices(spec);  // eth<n>=, vec<n>:
  if (!nets.ok()) return nets.status();
  for (PluggableDevice& net : *nets) config.devices.push_back(std::move(net));
  if (std::optional<PluggableDevice> console = lines.ConsoleDevice()) {
    config.devices.push_back(*std::move(console));
  }
  config.console = lines.console0();
  // Empty slots for mconsole's `config <dev>=`: every free one unless the
  // user says (the machine stops at VirtioMmioSlots::kMaxSlots).
  config.spare_virtio_slots =
      spec.hotplug_slots.value_or(VirtioMmioSlots::kMaxSlots);
  return config;
}

}  // namespace kuml
