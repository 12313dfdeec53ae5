// MachineControl: the GuestControl of a kuml process -- mconsole commands
// applied to the Machine running now.
//
// The launcher (cli/kuml_main.cc) builds a new Machine for every boot and
// Attach()es it while it runs; between boots commands that need a machine
// say so. halt given between boots is remembered (halt_requested()).
//
//   version      the kernel image's banner (read once at start)
//   halt/reboot  Machine::RequestStop(kHalt / kReset); the launcher exits or
//                boots again
//   stop/go      Machine::Pause() / Resume()
//   sysrq        a BREAK plus the key on ttyS0, the console output captured
//                until it has been quiet for a moment
//   config/remove  queries from the command line (MachineSpec) and the
//                disks hot-plugged since; `config ubd<n>=<file>` plugs a
//                virtio-blk into a spare virtio-mmio slot
//                (Machine::PlugVirtio) and has the agent bind it, `remove`
//                has the agent unbind it (refused while mounted) and empties
//                the slot. `config eth<n>=`/`vec<n>:` plug a virtio-net the
//                same way, `config con<n>=`/`ssl<n>=` a virtio-console with
//                the line's one port (an hvc tty for a console line, a
//                plain port named ssl<n> for a serial line); remove is
//                refused while the guest has the interface up or the port
//                open. Hot-plugged devices end with their boot: a reboot
//                starts from the command line again (UML re-execs itself
//                with its original arguments).
//   log proc stack cad  through the guest agent
#ifndef KUML_MCONSOLE_MACHINE_CONTROL_H_
#define KUML_MCONSOLE_MACHINE_CONTROL_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "frontend/machine_spec.h"
#include "frontend/net_switch.h"
#include "mconsole/agent_client.h"
#include "mconsole/guest_control.h"
#include "vmm/machine.h"

namespace kuml::mconsole {

// A device opened for hot-plug by the launcher: what makes its virtio
// device in the running machine. The factory holds the host side (a tap, a
// line's channel), which closes when the device goes.
struct HotPlugDevice {
  VirtioDeviceFactory factory;
  std::shared_ptr<BlockBackend> backend;  // disks: flushed on stop/unplug
  std::string config;                     // what `config <dev>` answers
  // A console line: the guest gives its port an hvc tty, whose name the
  // agent reports on bind and checks on unbind (is it open?).
  bool console_tty = false;
};

struct MachineControlOptions {
  KernelVersion version;
  MachineSpec spec;  // the command line, for config queries
  // Not owned; may be null (a guest without the agent).
  AgentClient* agent = nullptr;
  // Opens a hot-plugged disk the way the command line's disks are opened
  // (locks, COW, UML's notices); empty: no hot-plug.
  std::function<absl::StatusOr<DiskConfig>(int index, const UbdSpec& ubd)>
      open_disk;
  // Open the host side of a network device (`config eth<n>=...`, `config
  // vec<n>:...`, the switch parsed) or of a console/serial line (`config
  // con<n>=...`) added at run time; empty: that kind cannot be added.
  std::function<absl::StatusOr<HotPlugDevice>(const NetDeviceSpec&)> open_net;
  std::function<absl::StatusOr<HotPlugDevice>(LineKind, int, const LineSpec&)>
      open_line;
  // How long the agent may take to bind or unbind a hot-plugged device (the
  // guest kernel probes it).
  absl::Duration hotplug_limit = absl::Seconds(30);
  // sysrq: how long the console must stay quiet before the answer is
  // complete, and the most to wait for it at all.
  absl::Duration sysrq_quiet = absl::Milliseconds(400);
  absl::Duration sysrq_limit = absl::Seconds(5);
};

class MachineControl : public GuestControl {
 public:
  explicit MachineControl(MachineControlOptions options);

  // The launcher: the machine of this boot (Run() is about to be called),
  // and nullptr once Run() has returned.
  void Attach(Machine* machine);
  void Detach();
  bool halt_requested();

  KernelVersion Version() override;
  void Halt() override;
  void Reboot() override;
  absl::Status Stop() override;
  absl::Status Go() override;
  Reply ConfigAdd(DeviceKind kind, absl::string_view device_switch) override;
  Reply ConfigQuery(DeviceKind kind, absl::string_view unit) override;
  Reply Remove(DeviceKind kind, int n) override;
  absl::StatusOr<std::string> Sysrq(char key) override;
  absl::Status CtrlAltDel() override;
  absl::Status Log(absl::string_view text) override;
  absl::StatusOr<std::string> Proc(absl::string_view file) override;
  absl::StatusOr<std::string> Stack(int pid) override;

 private:
  absl::StatusOr<std::string> CallAgent(
      absl::string_view command, absl::string_view request,
      absl::Duration timeout = absl::ZeroDuration());
  // Hot-plug of any kind: the agent is asked first (without one nothing is
  // opened), then `open` makes the device, which goes into a spare slot and
  // is bound by the agent. Remove unbinds (the agent refuses while the
  // guest uses the device) and empties the slot.
  using HotKey = std::pair<DeviceKind, int>;
  Reply HotAdd(HotKey key,
               const std::function<absl::StatusOr<HotPlugDevice>()>& open);
  Reply HotRemove(HotKey key);
  Reply ConfigAddLine(DeviceKind kind, absl::string_view device_switch);
  Reply ConfigAddNet(DeviceKind kind, absl::string_view device_switch);
  // `config <dev>` for a device added during this boot; nullopt if none.
  std::optional<std::string> HotConfig(HotKey key);

  // A device added by `config` during this boot.
  struct HotDevice {
    std::string config;
    uint32_t slot = 0;  // virtio-mmio.<slot> in the guest
    std::string tty;    // a console line's hvc tty in the guest, if any
  };

  MachineControlOptions options_;
  absl::Mutex mu_;
  Machine* machine_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool halt_requested_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t boot_ ABSL_GUARDED_BY(mu_) = 0;  // bumped by Attach()
  std::map<HotKey, HotDevice> hot_ ABSL_GUARDED_BY(mu_);
  // One hot-plug config/remove at a time (they wait for the agent without
  // mu_, which halt/stop/go need).
  absl::Mutex hotplug_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // One sysrq at a time (they share the console tap).
  absl::Mutex sysrq_mu_;
};

// Console text as mconsole returns it: "\r" dropped, printk time stamps
// ("[   12.345678] ") cut from the start of lines.
std::string CleanConsoleText(absl::string_view raw);

}  // namespace kuml::mconsole

#endif  // KUML_MCONSOLE_MACHINE_CONTROL_H_
