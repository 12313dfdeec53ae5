#include "mconsole/machine_control.h"

#include <sys/stat.h>

#include <cerrno>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "devices/virtio/block_device.h"
#include "frontend/line_switch.h"
#include "frontend/parse_util.h"
#include "frontend/ubd_switch.h"

namespace kuml::mconsole {
namespace {

constexpr absl::string_view kBetweenBoots =
    "The guest is between boots; try again in a moment";

// ubd's parse_unit(): base-0 digits, or one letter a..z; -1 if neither.
int ParseUbdUnit(absl::string_view text) {
  NumberPrefix n = ParseNumberPrefix(text, 0);
  if (n.length > 0) {
    return n.overflow || n.value > 1000000 ? 1000000
                                           : static_cast<int>(n.value);
  }
  if (!text.empty() && text[0] >= 'a' && text[0] <= 'z') return text[0] - 'a';
  return -1;
}

// Collects console output for sysrq; the tap runs on vCPU threads.
struct Capture {
  absl::Mutex mu;
  std::string text ABSL_GUARDED_BY(mu);
  absl::Time last ABSL_GUARDED_BY(mu) = absl::InfinitePast();
};

}  // namespace

std::string CleanConsoleText(absl::string_view raw) {
  std::string out;
  bool line_start = true;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\r') continue;
    if (line_start && c == '[') {
      size_t close = raw.find("] ", i);
      if (close != absl::string_view::npos && close - i <= 16) {
        absl::string_view stamp = raw.substr(i + 1, close - i - 1);
        bool is_time = !stamp.empty();
        for (char d : stamp) {
          if (!(absl::ascii_isdigit(d) || d == '.' || d == ' '))
            is_time = false;
        }
        if (is_time) {
          i = close + 1;
          line_start = false;
          continue;
        }
      }
    }
    out.push_back(c);
    line_start = c == '\n';
  }
  return out;
}

MachineControl::MachineControl(MachineControlOptions options)
    : options_(std::move(options)) {}

void MachineControl::Attach(Machine* machine) {
  absl::MutexLock lock(&mu_);
  machine_ = machine;
  ++boot_;
}

void MachineControl::Detach() {
  absl::MutexLock lock(&mu_);
  machine_ = nullptr;
  // Hot-plugged devices go with the machine (it holds them).
  hot_.clear();
}

bool MachineControl::halt_requested() {
  absl::MutexLock lock(&mu_);
  return halt_requested_;
}

KernelVersion MachineControl::Version() { return options_.version; }

void MachineControl::Halt() {
  absl::MutexLock lock(&mu_);
  halt_requested_ = true;
  if (machine_ != nullptr) {
    machine_->RequestStop(StopReason::kHalt, "mconsole halt");
  }
}

void MachineControl::Reboot() {
  absl::MutexLock lock(&mu_);
  if (machine_ != nullptr) {
    machine_->RequestStop(StopReason::kReset, "mconsole reboot");
  }
}

absl::Status MachineControl::Stop() {
  absl::MutexLock lock(&mu_);
  if (machine_ == nullptr) return absl::UnavailableError(kBetweenBoots);
  return machine_->Pause();
}

absl::Status MachineControl::Go() {
  absl::MutexLock lock(&mu_);
  if (machine_ == nullptr) return absl::FailedPreconditionError("not stopped");
  return machine_->Resume();
}

Reply MachineControl::ConfigQuery(DeviceKind kind, absl::string_view unit) {
  const MachineSpec& spec = options_.spec;
  switch (kind) {
    case DeviceKind::kUbd: {
      int n = ParseUbdUnit(unit);
      if (n < 0 || n >= kMaxUbdDevices) {
        return Reply::Error(absl::StatusCode::kOutOfRange,
                            "ubd_get_config: device number out of range");
      }
      UbdSpec disk;
      auto it = spec.disks.find(n);
      if (it != spec.disks.end()) {
        disk = it->second;
      } else {
        return Reply::Ok(HotConfig({kind, n}).value_or(""));
      }
      std::string file = disk.file.empty() ? kDefaultRootFs : disk.file;
      if (!disk.backing_file.empty()) {
        return Reply::Ok(absl::StrCat(file, ",", disk.backing_file));
      }
      return Reply::Ok(file);
    }
    case DeviceKind::kCon:
    case DeviceKind::kSsl: {
      LineKind line_kind =
          kind == DeviceKind::kCon ? LineKind::kConsole : LineKind::kSerial;
      NumberPrefix n = ParseNumberPrefix(unit, 0);
      if (n.length == 0 || n.length != unit.size()) {
        return Reply::Error(absl::StatusCode::kInvalidArgument,
                            "line_get_config failed to parse device number");
      }
      if (n.overflow ||
          n.value >= static_cast<uint64_t>(LineCount(line_kind))) {
        return Reply::Error(absl::StatusCode::kOutOfRange,
                            "line_get_config: device number out of range");
      }
      LineSpec line = EffectiveLine(spec, line_kind, static_cast<int>(n.value));
      if (line.none) {
        std::optional<std::string> hot =
            HotConfig({kind, static_cast<int>(n.value)});
        if (hot.has_value()) return Reply::Ok(*hot);
      }
      return Reply::Ok(line.none && line.config.empty() ? "none" : line.config);
    }
    case DeviceKind::kEth:
    case DeviceKind::kVec:
      // UML's network drivers register no get_config routine.
      return Reply::Error(absl::StatusCode::kUnimplemented,
                          "No get_config routine defined");
    case DeviceKind::kMem:
      // UML prints uml_physmem (a start address) here; the size is what a
      // user means.
      return Reply::Ok(absl::StrCat(spec.mem_bytes));
  }
  return Reply::Error(absl::StatusCode::kInternal, "unknown device");
}

Reply MachineControl::ConfigAdd(DeviceKind kind,
                                absl::string_view device_switch) {
  const MachineSpec& spec = options_.spec;
  switch (kind) {
    case DeviceKind::kUbd: {
      absl::StatusOr<UbdSwitch> ubd = ParseUbdSwitch(device_switch);
      if (!ubd.ok()) {
        // The parser's message starts with the switch; UML's has none.
        std::string text(ubd.status().message());
        absl::string_view t = text;
        if (absl::ConsumePrefix(&t, absl::StrCat(device_switch, ": "))) {
          text = std::string(t);
        }
        return Reply::Errno(EINVAL, absl::StatusCode::kInvalidArgument, text);
      }
      if (ubd->kind != UbdSwitch::Kind::kDevice) {
        return Reply::Errno(EINVAL, absl::StatusCode::kInvalidArgument,
                            "ubd=sync can only be given at boot");
      }
      absl::MutexLock hotplug(&hotplug_mu_);
      if (spec.disks.count(ubd->index) != 0 ||
          HotConfig({kind, ubd->index}).has_value()) {
        return Reply::Errno(EBUSY, absl::StatusCode::kAlreadyExists,
                            "Device is already configured");
      }
      struct stat st;
      if (ubd->spec.file.empty() || ::stat(ubd->spec.file.c_str(), &st) != 0) {
        return Reply::Errno(ENOENT, absl::StatusCode::kNotFound,
                            "Couldn't determine size of device's file");
      }
      if (!options_.open_disk) {
        return Reply::Error(absl::StatusCode::kUnimplemented,
                            "kuml cannot add disks to this guest");
      }
      const int index = ubd->index;
      const UbdSpec disk_spec = ubd->spec;
      return HotAdd({kind, index}, [&]() -> absl::StatusOr<HotPlugDevice> {
        absl::StatusOr<DiskConfig> disk = options_.open_disk(index, disk_spec);
        if (!disk.ok()) return disk.status();
        // The guest can tell its hot-plugged disks by their serial
        // (/sys/block/vdX/serial), since Linux names them by probe order.
        std::string serial =
            disk->serial.empty() ? absl::StrCat("ubd", index) : disk->serial;
        HotPlugDevice device;
        device.backend = disk->backend;
        device.factory = [backend = disk->backend,
                          serial](const VirtioDeviceContext&)
            -> absl::StatusOr<std::unique_ptr<VirtioDevice>> {
          return std::unique_ptr<VirtioDevice>(
              new VirtioBlock(backend, serial));
        };
        device.config =
            disk_spec.backing_file.empty()
                ? disk_spec.file
                : absl::StrCat(disk_spec.file, ",", disk_spec.backing_file);
        return device;
      });
    }
    case DeviceKind::kCon:
    case DeviceKind::kSsl:
      return ConfigAddLine(kind, device_switch);
    case DeviceKind::kEth:
    case DeviceKind::kVec:
      return ConfigAddNet(kind, device_switch);
    case DeviceKind::kMem:
      return Reply::Error(absl::StatusCode::kUnimplemented,
                          "kuml cannot change the guest's memory at run time");
  }
  return Reply::Error(absl::StatusCode::kInternal, "unknown device");
}

Reply MachineControl::Remove(DeviceKind kind, int n) {
  const MachineSpec& spec = options_.spec;
  switch (kind) {
    case DeviceKind::kUbd:
      if (spec.disks.count(n) == 0) return HotRemove({kind, n});
      // A boot disk is announced on the kernel command line and bound for
      // the guest's whole life: treat it as open.
      return Reply::Errno(EBUSY, absl::StatusCode::kFailedPrecondition,
                          "Device is currently open");
    case DeviceKind::kCon:
    case DeviceKind::kSsl: {
      LineKind line_kind =
          kind == DeviceKind::kCon ? LineKind::kConsole : LineKind::kSerial;
      if (EffectiveLine(spec, line_kind, n).none) return HotRemove({kind, n});
      return Reply::Errno(EBUSY, absl::StatusCode::kFailedPrecondition,
                          "Device is currently open");
    }
    case DeviceKind::kEth:
      if (spec.eth.count(n) == 0) return HotRemove({kind, n});
      return Reply::Errno(EBUSY, absl::StatusCode::kFailedPrecondition,
                          "Device is currently open");
    case DeviceKind::kVec:
      if (spec.vec.count(n) == 0) return HotRemove({kind, n});
      return Reply::Errno(EBUSY, absl::StatusCode::kFailedPrecondition,
                          "Device is currently open");
    case DeviceKind::kMem:
      return Reply::Errno(EBUSY, absl::StatusCode::kFailedPrecondition,
                          "kuml cannot change the guest's memory at run time");
  }
  return Reply::Error(absl::StatusCode::kInternal, "unknown device");
}

absl::StatusOr<std::string> MachineControl::Sysrq(char key) {
  absl::MutexLock sysrq_lock(&sysrq_mu_);
  absl::MutexLock lock(&mu_);
  if (machine_ == nullptr) return absl::UnavailableError(kBetweenBoots);
  if (machine_->paused()) {
    return absl::FailedPreconditionError(
        "The guest is stopped: its kernel cannot take a SysRq key until 'go'");
  }
  auto capture = std::make_shared<Capture>();
  machine_->SetConsoleTap([capture](absl::Span<const uint8_t> bytes) {
    absl::MutexLock l(&capture->mu);
    capture->text.append(bytes.begin(), bytes.end());
    capture->last = absl::Now();
  });
  const absl::Time start = absl::Now();
  // handle_sysrq() takes any byte; NUL (no letter) gets the help line, but
  // a NUL after a break would read as a second break, so send a space.
  uint8_t byte = key == '\0' ? ' ' : static_cast<uint8_t>(key);
  absl::Status sent = machine_->SendConsoleBreak(byte);
  while (absl::IsUnavailable(sent) && absl::Now() - start < absl::Seconds(1)) {
    absl::SleepFor(absl::Milliseconds(5));  // the guest is draining its FIFO
    sent = machine_->SendConsoleBreak(byte);
  }
  if (!sent.ok()) {
    machine_->SetConsoleTap(nullptr);
    return sent;
  }
  for (;;) {
    absl::SleepFor(absl::Milliseconds(20));
    absl::Time now = absl::Now();
    absl::MutexLock l(&capture->mu);
    bool quiet = capture->last != absl::InfinitePast() &&
                 now - capture->last >= options_.sysrq_quiet;
    if (quiet || now - start >= options_.sysrq_limit ||
        machine_->stop_requested()) {
      break;
    }
  }
  machine_->SetConsoleTap(nullptr);
  absl::MutexLock l(&capture->mu);
  return CleanConsoleText(capture->text);
}

Reply MachineControl::ConfigAddLine(DeviceKind kind,
                                    absl::string_view device_switch) {
  absl::StatusOr<LineSwitch> line = ParseLineSwitch(device_switch);
  if (!line.ok()) {
    return Reply::Errno(EINVAL, absl::StatusCode::kInvalidArgument,
                        std::string(line.status().message()));
  }
  if (line->is_default) {
    return Reply::Errno(EINVAL, absl::StatusCode::kInvalidArgument,
                        "line_config failed to parse device number");
  }
  absl::MutexLock hotplug(&hotplug_mu_);
  LineSpec now = EffectiveLine(options_.spec, line->kind, line->index);
  if (!now.none || HotConfig({kind, line->index}).has_value()) {
    return Reply::Errno(EINVAL, absl::StatusCode::kFailedPrecondition,
                        "Device is already open");
  }
  if (line->spec.none) return Reply::Ok();  // nothing to attach
  if (line->kind == LineKind::kConsole && line->index == 0) {
    // con0 is the 8250 UART, built with the machine.
    return Reply::Error(absl::StatusCode::kUnimplemented,
                        "kuml cannot attach con0 to a running guest (it is "
                        "the serial UART, set up at boot)");
  }
  if (!options_.open_line) {
    return Reply::Error(absl::StatusCode::kUnimplemented,
                        "kuml cannot attach lines to this guest");
  }
  const LineKind line_kind = line->kind;
  const int index = line->index;
  const LineSpec spec = line->spec;
  return HotAdd({kind, index},
                [&]() { return options_.open_line(line_kind, index, spec); });
}

Reply MachineControl::ConfigAddNet(DeviceKind kind,
                                   absl::string_view device_switch) {
  if (!options_.open_net) {
    return Reply::Error(absl::StatusCode::kUnimplemented,
                        "kuml cannot add network devices to this guest");
  }
  // Parsed here, as ubd and line switches are, so that a malformed switch or
  // a configured device is refused before anything is opened.
  NetDeviceSpec net;
  int index;
  if (kind == DeviceKind::kEth) {
    absl::StatusOr<EthSwitch> eth = ParseEthSwitch(device_switch);
    if (!eth.ok()) {
      return Reply::Errno(EINVAL, eth.status().code(),
                          std::string(eth.status().message()));
    }
    index = eth->spec.index;
    net = std::move(eth->spec);
  } else {
    absl::StatusOr<VecSpec> vec = ParseVecSwitch(device_switch);
    if (!vec.ok()) {
      return Reply::Errno(EINVAL, vec.status().code(),
                          std::string(vec.status().message()));
    }
    index = vec->index;
    net = *std::move(vec);
  }
  absl::MutexLock hotplug(&hotplug_mu_);
  const bool at_boot = kind == DeviceKind::kEth
                           ? options_.spec.eth.count(index) != 0
                           : options_.spec.vec.count(index) != 0;
  if (at_boot || HotConfig({kind, index}).has_value()) {
    return Reply::Errno(EBUSY, absl::StatusCode::kAlreadyExists,
                        "Device is already configured");
  }
  return HotAdd({kind, index}, [&]() { return options_.open_net(net); });
}

std::optional<std::string> MachineControl::HotConfig(HotKey key) {
  absl::MutexLock lock(&mu_);
  auto it = hot_.find(key);
  if (it == hot_.end()) return std::nullopt;
  return it->second.config;
}

Reply MachineControl::HotAdd(
    HotKey key, const std::function<absl::StatusOr<HotPlugDevice>()>& open) {
  // The agent first: without one nothing is opened (or created: a COW file,
  // a tap).
  absl::StatusOr<std::string> ping = CallAgent("config", "ping");
  if (!ping.ok()) {
    return Reply::Error(ping.status().code(),
                        std::string(ping.status().message()));
  }
  absl::StatusOr<HotPlugDevice> device = open();
  if (!device.ok()) {
    const absl::Status& e = device.status();
    int err = absl::IsNotFound(e)           ? ENOENT
              : absl::IsPermissionDenied(e) ? EACCES
              : absl::IsInvalidArgument(e)  ? EINVAL
                                            : EIO;
    return Reply::Errno(err, e.code(), std::string(e.message()));
  }
  uint64_t boot;
  absl::StatusOr<uint32_t> slot;
  {
    absl::MutexLock lock(&mu_);
    if (machine_ == nullptr)
      return Reply::Error(absl::StatusCode::kUnavailable,
                          std::string(kBetweenBoots));
    boot = boot_;
    slot = machine_->PlugVirtio(std::move(device->factory), device->backend);
  }
  if (!slot.ok()) {
    return Reply::Errno(absl::IsResourceExhausted(slot.status()) ? ENOSPC : EIO,
                        slot.status().code(),
                        std::string(slot.status().message()));
  }
  // For a console line the agent also names the hvc tty the port got.
  std::string request = absl::StrCat("bind virtio-mmio.", *slot);
  if (device->console_tty) request += " hvc";
  absl::StatusOr<std::string> bound =
      CallAgent("config", request, options_.hotplug_limit);
  absl::MutexLock lock(&mu_);
  if (boot_ != boot || machine_ == nullptr) {
    return Reply::Error(absl::StatusCode::kAborted,
                        "The guest rebooted while the device was being added");
  }
  if (!bound.ok()) {
    // Whatever the guest did, the device is not ours to keep.
    (void)machine_->UnplugVirtio(*slot);
    return Reply::Error(bound.status().code(),
                        absl::StrCat("The guest did not take the device: ",
                                     bound.status().message()));
  }
  hot_[key] = HotDevice{device->config, *slot,
                        device->console_tty ? *bound : std::string()};
  return Reply::Ok();
}

Reply MachineControl::HotRemove(HotKey key) {
  absl::MutexLock hotplug(&hotplug_mu_);
  uint32_t slot;
  uint64_t boot;
  std::string tty;
  {
    absl::MutexLock lock(&mu_);
    auto it = hot_.find(key);
    if (it == hot_.end()) {
      return Reply::Errno(ENODEV, absl::StatusCode::kNotFound,
                          "Device doesn't exist");
    }
    slot = it->second.slot;
    tty = it->second.tty;
    boot = boot_;
  }
  // The agent refuses while the guest uses the device: a disk mounted, an
  // interface up, a port or tty open (UML: the device is open).
  std::string request = absl::StrCat("unbind virtio-mmio.", slot);
  if (!tty.empty()) absl::StrAppend(&request, " ", tty);
  absl::StatusOr<std::string> unbound =
      CallAgent("remove", request, options_.hotplug_limit);
  if (!unbound.ok()) {
    if (unbound.status().message() == "Device is currently open") {
      return Reply::Errno(EBUSY, absl::StatusCode::kFailedPrecondition,
                          "Device is currently open");
    }
    return Reply::Error(unbound.status().code(),
                        std::string(unbound.status().message()));
  }
  absl::MutexLock lock(&mu_);
  if (boot_ != boot || machine_ == nullptr) {
    return Reply::Ok();  // gone with the boot it was plugged into
  }
  hot_.erase(key);
  absl::Status emptied = machine_->UnplugVirtio(slot);
  if (!emptied.ok()) {
    return Reply::Error(emptied.code(), std::string(emptied.message()));
  }
  return Reply::Ok();
}

absl::StatusOr<std::string> MachineControl::CallAgent(absl::string_view command,
                                                      absl::string_view request,
                                                      absl::Duration timeout) {
  if (options_.agent == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("The guest has no kuml agent, which '", command,
                     "' needs (guest/agent; the default root_fs starts it)"));
  }
  {
    absl::MutexLock lock(&mu_);
    if (machine_ != nullptr && machine_->paused()) {
      return absl::FailedPreconditionError(
          absl::StrCat("The guest is stopped: its agent cannot answer '",
                       command, "' until 'go'"));
    }
  }
  if (timeout > absl::ZeroDuration()) {
    return options_.agent->CallWithin(request, timeout);
  }
  return options_.agent->Call(request);
}

absl::Status MachineControl::CtrlAltDel() {
  return CallAgent("cad", "cad").status();
}

absl::Status MachineControl::Log(absl::string_view text) {
  return CallAgent("log", absl::StrCat("log ", text)).status();
}

absl::StatusOr<std::string> MachineControl::Proc(absl::string_view file) {
  return CallAgent("proc", absl::StrCat("proc ", file));
}

absl::StatusOr<std::string> MachineControl::Stack(int pid) {
  return CallAgent("stack", absl::StrCat("stack ", pid));
}

}  // namespace kuml::mconsole
