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
//   stop/go      Machine::Pause() / Resume(); given before the guest has
//                started (or between boots) stop is remembered and the
//                next boot starts parked, as UML's answers OK once its
//                socket exists
//   sysrq        while stopped: the guest runs for the key and its answer,
//                then stops again (so stop, sysrq s, copy, go -- the
//                HOWTO's backup recipe -- copies a synced disk)
//   sysrq        a BREAK plus the key on ttyS0, the console output captured
//                until it has been quiet for a moment
//   config/remove  hot_plug.h
//   log proc stack cad  through the guest agent (machine/agent_client.h)
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
#include "machine/agent_client.h"
#include "machine/line_factory.h"
#include "machine/machine.h"
#include "mconsole/guest_control.h"
#include "mconsole/hot_plug.h"

namespace kuml::mconsole {

struct MachineControlOptions {
  KernelVersion version;
  MachineSpec spec;  // the command line, for config queries
  // Not owned; may be null (a guest without the agent).
  AgentClient* agent = nullptr;
  // Opens the lines added at run time (`config con<n>=...`); not owned,
  // may be null (no line can be added). Disks and network devices come
  // from their factories in machine/.
  LineFactory* lines = nullptr;
  // kuml runs in a jail (vmm/sandbox/jail.h): no host file or device can be
  // opened any more, so config <dev>= is refused.
  bool jailed = false;
  // kuml's gdb stub, for `config gdb=` (HotPlug::Options::gdb); not owned.
  GdbStub* gdb = nullptr;
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
  // Sysrq on a running machine: a BREAK and the key on ttyS0, the answer
  // captured until the console is quiet.
  absl::StatusOr<std::string> SysrqRunning(char key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> CallAgent(absl::string_view command,
                                        absl::string_view request,
                                        absl::Duration timeout);

  MachineControlOptions options_;
  absl::Mutex mu_;
  Machine* machine_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool halt_requested_ ABSL_GUARDED_BY(mu_) = false;
  // `stop` given while no machine runs (before the first boot, between two):
  // the next machine starts parked.
  bool stop_pending_ ABSL_GUARDED_BY(mu_) = false;
  HotPlug hot_plug_;
  // One sysrq at a time (they share the console tap).
  absl::Mutex sysrq_mu_;
};

// Console text as mconsole returns it: "\r" dropped, printk time stamps
// ("[   12.345678] ") cut from the start of lines.
std::string CleanConsoleText(absl::string_view raw);

}  // namespace kuml::mconsole

#endif  // KUML_MCONSOLE_MACHINE_CONTROL_H_
