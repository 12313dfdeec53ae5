#include "frontend/line_switch.h"

#include <climits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "frontend/parse_util.h"
#include "util/net_address.h"

namespace kuml {
namespace {

absl::Status Error(absl::string_view arg, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(arg, ": ", why));
}

constexpr char kChannelHelp[] =
    "expected fd:<N>, null, port:<N>, pty, pts, tty:<device>, xterm, or none";

}  // namespace

absl::StatusOr<ChannelSpec> ParseChannel(absl::string_view text) {
  ChannelSpec chan;
  absl::string_view rest = text;
  if (absl::ConsumePrefix(&rest, "fd")) {
    chan.type = ChannelSpec::Type::kFd;
    if (!absl::ConsumePrefix(&rest, ":")) {
      return absl::InvalidArgumentError(
          "channel type 'fd' must specify a file descriptor");
    }
    const std::optional<uint64_t> fd = ParseWholeNumber(rest, 0, INT_MAX);
    if (!fd.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("couldn't parse file descriptor '", rest, "'"));
    }
    chan.fd = static_cast<int>(*fd);
    return chan;
  }
  if (absl::ConsumePrefix(&rest, "port")) {
    chan.type = ChannelSpec::Type::kPort;
    if (!absl::ConsumePrefix(&rest, ":")) {
      return absl::InvalidArgumentError(
          "channel type 'port' must specify a port number");
    }
    // port:<addr>:<port> listens on one address; UML's port:<port>, on all.
    if (const size_t colon = rest.rfind(':');
        colon != absl::string_view::npos) {
      const absl::string_view address = rest.substr(0, colon);
      chan.listen_address = ParseIpv4Address(address);
      if (!chan.listen_address.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "couldn't parse listening address '", address, "' (a.b.c.d)"));
      }
      rest.remove_prefix(colon + 1);
    }
    const std::optional<uint64_t> port = ParseWholeNumber(rest, 0, 65535);
    if (!port.has_value() || *port == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("couldn't parse port '", rest, "' (1..65535)"));
    }
    chan.port = static_cast<uint16_t>(*port);
    return chan;
  }
  if (absl::ConsumePrefix(&rest, "tty")) {
    chan.type = ChannelSpec::Type::kTty;
    if (!absl::ConsumePrefix(&rest, ":") || rest.empty()) {
      return absl::InvalidArgumentError(
          "channel type 'tty' must specify a device");
    }
    chan.tty_path = std::string(rest);
    return chan;
  }
  if (text == "null") {
    chan.type = ChannelSpec::Type::kNull;
  } else if (text == "pty") {
    chan.type = ChannelSpec::Type::kPty;
  } else if (text == "pts") {
    chan.type = ChannelSpec::Type::kPts;
  } else if (text == "xterm") {
    chan.type = ChannelSpec::Type::kXterm;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown channel '", text, "' (", kChannelHelp, ")"));
  }
  return chan;
}

absl::StatusOr<LineSpec> ParseLineConfig(absl::string_view config) {
  LineSpec line;
  line.config = std::string(config);
  if (config == "none") {
    line.none = true;
    return line;
  }
  const size_t comma = config.find(',');
  const absl::string_view in = config.substr(0, comma);
  absl::StatusOr<ChannelSpec> input = ParseChannel(in);
  if (!input.ok()) return input.status();
  line.input = *input;
  if (comma == absl::string_view::npos) {
    line.output = *input;
    return line;
  }
  absl::StatusOr<ChannelSpec> output = ParseChannel(config.substr(comma + 1));
  if (!output.ok()) return output.status();
  line.output = *output;
  return line;
}

absl::StatusOr<LineSwitch> ParseLineSwitch(absl::string_view arg) {
  LineSwitch result;
  absl::string_view rest = arg;
  if (absl::ConsumePrefix(&rest, "con")) {
    result.kind = LineKind::kConsole;
  } else if (absl::ConsumePrefix(&rest, "ssl")) {
    result.kind = LineKind::kSerial;
  } else {
    return Error(arg, "not a con or ssl switch");
  }

  if (absl::ConsumePrefix(&rest, "=")) {
    result.is_default = true;
  } else {
    // line_setup(): simple_strtoul(base 0) must stop at the '='.
    const NumberPrefix n = ParseNumberPrefix(rest, 0);
    if (n.length == 0 || n.length >= rest.size() || rest[n.length] != '=') {
      return Error(arg, "Couldn't parse device number");
    }
    if (n.overflow ||
        n.value >= static_cast<uint64_t>(LineCount(result.kind))) {
      return Error(arg, "Device number out of range");
    }
    result.index = static_cast<int>(n.value);
    rest.remove_prefix(n.length + 1);
  }

  absl::StatusOr<LineSpec> spec = ParseLineConfig(rest);
  if (!spec.ok()) {
    return Error(arg, absl::StrCat("failed to parse channel pair: ",
                                   spec.status().message()));
  }
  result.spec = *std::move(spec);
  result.spec.switch_text = std::string(arg);
  return result;
}

}  // namespace kuml
