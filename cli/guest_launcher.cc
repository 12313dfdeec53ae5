#include "cli/guest_launcher.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "devices/chan/fd_channel.h"

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

absl::StatusOr<MachineConfig> BuildMachineConfig(const MachineSpec& spec,
                                                 Channel* console) {
  MachineConfig config;
  config.mem_bytes = spec.mem_bytes;
  config.kernel_path =
      spec.kernel_path.empty() ? DefaultKernelPath() : spec.kernel_path;
  if (!spec.initrd_path.empty()) config.initrd_path = spec.initrd_path;
  for (const auto& [index, ubd] : spec.disks) {  // ubd index order
    DiskConfig disk;
    disk.path = ubd.file;
    disk.read_only = ubd.read_only;
    disk.serial = ubd.serial;
    config.disks.push_back(disk);
  }
  config.console = console;
  return config;
}

absl::StatusOr<std::unique_ptr<Channel>> OpenConsoleChannel(
    const MachineSpec& spec) {
  LineSpec con0 = EffectiveLine(spec, LineKind::kConsole, 0);
  if (con0.none) return std::unique_ptr<Channel>();
  FdChannel::Options options;
  options.raw = true;
  // CheckSupported() has refused every other channel type for con0.
  if (con0.input.type == ChannelSpec::Type::kFd) options.in_fd = con0.input.fd;
  if (con0.output.type == ChannelSpec::Type::kFd) {
    options.out_fd = con0.output.fd;
  }
  absl::StatusOr<std::unique_ptr<FdChannel>> channel =
      FdChannel::Create(options);
  if (!channel.ok()) {
    return absl::Status(
        channel.status().code(),
        absl::StrCat(
            con0.switch_text.empty() ? "con0=" + con0.config : con0.switch_text,
            ": ", channel.status().message()));
  }
  return std::unique_ptr<Channel>(std::move(*channel));
}

}  // namespace kuml
