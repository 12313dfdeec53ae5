#include "machine/disk_factory.h"

#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "devices/virtio/block_device.h"
#include "disk/ubd_open.h"

namespace kuml {

PluggableDevice DiskDevice(std::shared_ptr<BlockBackend> backend,
                           std::string serial,
                           std::optional<uint32_t> ubd_index) {
  PluggableDevice device;
  device.disk = backend;
  device.make = [backend = std::move(backend), serial = std::move(serial),
                 ubd_index](const VirtioDeviceContext&)
      -> absl::StatusOr<std::unique_ptr<VirtioDevice>> {
    return std::unique_ptr<VirtioDevice>(
        new VirtioBlock(backend, serial, ubd_index));
  };
  return device;
}

absl::StatusOr<PluggableDevice> OpenDiskDevice(int index, const UbdSpec& ubd,
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
  PluggableDevice device =
      DiskDevice(*std::move(backend), ubd.serial, static_cast<uint32_t>(index));
  device.name = absl::StrCat("ubd", index);
  device.config = ubd.backing_file.empty()
                      ? ubd.file
                      : absl::StrCat(ubd.file, ",", ubd.backing_file);
  return device;
}

}  // namespace kuml
