#include "tests/payload_runner.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "devices/chan/fd_channel.h"
#include "disk/raw_file_backend.h"
#include "machine/disk_factory.h"
#include "util/unique_fd.h"
#include "vmm/cpu/host_kvm.h"
#include "vmm/kvm/kvm.h"

namespace kuml {

std::string PayloadPath(const std::string& name) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  std::string root = srcdir != nullptr ? std::string(srcdir) + "/kuml" : ".";
  return absl::StrCat(root, "/tests/payloads/", name, ".bin");
}

absl::StatusOr<PayloadRun> RunPayload(const std::string& name,
                                      std::vector<PayloadDisk> disks,
                                      uint64_t mem_bytes) {
  std::vector<PluggableDevice> devices;
  for (PayloadDisk& disk : disks) {
    std::shared_ptr<BlockBackend> backend = disk.backend;
    if (backend == nullptr) {
      absl::StatusOr<std::unique_ptr<RawFileBackend>> raw =
          RawFileBackend::Open(disk.path, disk.read_only);
      if (!raw.ok()) return raw.status();
      backend = *std::move(raw);
    }
    devices.push_back(DiskDevice(std::move(backend), disk.serial));
  }
  int p[2];
  if (pipe(p) != 0) return absl::InternalError("pipe");
  UniqueFd read_end(p[0]), write_end(p[1]);
  FdChannel::Options options;
  options.out_fd = write_end.get();
  options.raw = false;
  absl::StatusOr<std::unique_ptr<FdChannel>> console =
      FdChannel::Create(options);
  if (!console.ok()) return console.status();
  PayloadRun result;
  std::thread reader([&] {
    char buf[4096];
    ssize_t n;
    while ((n = read(read_end.get(), buf, sizeof buf)) > 0) {
      result.console.append(buf, n);
    }
  });

  absl::StatusOr<Kvm> kvm = Kvm::Open();
  absl::Status status = kvm.status();
  if (kvm.ok()) {
    MachineConfig config;
    config.mem_bytes = mem_bytes;
    config.kernel_path = PayloadPath(name);  // a multiboot flat binary
    config.devices = std::move(devices);
    config.console = console->get();
    absl::StatusOr<std::unique_ptr<Machine>> machine =
        Machine::Create(*kvm, DetectKvmFlavor(), config);
    status = machine.status();
    if (machine.ok()) {
      auto start = std::chrono::steady_clock::now();
      result.stop = (*machine)->Run();
      result.seconds = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count();
      result.exits = (*machine)->total_exits();
    }
  }
  (*console)->Close();
  write_end.Reset();
  reader.join();
  if (!status.ok()) return status;
  return result;
}

}  // namespace kuml
