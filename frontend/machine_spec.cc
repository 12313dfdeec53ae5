#include "frontend/machine_spec.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kuml {

std::string ChannelSpec::ToString() const {
  switch (type) {
    case Type::kFd:
      return absl::StrCat("fd:", fd);
    case Type::kNull:
      return "null";
    case Type::kPort:
      return listen_address.has_value()
                 ? absl::StrCat("port:", listen_address->ToString(), ":", port)
                 : absl::StrCat("port:", port);
    case Type::kPty:
      return "pty";
    case Type::kPts:
      return "pts";
    case Type::kTty:
      return absl::StrCat("tty:", tty_path);
    case Type::kXterm:
      return "xterm";
  }
  return "?";
}

int LineCount(LineKind kind) {
  return kind == LineKind::kConsole ? kMaxConsoles : kMaxSerialLines;
}

namespace {

LineSpec NoneLine() {
  LineSpec line;
  line.none = true;
  line.config = "none";
  return line;
}

LineSpec BuiltinDefault(LineKind kind, int n) {
  if (kind == LineKind::kConsole && n == 0) {
    LineSpec line;
    line.input.type = ChannelSpec::Type::kFd;
    line.input.fd = 0;
    line.output.type = ChannelSpec::Type::kFd;
    line.output.fd = 1;
    line.config = "fd:0,fd:1";
    return line;
  }
  return NoneLine();
}

}  // namespace

LineSpec EffectiveLine(const MachineSpec& spec, LineKind kind, int n) {
  if (n < 0 || n >= LineCount(kind)) return NoneLine();
  const bool console = kind == LineKind::kConsole;
  const std::map<int, LineSpec>& lines =
      console ? spec.consoles : spec.serial_lines;
  auto it = lines.find(n);
  if (it != lines.end()) return it->second;
  const std::optional<LineSpec>& fallback =
      console ? spec.console_default : spec.serial_default;
  if (fallback.has_value()) return *fallback;
  return BuiltinDefault(kind, n);
}

}  // namespace kuml
