#include "mconsole/hot_plug.h"

#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "frontend/gdb_switch.h"
#include "frontend/line_switch.h"
#include "frontend/net_switch.h"
#include "frontend/parse_util.h"
#include "frontend/ubd_switch.h"
#include "machine/disk_factory.h"
#include "machine/net_factory.h"

namespace kuml::mconsole {
namespace {

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

LineKind LineKindOf(DeviceKind kind) {
  return kind == DeviceKind::kCon ? LineKind::kConsole : LineKind::kSerial;
}

Reply DeviceIsOpen() {
  return Reply::Errno(EBUSY, absl::StatusCode::kFailedPrecondition,
                      "Device is currently open");
}

}  // namespace

HotPlug::HotPlug(Options options, AgentCall call_agent)
    : options_(std::move(options)), call_agent_(std::move(call_agent)) {}

void HotPlug::Attach(Machine* machine) {
  absl::MutexLock lock(&mu_);
  machine_ = machine;
  ++boot_;
}

void HotPlug::Detach() {
  absl::MutexLock lock(&mu_);
  machine_ = nullptr;
  // Hot-plugged devices go with the machine (it holds them); removed boot
  // disks come back with the next one.
  added_.clear();
  removed_.clear();
}

bool HotPlug::BootDiskPresent(int n) {
  if (options_.spec->disks.count(n) == 0) return false;
  absl::MutexLock lock(&mu_);
  return removed_.count({DeviceKind::kUbd, n}) == 0;
}

Reply HotPlug::RemoveBootDisk(int n) {
  absl::MutexLock op(&op_mu_);
  std::optional<uint32_t> slot;
  uint64_t boot;
  {
    absl::MutexLock lock(&mu_);
    if (machine_ == nullptr) {
      return Reply::Error(absl::StatusCode::kUnavailable,
                          std::string(kBetweenBoots));
    }
    if (removed_.count({DeviceKind::kUbd, n}) != 0) {
      return Reply::Errno(ENODEV, absl::StatusCode::kNotFound,
                          "Device doesn't exist");
    }
    slot = machine_->BootSlot(absl::StrCat("ubd", n));
    boot = boot_;
  }
  if (!slot.has_value()) return DeviceIsOpen();  // not a slot of its own
  Reply reply = Unbind(*slot, "", boot);
  if (reply.ok()) {
    absl::MutexLock lock(&mu_);
    if (boot_ == boot) removed_.insert({DeviceKind::kUbd, n});
  }
  return reply;
}

Reply HotPlug::ConfigQuery(DeviceKind kind, absl::string_view unit) {
  const MachineSpec& spec = *options_.spec;
  switch (kind) {
    case DeviceKind::kUbd: {
      int n = ParseUbdUnit(unit);
      if (n < 0 || n >= kMaxUbdDevices) {
        return Reply::Error(absl::StatusCode::kOutOfRange,
                            "ubd_get_config: device number out of range");
      }
      auto it = spec.disks.find(n);
      if (it == spec.disks.end() || !BootDiskPresent(n)) {
        return Reply::Ok(AddedConfig({kind, n}).value_or(""));
      }
      const UbdSpec& disk = it->second;
      std::string file = disk.file.empty() ? kDefaultRootFs : disk.file;
      if (!disk.backing_file.empty()) {
        return Reply::Ok(absl::StrCat(file, ",", disk.backing_file));
      }
      return Reply::Ok(file);
    }
    case DeviceKind::kCon:
    case DeviceKind::kSsl: {
      const LineKind line_kind = LineKindOf(kind);
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
        std::optional<std::string> added =
            AddedConfig({kind, static_cast<int>(n.value)});
        if (added.has_value()) return Reply::Ok(*added);
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
    case DeviceKind::kGdb: {
      if (options_.gdb == nullptr) return Reply::Ok("none");
      std::optional<std::string> where = options_.gdb->endpoint();
      return Reply::Ok(where.value_or("none"));
    }
  }
  return Reply::Error(absl::StatusCode::kInternal, "unknown device");
}

Reply HotPlug::ConfigAdd(DeviceKind kind, absl::string_view device_switch) {
  if (options_.jailed && kind != DeviceKind::kMem) {
    return Reply::Error(
        absl::StatusCode::kFailedPrecondition,
        "kuml runs in a jail (the jail switch): it cannot open host files or "
        "devices any more; start it without jail to add devices");
  }
  switch (kind) {
    case DeviceKind::kUbd:
      return ConfigAddDisk(device_switch);
    case DeviceKind::kCon:
    case DeviceKind::kSsl:
      return ConfigAddLine(kind, device_switch);
    case DeviceKind::kEth:
    case DeviceKind::kVec:
      return ConfigAddNet(kind, device_switch);
    case DeviceKind::kMem:
      return Reply::Error(absl::StatusCode::kUnimplemented,
                          "kuml cannot change the guest's memory at run time");
    case DeviceKind::kGdb:
      return ConfigAddGdb(device_switch);
  }
  return Reply::Error(absl::StatusCode::kInternal, "unknown device");
}

Reply HotPlug::ConfigAddGdb(absl::string_view device_switch) {
  if (options_.gdb == nullptr) {
    return Reply::Error(absl::StatusCode::kUnimplemented,
                        "this kuml has no gdb stub");
  }
  absl::string_view value = device_switch;
  if (!absl::ConsumePrefix(&value, "gdb=")) {
    return Reply::Error(absl::StatusCode::kInvalidArgument,
                        "expected config gdb=<port|path>");
  }
  absl::StatusOr<GdbListen> listen = ParseGdbListen(value);
  if (!listen.ok()) {
    return Reply::Error(listen.status().code(),
                        std::string(listen.status().message()));
  }
  if (absl::Status s = options_.gdb->Listen(*listen); !s.ok()) {
    return Reply::Error(s.code(), std::string(s.message()));
  }
  return Reply::Ok(absl::StrCat("gdb stub listening on ",
                                options_.gdb->endpoint().value_or("?"),
                                "; attach with target remote ",
                                options_.gdb->remote_argument().value_or("?")));
}

Reply HotPlug::Remove(DeviceKind kind, int n) {
  const MachineSpec& spec = *options_.spec;
  switch (kind) {
    case DeviceKind::kUbd:
      if (!BootDiskPresent(n)) return RemoveAdded({kind, n});
      return RemoveBootDisk(n);
    case DeviceKind::kCon:
    case DeviceKind::kSsl:
      if (EffectiveLine(spec, LineKindOf(kind), n).none) {
        return RemoveAdded({kind, n});
      }
      return DeviceIsOpen();
    case DeviceKind::kEth:
      if (spec.eth.count(n) == 0) return RemoveAdded({kind, n});
      return DeviceIsOpen();
    case DeviceKind::kVec:
      if (spec.vec.count(n) == 0) return RemoveAdded({kind, n});
      return DeviceIsOpen();
    case DeviceKind::kMem:
      return Reply::Errno(EBUSY, absl::StatusCode::kFailedPrecondition,
                          "kuml cannot change the guest's memory at run time");
    case DeviceKind::kGdb: {
      if (options_.gdb == nullptr) return DeviceIsOpen();
      absl::Status s = options_.gdb->Stop();
      if (!s.ok()) return Reply::Error(s.code(), std::string(s.message()));
      return Reply::Ok("");
    }
  }
  return Reply::Error(absl::StatusCode::kInternal, "unknown device");
}

Reply HotPlug::ConfigAddDisk(absl::string_view device_switch) {
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
  absl::MutexLock op(&op_mu_);
  const int index = ubd->index;
  if (BootDiskPresent(index) ||
      AddedConfig({DeviceKind::kUbd, index}).has_value()) {
    return Reply::Errno(EBUSY, absl::StatusCode::kAlreadyExists,
                        "Device is already configured");
  }
  struct stat st;
  if (ubd->spec.file.empty() || ::stat(ubd->spec.file.c_str(), &st) != 0) {
    return Reply::Errno(ENOENT, absl::StatusCode::kNotFound,
                        "Couldn't determine size of device's file");
  }
  UbdSpec disk = ubd->spec;
  // The guest can tell its hot-plugged disks by their serial
  // (/sys/block/vdX/serial), since Linux names them by probe order.
  if (disk.serial.empty()) disk.serial = absl::StrCat("ubd", index);
  return Add({DeviceKind::kUbd, index},
             [&] { return OpenDiskDevice(index, disk, *options_.spec); });
}

Reply HotPlug::ConfigAddLine(DeviceKind kind, absl::string_view device_switch) {
  absl::StatusOr<LineSwitch> line = ParseLineSwitch(device_switch);
  if (!line.ok()) {
    return Reply::Errno(EINVAL, absl::StatusCode::kInvalidArgument,
                        std::string(line.status().message()));
  }
  if (line->is_default) {
    return Reply::Errno(EINVAL, absl::StatusCode::kInvalidArgument,
                        "line_config failed to parse device number");
  }
  absl::MutexLock op(&op_mu_);
  LineSpec now = EffectiveLine(*options_.spec, line->kind, line->index);
  if (!now.none || AddedConfig({kind, line->index}).has_value()) {
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
  if (options_.lines == nullptr) {
    return Reply::Error(absl::StatusCode::kUnimplemented,
                        "kuml cannot attach lines to this guest");
  }
  const LineKind line_kind = line->kind;
  const int index = line->index;
  const LineSpec spec = line->spec;
  return Add({kind, index}, [&] {
    return options_.lines->OpenHotLine(line_kind, index, spec);
  });
}

Reply HotPlug::ConfigAddNet(DeviceKind kind, absl::string_view device_switch) {
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
  absl::MutexLock op(&op_mu_);
  const bool at_boot = kind == DeviceKind::kEth
                           ? options_.spec->eth.count(index) != 0
                           : options_.spec->vec.count(index) != 0;
  if (at_boot || AddedConfig({kind, index}).has_value()) {
    return Reply::Errno(EBUSY, absl::StatusCode::kAlreadyExists,
                        "Device is already configured");
  }
  return Add({kind, index}, [&] { return OpenHotNetDevice(net); });
}

std::optional<std::string> HotPlug::AddedConfig(HotKey key) {
  absl::MutexLock lock(&mu_);
  auto it = added_.find(key);
  if (it == added_.end()) return std::nullopt;
  return it->second.config;
}

Reply HotPlug::Add(
    HotKey key, const std::function<absl::StatusOr<PluggableDevice>()>& open) {
  // The agent first: without one nothing is opened (or created: a COW file,
  // a tap).
  absl::StatusOr<std::string> ping =
      call_agent_("config", "ping", absl::ZeroDuration());
  if (!ping.ok()) {
    return Reply::Error(ping.status().code(),
                        std::string(ping.status().message()));
  }
  absl::StatusOr<PluggableDevice> device = open();
  if (!device.ok()) {
    const absl::Status& e = device.status();
    int err = absl::IsNotFound(e)           ? ENOENT
              : absl::IsPermissionDenied(e) ? EACCES
              : absl::IsInvalidArgument(e)  ? EINVAL
                                            : EIO;
    return Reply::Errno(err, e.code(), std::string(e.message()));
  }
  const std::string config = device->config;
  const bool console_tty = device->console_tty;
  uint64_t boot;
  absl::StatusOr<uint32_t> slot;
  {
    absl::MutexLock lock(&mu_);
    if (machine_ == nullptr)
      return Reply::Error(absl::StatusCode::kUnavailable,
                          std::string(kBetweenBoots));
    boot = boot_;
    slot = machine_->PlugVirtio(*std::move(device));
  }
  if (!slot.ok()) {
    return Reply::Errno(absl::IsResourceExhausted(slot.status()) ? ENOSPC : EIO,
                        slot.status().code(),
                        std::string(slot.status().message()));
  }
  // For a console line the agent also names the hvc tty the port got.
  std::string request = absl::StrCat("bind virtio-mmio.", *slot);
  if (console_tty) request += " hvc";
  absl::StatusOr<std::string> bound =
      call_agent_("config", request, options_.limit);
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
  added_[key] = HotDevice{config, *slot, console_tty ? *bound : std::string()};
  return Reply::Ok();
}

Reply HotPlug::RemoveAdded(HotKey key) {
  absl::MutexLock op(&op_mu_);
  uint32_t slot;
  uint64_t boot;
  std::string tty;
  {
    absl::MutexLock lock(&mu_);
    auto it = added_.find(key);
    if (it == added_.end()) {
      return Reply::Errno(ENODEV, absl::StatusCode::kNotFound,
                          "Device doesn't exist");
    }
    slot = it->second.slot;
    tty = it->second.tty;
    boot = boot_;
  }
  Reply reply = Unbind(slot, tty, boot);
  if (reply.ok()) {
    absl::MutexLock lock(&mu_);
    if (boot_ == boot) added_.erase(key);
  }
  return reply;
}

Reply HotPlug::Unbind(uint32_t slot, const std::string& tty, uint64_t boot) {
  // The agent refuses while the guest uses the device: a disk mounted, an
  // interface up, a port or tty open (UML: the device is open).
  std::string request = absl::StrCat("unbind virtio-mmio.", slot);
  if (!tty.empty()) absl::StrAppend(&request, " ", tty);
  absl::StatusOr<std::string> unbound =
      call_agent_("remove", request, options_.limit);
  if (!unbound.ok()) {
    if (unbound.status().message() == "Device is currently open") {
      return DeviceIsOpen();
    }
    return Reply::Error(unbound.status().code(),
                        std::string(unbound.status().message()));
  }
  absl::MutexLock lock(&mu_);
  if (boot_ != boot || machine_ == nullptr) {
    return Reply::Ok();  // gone with the boot it was plugged into
  }
  absl::Status emptied = machine_->UnplugVirtio(slot);
  if (!emptied.ok()) {
    return Reply::Error(emptied.code(), std::string(emptied.message()));
  }
  return Reply::Ok();
}

}  // namespace kuml::mconsole
