#include "cli/guest_launcher.h"

#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/net_devices.h"
#include "devices/block/ubd_open.h"

namespace kuml {

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

absl::StatusOr<DiskConfig> OpenDisk(int index, const UbdSpec& ubd,
                                    const MachineSpec& spec) {
  UbdOpenOptions options;
  options.file = ubd.file;
  options.backing_file = ubd.backing_file;
  options.read_only = ubd.read_only;
  options.sync = ubd.sync || spec.ubd_sync;
  options.no_cow = ubd.no_cow;
  options.shared = ubd.shared;
  options.no_trim = ubd.no_trim;
  const bool quiet = spec.quiet;
  absl::StatusOr<std::shared_ptr<BlockBackend>> backend =
      OpenUbd(options, [quiet](const std::string& line) {
        if (!quiet) std::cerr << "kuml: " << line << "\r\n";
      });
  if (!backend.ok()) {
    const std::string name = ubd.switch_text.empty()
                                 ? absl::StrCat("ubd", index, "=", ubd.file)
                                 : ubd.switch_text;
    return absl::Status(backend.status().code(),
                        absl::StrCat(name, ": ", backend.status().message()));
  }
  DiskConfig disk;
  disk.path = ubd.file;
  disk.read_only = (*backend)->read_only();
  disk.serial = ubd.serial;
  disk.backend = *std::move(backend);
  return disk;
}

absl::StatusOr<MachineConfig> BuildMachineConfig(const MachineSpec& spec,
                                                 Channel* console) {
  MachineConfig config;
  config.mem_bytes = spec.mem_bytes;
  config.kernel_path =
      spec.kernel_path.empty() ? DefaultKernelPath() : spec.kernel_path;
  if (!spec.initrd_path.empty()) config.initrd_path = spec.initrd_path;
  for (const auto& [index, ubd] : spec.disks) {  // ubd index order
    absl::StatusOr<DiskConfig> disk = OpenDisk(index, ubd, spec);
    if (!disk.ok()) return disk.status();
    config.disks.push_back(*std::move(disk));
  }
  config.console = console;
  absl::Status net = AddNetDevices(spec, config);  // eth<n>=, vec<n>:
  if (!net.ok()) return net;
  return config;
}

}  // namespace kuml
