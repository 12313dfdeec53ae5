// CommandCore: UML's mconsole command set over a GuestControl.
//
// One core serves both doors (the legacy datagram socket and gRPC), so the
// commands behave the same whichever way they arrive. It follows
// arch/um/drivers/mconsole_kern.c: the command is looked up by prefix in
// UML's table order (`strncmp(data, name, strlen(name))`: "versionXYZ" runs
// version, "vers" is unknown), replies carry UML's texts and error codes, and
// `stop` switches the core into the stopped state in which every command but
// `go` and a second `stop` keeps working.
//
// Thread-safe: the doors may call it concurrently.
#ifndef KUML_MCONSOLE_COMMAND_CORE_H_
#define KUML_MCONSOLE_COMMAND_CORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "mconsole/guest_control.h"
#include "mconsole/reply.h"

namespace kuml::mconsole {

enum class Command {
  kVersion,
  kHalt,
  kReboot,
  kConfig,
  kRemove,
  kSysrq,
  kHelp,
  kCad,
  kStop,
  kGo,
  kLog,
  kProc,
  kStack,
};

// The command names in UML's lookup order.
const std::vector<std::pair<absl::string_view, Command>>& CommandTable();
// UML's prefix match; nullopt for an unknown command.
std::optional<Command> MatchCommand(absl::string_view text);
absl::string_view CommandName(Command command);

// The verbatim data of UML's `help` reply (trailing spaces included).
absl::string_view HelpText();

// "Linux (none) 6.1.0 #1 SMP ... x86_64": UML's version reply.
std::string FormatVersion(const KernelVersion& version);

class CommandCore {
 public:
  explicit CommandCore(GuestControl* control) : control_(control) {}

  // Runs one request's text (what follows the packet header, without the
  // NUL). The caller sends outcome.reply, then calls outcome.Finish().
  Outcome Execute(absl::string_view request);

  // The typed entry points behind Execute, for the gRPC door. Arguments
  // are the text after the command name, as UML would see it.
  Outcome Version();
  Outcome Halt();
  Outcome Reboot();
  Outcome Config(absl::string_view args);
  Outcome Remove(absl::string_view args);
  Outcome Sysrq(absl::string_view args);
  Outcome Help();
  Outcome Cad();
  Outcome Stop();
  Outcome Go();
  Outcome Log(absl::string_view args);
  Outcome Proc(absl::string_view args);
  Outcome Stack(absl::string_view args);

  GuestControl* control() { return control_; }

 private:
  GuestControl* control_;
};

}  // namespace kuml::mconsole

#endif  // KUML_MCONSOLE_COMMAND_CORE_H_
