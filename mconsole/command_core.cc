#include "mconsole/command_core.h"

#include <cerrno>
#include <climits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "frontend/parse_util.h"

namespace kuml::mconsole {
namespace {

// Verbatim from mconsole_kern.c (UML 6.1), trailing spaces included.
constexpr absl::string_view kHelpText =
    "Commands: \n"
    "    version - Get kernel version \n"
    "    help - Print this message \n"
    "    halt - Halt UML \n"
    "    reboot - Reboot UML \n"
    "    config <dev>=<config> - Add a new device to UML;  \n"
    "\tsame syntax as command line \n"
    "    config <dev> - Query the configuration of a device \n"
    "    remove <dev> - Remove a device from UML \n"
    "    sysrq <letter> - Performs the SysRq action controlled by the letter \n"
    "    cad - invoke the Ctrl-Alt-Del handler \n"
    "    stop - pause the UML; it will do nothing until it receives a 'go' \n"
    "    go - continue the UML after a 'stop' \n"
    "    log <string> - make UML enter <string> into the kernel log\n"
    "    proc <file> - returns the contents of the UML's /proc/<file>\n"
    "    stack <pid> - returns the stack of the specified pid\n";

// The kernel's skip_spaces(): isspace() in the C locale.
absl::string_view SkipSpaces(absl::string_view s) {
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s[0]))) {
    s.remove_prefix(1);
  }
  return s;
}

// A device UML registers for config/remove, with its remove-number range
// (the `id` routine's start/end).
struct DeviceEntry {
  absl::string_view name;
  DeviceKind kind;
  int first;
  int last;
};

// ubd: MAX_DEV 16; con: MAX_TTYS 16; ssl: NR_PORTS 64; eth/vec: any
// number; mem: the one "device" 0.
constexpr DeviceEntry kDevices[] = {
    {"ubd", DeviceKind::kUbd, 0, 15},
    {"con", DeviceKind::kCon, 0, 15},
    {"ssl", DeviceKind::kSsl, 0, 63},
    {"eth", DeviceKind::kEth, 0, INT_MAX},
    {"vec", DeviceKind::kVec, 0, INT_MAX},
    {"mem", DeviceKind::kMem, 0, 0},
    {"gdb", DeviceKind::kGdb, 0, 0},
};

const DeviceEntry* FindDevice(absl::string_view text) {
  for (const DeviceEntry& d : kDevices) {
    if (absl::StartsWith(text, d.name)) return &d;
  }
  return nullptr;
}

// The device number for `remove`, as each UML driver's id routine reads
// it: ubd's parse_unit takes base-0 digits or one letter a..z and ignores
// what follows; the line and net drivers want a whole base-0 number; mem
// has only unit 0 and ignores the text. -1: unparsable.
int ParseRemoveUnit(const DeviceEntry& device, absl::string_view text) {
  if (device.kind == DeviceKind::kMem || device.kind == DeviceKind::kGdb) {
    return 0;
  }
  NumberPrefix n = ParseNumberPrefix(text, 0);
  if (device.kind == DeviceKind::kUbd) {
    if (n.length == 0) {
      if (!text.empty() && text[0] >= 'a' && text[0] <= 'z') {
        return text[0] - 'a';
      }
      return -1;
    }
  } else if (n.length == 0 || n.length != text.size()) {
    return -1;
  }
  if (n.overflow || n.value > INT_MAX) return INT_MAX;
  return static_cast<int>(n.value);
}

Reply FromStatus(const absl::Status& status, absl::string_view ok_text = "") {
  if (status.ok()) return Reply::Ok(std::string(ok_text));
  return Reply::Error(status.code(), std::string(status.message()));
}

Outcome Just(Reply reply) { return Outcome{std::move(reply), nullptr}; }

}  // namespace

const std::vector<std::pair<absl::string_view, Command>>& CommandTable() {
  // mconsole_user.c `commands[]`, in order: the first prefix match wins.
  static const auto* table =
      new std::vector<std::pair<absl::string_view, Command>>{
          {"version", Command::kVersion}, {"halt", Command::kHalt},
          {"reboot", Command::kReboot},   {"config", Command::kConfig},
          {"remove", Command::kRemove},   {"sysrq", Command::kSysrq},
          {"help", Command::kHelp},       {"cad", Command::kCad},
          {"stop", Command::kStop},       {"go", Command::kGo},
          {"log", Command::kLog},         {"proc", Command::kProc},
          {"stack", Command::kStack},
      };
  return *table;
}

std::optional<Command> MatchCommand(absl::string_view text) {
  for (const auto& [name, command] : CommandTable()) {
    if (absl::StartsWith(text, name)) return command;
  }
  return std::nullopt;
}

absl::string_view CommandName(Command command) {
  for (const auto& [name, c] : CommandTable()) {
    if (c == command) return name;
  }
  return "?";
}

absl::string_view HelpText() { return kHelpText; }

std::string FormatVersion(const KernelVersion& v) {
  return absl::StrCat(v.sysname, " ", v.nodename, " ", v.release, " ",
                      v.version, " ", v.machine);
}

Outcome CommandCore::Execute(absl::string_view request) {
  std::optional<Command> command = MatchCommand(request);
  if (!command.has_value()) {
    return Just(
        Reply::Error(absl::StatusCode::kUnimplemented, "Unknown command"));
  }
  absl::string_view args = request.substr(CommandName(*command).size());
  switch (*command) {
    case Command::kVersion:
      return Version();
    case Command::kHalt:
      return Halt();
    case Command::kReboot:
      return Reboot();
    case Command::kConfig:
      return Config(args);
    case Command::kRemove:
      return Remove(args);
    case Command::kSysrq:
      return Sysrq(args);
    case Command::kHelp:
      return Help();
    case Command::kCad:
      return Cad();
    case Command::kStop:
      return Stop();
    case Command::kGo:
      return Go();
    case Command::kLog:
      return Log(args);
    case Command::kProc:
      return Proc(args);
    case Command::kStack:
      return Stack(args);
  }
  return Just(Reply::Error(absl::StatusCode::kInternal, "Unknown command"));
}

Outcome CommandCore::Version() {
  return Just(Reply::Ok(FormatVersion(control_->Version())));
}

Outcome CommandCore::Halt() {
  return Outcome{Reply::Ok(), [this] { control_->Halt(); }};
}

Outcome CommandCore::Reboot() {
  return Outcome{Reply::Ok(), [this] { control_->Reboot(); }};
}

Outcome CommandCore::Config(absl::string_view args) {
  absl::string_view text = SkipSpaces(args);
  const DeviceEntry* device = FindDevice(text);
  if (device == nullptr) {
    return Just(Reply::Error(absl::StatusCode::kInvalidArgument,
                             "Bad configuration option"));
  }
  absl::string_view unit = text.substr(device->name.size());
  if (unit.find('=') != absl::string_view::npos) {
    return Just(control_->ConfigAdd(device->kind, text));
  }
  return Just(control_->ConfigQuery(device->kind, unit));
}

Outcome CommandCore::Remove(absl::string_view args) {
  absl::string_view text = SkipSpaces(args);
  const DeviceEntry* device = FindDevice(text);
  if (device == nullptr) {
    return Just(
        Reply::Error(absl::StatusCode::kInvalidArgument, "Bad remove option"));
  }
  int n = ParseRemoveUnit(*device, text.substr(device->name.size()));
  if (n < 0) {
    return Just(Reply::Error(absl::StatusCode::kInvalidArgument,
                             "Couldn't parse device number"));
  }
  if (n < device->first || n > device->last) {
    return Just(Reply::Error(
        absl::StatusCode::kOutOfRange,
        absl::StrFormat("Invalid device number - must be between %d and %d",
                        device->first, device->last)));
  }
  return Just(control_->Remove(device->kind, n));
}

Outcome CommandCore::Sysrq(absl::string_view args) {
  absl::string_view text = SkipSpaces(args);
  // An empty key is the NUL the kernel sees; handle_sysrq() answers any key
  // it does not know with the help line.
  char key = text.empty() ? '\0' : text[0];
  if (key == 'b') {
    // UML: "With 'b', the system will shut down without a chance to reply,
    // so in this case, we reply first."
    return Outcome{Reply::Ok(), [this] { (void)control_->Sysrq('b'); }};
  }
  absl::StatusOr<std::string> output = control_->Sysrq(key);
  if (!output.ok()) return Just(FromStatus(output.status()));
  return Just(Reply::Ok(std::move(*output)));
}

Outcome CommandCore::Help() { return Just(Reply::Ok(std::string(kHelpText))); }

Outcome CommandCore::Cad() {
  // UML replies first, then calls ctrl_alt_del(). Here the action may fail
  // (no agent in the guest), and the user must hear of it, so act first.
  absl::Status s = control_->CtrlAltDel();
  return Just(FromStatus(s));
}

Outcome CommandCore::Stop() {
  absl::Status s = control_->Stop();
  if (absl::IsFailedPrecondition(s)) {
    return Just(Reply::Error(s.code(), "Already stopped"));
  }
  return Just(FromStatus(s, "stopped"));
}

Outcome CommandCore::Go() {
  absl::Status s = control_->Go();
  if (absl::IsFailedPrecondition(s)) {
    return Just(Reply::Error(s.code(), "Not stopped"));
  }
  return Just(FromStatus(s));
}

Outcome CommandCore::Log(absl::string_view args) {
  // mconsole_log: everything after "log " goes to the kernel log verbatim.
  absl::string_view text = args.empty() ? args : args.substr(1);
  return Just(FromStatus(control_->Log(text)));
}

Outcome CommandCore::Proc(absl::string_view args) {
  absl::string_view file = SkipSpaces(args);
  absl::StatusOr<std::string> contents = control_->Proc(file);
  if (!contents.ok()) return Just(FromStatus(contents.status()));
  // UML begins the file's contents on a line of their own.
  return Just(Reply::Ok(absl::StrCat("\n", *contents)));
}

Outcome CommandCore::Stack(absl::string_view args) {
  absl::string_view text = SkipSpaces(args);
  if (text.empty()) {
    return Just(Reply::Error(absl::StatusCode::kInvalidArgument,
                             "Please specify a pid"));
  }
  // simple_strtoul(ptr, NULL, 0): trailing text ignored; 0 is no pid.
  NumberPrefix n = ParseNumberPrefix(text, 0);
  if (n.length == 0 || n.value == 0 || n.overflow || n.value > INT_MAX) {
    return Just(
        Reply::Error(absl::StatusCode::kNotFound, "Couldn't find that pid"));
  }
  absl::StatusOr<std::string> trace =
      control_->Stack(static_cast<int>(n.value));
  if (!trace.ok()) return Just(FromStatus(trace.status()));
  return Just(Reply::Ok(std::move(*trace)));
}

}  // namespace kuml::mconsole
