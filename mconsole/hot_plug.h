// HotPlug: mconsole's `config <dev>=...`, `config <dev>` and `remove <dev>`
// on the running guest, UML's reply texts and errnos included.
//
//   config ubd<n>=<file>   the disk factory (machine/disk_factory.h) opens it
//                          as the command line would; the virtio-blk goes
//                          into a spare virtio-mmio slot
//                          (Machine::PlugVirtio) and the guest agent binds
//                          it. `config eth<n>=`/`vec<n>:` plug a virtio-net
//                          the same way (machine/net_factory.h), `config
//                          con<n>=`/`ssl<n>=` a virtio-console with the
//                          line's one port (machine/line_factory.h: an hvc
//                          tty for a console line, a plain port named
//                          ssl<n> for a serial line).
//   remove <dev>           the agent unbinds the device (refused while the
//                          guest has a disk mounted, an interface up, a port
//                          or tty open: "Device is currently open") and the
//                          slot is emptied. Disks from the command line too
//                          (until the next boot); other boot-time devices
//                          answer "Device is currently open".
//   config <dev>           the command line's device (MachineSpec) or the
//                          one added during this boot.
//   config gdb=<port|path> starts kuml's gdb stub there (machine/gdb_stub.h);
//   config gdb             says where it listens ("none" when it does not);
//   remove gdb             stops it (a connected debugger is detached). The
//                          stub is the process's, not the boot's.
// Hot-plugged devices end with their boot: a reboot starts from the command
// line again (UML re-execs itself with its original arguments).
#ifndef KUML_MCONSOLE_HOT_PLUG_H_
#define KUML_MCONSOLE_HOT_PLUG_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "frontend/machine_spec.h"
#include "machine/gdb_stub.h"
#include "machine/line_factory.h"
#include "machine/machine.h"
#include "machine/pluggable_device.h"
#include "mconsole/guest_control.h"
#include "mconsole/reply.h"

namespace kuml::mconsole {

class HotPlug {
 public:
  // Asks the guest agent `request` on behalf of mconsole command `command`,
  // waiting at most `timeout` (MachineControl::CallAgent).
  using AgentCall = std::function<absl::StatusOr<std::string>(
      absl::string_view command, absl::string_view request,
      absl::Duration timeout)>;

  struct Options {
    const MachineSpec* spec = nullptr;  // the command line; not owned
    // Opens lines added at run time; not owned. Null: no line can be added.
    LineFactory* lines = nullptr;
    // How long the agent may take to bind or unbind a device (the guest
    // kernel probes it).
    absl::Duration limit = absl::Seconds(30);
    // kuml is jailed: no device can be added.
    bool jailed = false;
    // The gdb stub; not owned. Null: `config gdb` is refused.
    GdbStub* gdb = nullptr;
  };

  HotPlug(Options options, AgentCall call_agent);

  // Around each boot's Machine::Run(); the devices added during a boot are
  // forgotten when it ends (the machine held them).
  void Attach(Machine* machine);
  void Detach();

  Reply ConfigAdd(DeviceKind kind, absl::string_view device_switch);
  Reply ConfigAddGdb(absl::string_view device_switch);
  Reply ConfigQuery(DeviceKind kind, absl::string_view unit);
  Reply Remove(DeviceKind kind, int n);

 private:
  using HotKey = std::pair<DeviceKind, int>;
  // A device added by `config` during this boot.
  struct HotDevice {
    std::string config;
    uint32_t slot = 0;  // virtio-mmio.<slot> in the guest
    std::string tty;    // a console line's hvc tty in the guest, if any
  };

  Reply ConfigAddDisk(absl::string_view device_switch);
  Reply ConfigAddLine(DeviceKind kind, absl::string_view device_switch);
  Reply ConfigAddNet(DeviceKind kind, absl::string_view device_switch);
  // Any kind: the agent is asked first (without one nothing is opened),
  // then `open` makes the device, which goes into a spare slot and is bound
  // by the agent.
  Reply Add(HotKey key,
            const std::function<absl::StatusOr<PluggableDevice>()>& open);
  Reply RemoveAdded(HotKey key);
  // remove ubd<n> of a disk from the command line: the agent unbinds it
  // (refused while the guest uses it) and its slot is emptied.
  Reply RemoveBootDisk(int n);
  // The command line's disk `n` is still there this boot.
  bool BootDiskPresent(int n);
  // The agent's "unbind" of `slot` (and `tty`), then the slot emptied.
  Reply Unbind(uint32_t slot, const std::string& tty, uint64_t boot);
  // `config <dev>` for a device added during this boot; nullopt if none.
  std::optional<std::string> AddedConfig(HotKey key);

  const Options options_;
  const AgentCall call_agent_;
  // One config/remove at a time (they wait for the agent without mu_).
  absl::Mutex op_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  absl::Mutex mu_;
  Machine* machine_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t boot_ ABSL_GUARDED_BY(mu_) = 0;  // bumped by Attach()
  std::map<HotKey, HotDevice> added_ ABSL_GUARDED_BY(mu_);
  // Boot disks removed during this boot (the next boot has them again, as
  // UML re-execs itself with its command line).
  std::set<HotKey> removed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kuml::mconsole

#endif  // KUML_MCONSOLE_HOT_PLUG_H_
