// GuestControl: what the mconsole commands need from a running guest.
//
// The command core (command_core.h) speaks UML's language (names, prefix
// matching, reply texts); this interface speaks the VMM's. kuml implements
// it over vmm::Machine and the launcher (machine_control.h); tests use a
// fake. Every method may be called from any thread, also while the guest is
// stopped (UML keeps serving mconsole requests then) and between reboots.
//
// Errors are absl::Status whose message is the text the user should see;
// where UML has a fixed text for the situation the implementation uses it
// (e.g. "Failed to open file", "Couldn't find that pid").
#ifndef KUML_MCONSOLE_GUEST_CONTROL_H_
#define KUML_MCONSOLE_GUEST_CONTROL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mconsole/reply.h"

namespace kuml::mconsole {

// The devices UML registers with mconsole for config/remove, in UML's
// naming (mconsole_register_dev): ubd, con, ssl, eth, vec, mem.
// kGdb: kuml's gdb stub (UML had `config gdb=xterm` in its tt mode).
enum class DeviceKind { kUbd, kCon, kSsl, kEth, kVec, kMem, kGdb };

// uname(2) of the guest kernel, as UML's `version` prints it.
struct KernelVersion {
  std::string sysname = "Linux";
  std::string nodename = "(none)";
  std::string release;  // "6.1.0"
  std::string version;  // "#1 SMP PREEMPT_DYNAMIC Sat Jul  4 15:38:16 ..."
  std::string machine = "x86_64";
};

class GuestControl {
 public:
  virtual ~GuestControl() = default;

  virtual KernelVersion Version() = 0;

  // Both return at once; the guest stops (or restarts) soon after. UML
  // semantics: no sync, no shutdown scripts.
  virtual void Halt() = 0;
  virtual void Reboot() = 0;

  // Parks every vCPU and flushes the disks before returning.
  // FailedPrecondition when already stopped.
  virtual absl::Status Stop() = 0;
  // FailedPrecondition when not stopped.
  virtual absl::Status Go() = 0;

  // config <dev>=<spec>: `device_switch` is the command-line form
  // ("ubd1=/srv/hot.img", "con1=pts"). A Reply because UML answers these
  // with negative errnos (-EBUSY, -ENOENT, ...).
  virtual Reply ConfigAdd(DeviceKind kind, absl::string_view device_switch) = 0;
  // config <dev>: `unit` is what follows the device name ("1", "b", "").
  virtual Reply ConfigQuery(DeviceKind kind, absl::string_view unit) = 0;
  // remove <dev>: `n` is already parsed and range-checked.
  virtual Reply Remove(DeviceKind kind, int n) = 0;

  // Delivers magic SysRq `key` to the guest kernel and returns what the
  // kernel printed in response.
  virtual absl::StatusOr<std::string> Sysrq(char key) = 0;
  // The guest's Ctrl-Alt-Del action.
  virtual absl::Status CtrlAltDel() = 0;
  // The commands below need the guest's cooperation (the kuml agent).
  virtual absl::Status Log(absl::string_view text) = 0;
  // Contents of the guest's /proc/<file>.
  virtual absl::StatusOr<std::string> Proc(absl::string_view file) = 0;
  // The kernel stack of guest task `pid`, as the kernel prints it.
  virtual absl::StatusOr<std::string> Stack(int pid) = 0;
};

}  // namespace kuml::mconsole

#endif  // KUML_MCONSOLE_GUEST_CONTROL_H_
