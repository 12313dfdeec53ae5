#include "frontend/command_line.h"

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "frontend/gdb_switch.h"
#include "frontend/line_switch.h"
#include "frontend/net_switch.h"
#include "frontend/parse_util.h"
#include "frontend/ubd_switch.h"

namespace kuml {
namespace {

absl::Status Error(absl::string_view arg, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(arg, ": ", why));
}

// Builds the MachineSpec one argument at a time.
class Parser {
 public:
  absl::Status Parse(absl::string_view arg);
  MachineSpec Finish() &&;

  // Handlers. `arg` is the whole argument, `value` what follows the switch
  // name.
  absl::Status Kernel(absl::string_view arg, absl::string_view value);
  absl::Status Sandbox(absl::string_view arg, absl::string_view value);
  absl::Status Jail(absl::string_view arg, absl::string_view value);
  absl::Status HotplugSlots(absl::string_view arg, absl::string_view value);
  absl::Status Obsolete(absl::string_view arg, absl::string_view value);
  absl::Status PassThrough(absl::string_view arg, absl::string_view value);
  absl::Status Debug(absl::string_view arg, absl::string_view value);
  absl::Status Umid(absl::string_view arg, absl::string_view value);
  absl::Status UmlDir(absl::string_view arg, absl::string_view value);
  absl::Status Mem(absl::string_view arg, absl::string_view value);
  absl::Status Ncpus(absl::string_view arg, absl::string_view value);
  absl::Status Gdb(absl::string_view arg, absl::string_view value);
  absl::Status Iomem(absl::string_view arg, absl::string_view value);
  absl::Status Initrd(absl::string_view arg, absl::string_view value);
  absl::Status Xterm(absl::string_view arg, absl::string_view value);
  absl::Status Nosysemu(absl::string_view arg, absl::string_view value);
  absl::Status Quiet(absl::string_view arg, absl::string_view value);
  absl::Status Noreboot(absl::string_view arg, absl::string_view value);
  absl::Status Hostfs(absl::string_view arg, absl::string_view value);
  absl::Status Ubd(absl::string_view arg, absl::string_view value);
  absl::Status Udb(absl::string_view arg, absl::string_view value);
  absl::Status FakeIde(absl::string_view arg, absl::string_view value);
  absl::Status SslNonRaw(absl::string_view arg, absl::string_view value);
  absl::Status Line(absl::string_view arg, absl::string_view value);
  absl::Status Eth(absl::string_view arg, absl::string_view value);
  absl::Status Vec(absl::string_view arg, absl::string_view value);
  absl::Status Mconsole(absl::string_view arg, absl::string_view value);
  absl::Status Stderr(absl::string_view arg, absl::string_view value);
  absl::Status VirtioUml(absl::string_view arg, absl::string_view value);

 private:
  // Warns when a single-valued switch is given again; the new value wins.
  void NoteRepeat(absl::string_view arg, std::optional<std::string>& previous);

  MachineSpec spec_;
  bool after_double_dash_ = false;
  std::optional<std::string> kernel_switch_, mem_switch_, initrd_switch_,
      uml_dir_switch_, umid_switch_, stderr_switch_, ncpus_switch_;
};

enum class Match { kPrefix, kExact };
// kUml: UML's own __uml_setup switches and kuml's kernel=, honoured
// everywhere. kDriver: switches the UML kernel's __setup handlers parse; in
// Linux they end at "--".
enum class Level { kUml, kDriver };

struct Handler {
  absl::string_view name;
  Match match;
  Level level;
  absl::Status (Parser::*handle)(absl::string_view, absl::string_view);
};

// First match wins, so longer names come before their prefixes
// (console= before con, ssl-non-raw before ssl).
constexpr Handler kHandlers[] = {
    {"kernel=", Match::kPrefix, Level::kUml, &Parser::Kernel},
    {"sandbox=", Match::kPrefix, Level::kUml, &Parser::Sandbox},
    {"jail=", Match::kPrefix, Level::kUml, &Parser::Jail},
    {"hotplug_slots=", Match::kPrefix, Level::kUml, &Parser::HotplugSlots},
    // Switches of older UMLs that 6.1 no longer has: passed on, announced.
    {"mode=", Match::kPrefix, Level::kUml, &Parser::Obsolete},
    {"honeypot", Match::kExact, Level::kUml, &Parser::Obsolete},
    {"fakehd", Match::kExact, Level::kUml, &Parser::Obsolete},
    {"debug=", Match::kPrefix, Level::kUml, &Parser::Obsolete},
    {"gdb-pid=", Match::kPrefix, Level::kUml, &Parser::Obsolete},
    {"skas0", Match::kExact, Level::kUml, &Parser::Obsolete},
    {"tty_log_dir=", Match::kPrefix, Level::kUml, &Parser::Obsolete},
    {"tty_log_fd=", Match::kPrefix, Level::kUml, &Parser::Obsolete},
    {"jail", Match::kExact, Level::kUml, &Parser::Jail},
    {"console=", Match::kPrefix, Level::kUml, &Parser::PassThrough},
    {"debug", Match::kExact, Level::kUml, &Parser::Debug},
    {"root=", Match::kPrefix, Level::kUml, &Parser::PassThrough},
    {"umid=", Match::kPrefix, Level::kUml, &Parser::Umid},
    {"uml_dir=", Match::kPrefix, Level::kUml, &Parser::UmlDir},
    {"mem=", Match::kPrefix, Level::kUml, &Parser::Mem},
    {"ncpus=", Match::kPrefix, Level::kUml, &Parser::Ncpus},
    {"gdb=", Match::kPrefix, Level::kUml, &Parser::Gdb},
    {"iomem=", Match::kPrefix, Level::kUml, &Parser::Iomem},
    {"initrd=", Match::kPrefix, Level::kUml, &Parser::Initrd},
    {"xterm=", Match::kPrefix, Level::kUml, &Parser::Xterm},
    {"nosysemu", Match::kExact, Level::kUml, &Parser::Nosysemu},
    {"quiet", Match::kExact, Level::kUml, &Parser::Quiet},
    {"noreboot", Match::kExact, Level::kUml, &Parser::Noreboot},
    {"hostfs=", Match::kPrefix, Level::kUml, &Parser::Hostfs},
    {"ubd", Match::kPrefix, Level::kDriver, &Parser::Ubd},
    {"udb", Match::kPrefix, Level::kDriver, &Parser::Udb},
    {"fake_ide", Match::kPrefix, Level::kDriver, &Parser::FakeIde},
    {"ssl-non-raw", Match::kExact, Level::kDriver, &Parser::SslNonRaw},
    {"con", Match::kPrefix, Level::kDriver, &Parser::Line},
    {"ssl", Match::kPrefix, Level::kDriver, &Parser::Line},
    {"eth", Match::kPrefix, Level::kDriver, &Parser::Eth},
    {"vec", Match::kPrefix, Level::kDriver, &Parser::Vec},
    {"mconsole=", Match::kPrefix, Level::kDriver, &Parser::Mconsole},
    {"stderr=", Match::kPrefix, Level::kDriver, &Parser::Stderr},
    {"virtio_uml.device=", Match::kPrefix, Level::kDriver, &Parser::VirtioUml},
};

absl::Status Parser::Parse(absl::string_view arg) {
  if (arg.empty()) return absl::OkStatus();  // UML: an empty word is nothing
  for (const Handler& h : kHandlers) {
    if (h.level == Level::kDriver && after_double_dash_) continue;
    const bool matches = h.match == Match::kExact
                             ? arg == h.name
                             : absl::StartsWith(arg, h.name);
    if (!matches) continue;
    return (this->*h.handle)(arg, arg.substr(h.name.size()));
  }
  if (arg == "--") after_double_dash_ = true;
  spec_.guest_args.push_back(std::string(arg));
  return absl::OkStatus();
}

void Parser::NoteRepeat(absl::string_view arg,
                        std::optional<std::string>& previous) {
  if (previous.has_value()) {
    spec_.warnings.push_back(
        absl::StrCat(arg, ": overrides the earlier '", *previous, "'"));
  }
  previous = std::string(arg);
}

absl::Status Parser::Kernel(absl::string_view arg, absl::string_view value) {
  if (value.empty()) return Error(arg, "missing kernel file name");
  NoteRepeat(arg, kernel_switch_);
  spec_.kernel_path = std::string(value);
  return absl::OkStatus();
}

absl::Status Parser::Sandbox(absl::string_view arg, absl::string_view value) {
  if (value == "on") {
    spec_.sandbox = true;
  } else if (value == "off") {
    spec_.sandbox = false;
  } else {
    return Error(arg, "expected sandbox=on or sandbox=off");
  }
  return absl::OkStatus();
}

absl::Status Parser::Jail(absl::string_view arg, absl::string_view value) {
  if (arg == "jail=" || (arg != "jail" && value.empty())) {
    return Error(arg, "expected jail or jail=<user>");
  }
  spec_.jail_user = arg == "jail" ? "nobody" : std::string(value);
  return absl::OkStatus();
}

absl::Status Parser::HotplugSlots(absl::string_view arg,
                                  absl::string_view value) {
  const std::optional<uint64_t> n = ParseWholeNumber(value, 10, 19);
  if (!n.has_value()) {
    return Error(arg, "expected a number of slots, 0 to 19");
  }
  spec_.hotplug_slots = static_cast<int>(*n);
  return absl::OkStatus();
}

absl::Status Parser::Obsolete(absl::string_view arg, absl::string_view) {
  // UML 6.1 knows none of these either: it hands them to the guest kernel,
  // which passes them to init. kuml does the same, but says so.
  spec_.warnings.push_back(absl::StrCat(
      arg,
      ": a switch of older UMLs (tt/skas modes, honeypot, fake IDE, gdb "
      "attach, tty logging) that UML 6.1 and kuml do not act on; passed to "
      "the guest kernel, as UML 6.1 passes it"));
  spec_.guest_args.push_back(std::string(arg));
  return absl::OkStatus();
}

absl::Status Parser::PassThrough(absl::string_view arg, absl::string_view) {
  spec_.guest_args.push_back(std::string(arg));
  return absl::OkStatus();
}

absl::Status Parser::Debug(absl::string_view, absl::string_view) {
  spec_.debug = true;
  return absl::OkStatus();
}

absl::Status Parser::Umid(absl::string_view arg, absl::string_view value) {
  // UML only checks the length (UMID_LEN); the umid becomes a directory name
  // under ~/.uml, so kuml also refuses what would leave that directory.
  if (value.empty()) return Error(arg, "umid can't be an empty string");
  if (value.size() > kMaxUmidLength) {
    return Error(arg, absl::StrCat("umid is longer than ", kMaxUmidLength,
                                   " characters"));
  }
  if (value == "." || value == "..") {
    return Error(arg, "umid can't be '.' or '..'");
  }
  if (value == kReservedUmid) {
    return Error(arg, absl::StrCat("umid '", kReservedUmid,
                                   "' is reserved (kumld's state directory)"));
  }
  for (char c : value) {
    if (c == '/' || !absl::ascii_isgraph(c)) {
      return Error(arg, "umid can't contain '/', spaces or control characters");
    }
  }
  if (umid_switch_.has_value()) {
    // UML: "umid already set"; the first one stays.
    spec_.warnings.push_back(absl::StrCat(arg, ": umid already set by '",
                                          *umid_switch_, "', ignored"));
    return absl::OkStatus();
  }
  umid_switch_ = std::string(arg);
  spec_.umid = std::string(value);
  return absl::OkStatus();
}

absl::Status Parser::UmlDir(absl::string_view arg, absl::string_view value) {
  if (value.empty()) return Error(arg, "uml_dir can't be an empty string");
  NoteRepeat(arg, uml_dir_switch_);
  spec_.uml_dir = std::string(value);
  return absl::OkStatus();
}

absl::Status Parser::Mem(absl::string_view arg, absl::string_view value) {
  absl::StatusOr<uint64_t> bytes = ParseMemSize(value);
  if (!bytes.ok()) return Error(arg, bytes.status().message());
  NoteRepeat(arg, mem_switch_);
  spec_.mem_bytes = *bytes;
  return absl::OkStatus();
}

absl::Status Parser::Ncpus(absl::string_view arg, absl::string_view value) {
  // 254: APIC ids 0..253 for the CPUs, the next for the IOAPIC, 255 is the
  // broadcast id (vmm/boot/mptable.h).
  const std::optional<uint64_t> n = ParseWholeNumber(value, 10, 254);
  if (!n.has_value() || *n == 0) {
    return Error(arg, "expected a number of CPUs, 1 to 254");
  }
  NoteRepeat(arg, ncpus_switch_);
  spec_.num_vcpus = static_cast<uint32_t>(*n);
  return absl::OkStatus();
}

absl::Status Parser::Gdb(absl::string_view arg, absl::string_view value) {
  absl::StatusOr<GdbListen> listen = ParseGdbListen(value);
  if (!listen.ok()) return Error(arg, listen.status().message());
  spec_.gdb = *std::move(listen);
  return absl::OkStatus();
}

absl::Status Parser::Iomem(absl::string_view arg, absl::string_view value) {
  const size_t comma = value.find(',');
  if (comma == absl::string_view::npos || comma == 0 ||
      comma + 1 == value.size()) {
    return Error(arg, "failed to parse iomem (expected iomem=<name>,<file>)");
  }
  IomemSpec iomem;
  iomem.name = std::string(value.substr(0, comma));
  iomem.file = std::string(value.substr(comma + 1));
  iomem.switch_text = std::string(arg);
  for (const IomemSpec& other : spec_.iomem) {
    if (other.name == iomem.name) {
      return Error(
          arg, absl::StrCat("iomem region '", iomem.name,
                            "' is already given by '", other.switch_text, "'"));
    }
  }
  spec_.iomem.push_back(std::move(iomem));
  return absl::OkStatus();
}

absl::Status Parser::Initrd(absl::string_view arg, absl::string_view value) {
  if (value.empty()) return Error(arg, "missing initrd file name");
  NoteRepeat(arg, initrd_switch_);
  spec_.initrd_path = std::string(value);
  return absl::OkStatus();
}

absl::Status Parser::Xterm(absl::string_view arg, absl::string_view value) {
  // xterm_setup(): emulator, then title switch, then the rest is the exec
  // switch; an empty title or exec switch keeps the default.
  const std::vector<absl::string_view> parts =
      absl::StrSplit(value, absl::MaxSplits(',', 2));
  if (parts[0].empty()) return Error(arg, "missing terminal emulator");
  if (!spec_.xterm.switch_text.empty()) {
    spec_.warnings.push_back(absl::StrCat(arg, ": overrides the earlier '",
                                          spec_.xterm.switch_text, "'"));
  }
  XtermSpec xterm;
  xterm.emulator = std::string(parts[0]);
  if (parts.size() > 1 && !parts[1].empty()) {
    xterm.title_switch = std::string(parts[1]);
  }
  if (parts.size() > 2 && !parts[2].empty()) {
    xterm.exec_switch = std::string(parts[2]);
  }
  xterm.switch_text = std::string(arg);
  spec_.xterm = std::move(xterm);
  return absl::OkStatus();
}

absl::Status Parser::Nosysemu(absl::string_view arg, absl::string_view) {
  spec_.nosysemu = true;
  spec_.warnings.push_back(
      absl::StrCat(arg, ": ignored; kuml does not use ptrace"));
  return absl::OkStatus();
}

absl::Status Parser::Quiet(absl::string_view arg, absl::string_view) {
  // Quiets the VMM and, as in UML, is also the guest kernel's `quiet`.
  spec_.quiet = true;
  spec_.guest_args.push_back(std::string(arg));
  return absl::OkStatus();
}

absl::Status Parser::Noreboot(absl::string_view, absl::string_view) {
  spec_.noreboot = true;
  return absl::OkStatus();
}

absl::Status Parser::Hostfs(absl::string_view arg, absl::string_view value) {
  // hostfs_args(): <root dir>[,<option>...]; the only option is "append".
  const std::vector<absl::string_view> parts = absl::StrSplit(value, ',');
  HostfsSpec hostfs;
  hostfs.root = std::string(parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].empty()) continue;
    if (parts[i] != "append") {
      return Error(arg, absl::StrCat("unsupported option '", parts[i],
                                     "' (only 'append')"));
    }
    hostfs.append = true;
  }
  hostfs.switch_text = std::string(arg);
  if (spec_.hostfs.has_value()) {
    spec_.warnings.push_back(absl::StrCat(arg, ": overrides the earlier '",
                                          spec_.hostfs->switch_text, "'"));
  }
  spec_.hostfs = std::move(hostfs);
  return absl::OkStatus();
}

absl::Status Parser::Ubd(absl::string_view arg, absl::string_view) {
  absl::StatusOr<UbdSwitch> parsed = ParseUbdSwitch(arg);
  if (!parsed.ok()) return parsed.status();
  if (parsed->kind == UbdSwitch::Kind::kSync) {
    spec_.ubd_sync = true;
    spec_.ubd_sync_switch = std::string(arg);
    return absl::OkStatus();
  }
  UbdSpec& disk = parsed->spec;
  if (disk.file.empty()) {
    if (parsed->index != 0) {
      spec_.warnings.push_back(absl::StrCat(
          arg, ": no file given, ubd", parsed->index, " left unconfigured"));
      return absl::OkStatus();
    }
    disk.file = kDefaultRootFs;  // UML's ubd0_init() default
  }
  auto [it, inserted] = spec_.disks.emplace(parsed->index, disk);
  if (!inserted) {
    return Error(
        arg, absl::StrCat("ubd", parsed->index, " is already configured by '",
                          it->second.switch_text, "'"));
  }
  return absl::OkStatus();
}

absl::Status Parser::Udb(absl::string_view arg, absl::string_view) {
  spec_.warnings.push_back(
      absl::StrCat(arg,
                   ": specified on command line is almost certainly a "
                   "ubd -> udb TYPO; ignored"));
  return absl::OkStatus();
}

absl::Status Parser::FakeIde(absl::string_view arg, absl::string_view) {
  spec_.warnings.push_back(absl::StrCat(arg, ": obsolete, ignored"));
  return absl::OkStatus();
}

absl::Status Parser::SslNonRaw(absl::string_view, absl::string_view) {
  spec_.ssl_non_raw = true;
  return absl::OkStatus();
}

absl::Status Parser::Line(absl::string_view arg, absl::string_view) {
  absl::StatusOr<LineSwitch> parsed = ParseLineSwitch(arg);
  if (!parsed.ok()) return parsed.status();
  const bool console = parsed->kind == LineKind::kConsole;
  const absl::string_view name = console ? "con" : "ssl";
  if (parsed->is_default) {
    std::optional<LineSpec>& slot =
        console ? spec_.console_default : spec_.serial_default;
    if (slot.has_value()) {
      return Error(arg, absl::StrCat(name, "= is already given by '",
                                     slot->switch_text, "'"));
    }
    slot = std::move(parsed->spec);
    return absl::OkStatus();
  }
  std::map<int, LineSpec>& lines =
      console ? spec_.consoles : spec_.serial_lines;
  auto [it, inserted] = lines.emplace(parsed->index, parsed->spec);
  if (!inserted) {
    return Error(
        arg, absl::StrCat(name, parsed->index, " is already configured by '",
                          it->second.switch_text, "'"));
  }
  return absl::OkStatus();
}

absl::Status Parser::Eth(absl::string_view arg, absl::string_view) {
  absl::StatusOr<EthSwitch> parsed = ParseEthSwitch(arg);
  if (!parsed.ok()) return parsed.status();
  const int index = parsed->spec.index;
  auto [it, inserted] = spec_.eth.emplace(index, parsed->spec);
  if (!inserted) {
    return Error(arg, absl::StrCat("eth", index, " is already configured by '",
                                   it->second.switch_text, "'"));
  }
  for (std::string& warning : parsed->warnings) {
    spec_.warnings.push_back(std::move(warning));
  }
  return absl::OkStatus();
}

absl::Status Parser::Vec(absl::string_view arg, absl::string_view) {
  absl::StatusOr<VecSpec> parsed = ParseVecSwitch(arg);
  if (!parsed.ok()) return parsed.status();
  const int index = parsed->index;
  // kuml's vector device is a tap with offloads always negotiated: only the
  // interface and the MAC mean something (machine/open_net_transport.cc).
  for (const auto& [key, value] : parsed->options) {
    if (key == "transport" || key == "ifname" || key == "mac") continue;
    spec_.warnings.push_back(absl::StrCat(arg, ": ", key, "=", value,
                                          " is accepted but has no effect in "
                                          "kuml (only ifname= and mac= do)"));
  }
  auto [it, inserted] = spec_.vec.emplace(index, *std::move(parsed));
  if (!inserted) {
    return Error(arg, absl::StrCat("vec", index, " is already configured by '",
                                   it->second.switch_text, "'"));
  }
  return absl::OkStatus();
}

absl::Status Parser::Mconsole(absl::string_view arg, absl::string_view value) {
  absl::string_view path = value;
  if (!absl::ConsumePrefix(&path, "notify:")) {
    return Error(arg, absl::StrCat("Unknown option - '", value,
                                   "' (expected mconsole=notify:<socket>)"));
  }
  if (path.empty()) return Error(arg, "missing notify socket path");
  if (spec_.mconsole_notify.has_value()) {
    spec_.warnings.push_back(absl::StrCat(arg, ": overrides the earlier '",
                                          spec_.mconsole_notify->switch_text,
                                          "'"));
  }
  spec_.mconsole_notify =
      MconsoleNotifySpec{std::string(path), std::string(arg)};
  return absl::OkStatus();
}

absl::Status Parser::Stderr(absl::string_view arg, absl::string_view value) {
  const std::optional<uint64_t> n = ParseWholeNumber(value, 0);
  if (!n.has_value()) {
    return Error(arg, "expected stderr=<number> (0: off, 1: on)");
  }
  NoteRepeat(arg, stderr_switch_);
  spec_.stderr_console = *n != 0;
  spec_.warnings.push_back(absl::StrCat(
      arg,
      ": accepted, no effect: kuml's guest has no early stderr console "
      "(its kernel prints on con0), and kuml's own messages always go "
      "to stderr"));
  return absl::OkStatus();
}

absl::Status Parser::VirtioUml(absl::string_view arg, absl::string_view value) {
  if (value.empty()) return Error(arg, "missing device");
  spec_.virtio_uml_devices.push_back(std::string(arg));
  return absl::OkStatus();
}

MachineSpec Parser::Finish() && {
  if (spec_.disks.count(0) == 0) {
    UbdSpec root;
    root.file = kDefaultRootFs;
    spec_.disks.emplace(0, std::move(root));
  }
  return std::move(spec_);
}

}  // namespace

absl::StatusOr<MachineSpec> ParseCommandLine(
    const std::vector<std::string>& args) {
  // UML handles these while scanning argv and exits at the first one.
  for (const std::string& arg : args) {
    MachineSpec spec;
    if (absl::StartsWith(arg, "--help")) {
      spec.show_help = true;
    } else if (absl::StartsWith(arg, "--version")) {
      spec.show_version = true;
    } else if (absl::StartsWith(arg, "--showconfig")) {
      spec.show_config = true;
    } else {
      continue;
    }
    return spec;
  }

  Parser parser;
  for (const std::string& arg : args) {
    absl::Status status = parser.Parse(arg);
    if (!status.ok()) return status;
  }
  return std::move(parser).Finish();
}

}  // namespace kuml
