#include "frontend/ubd_switch.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "frontend/parse_util.h"

namespace kuml {
namespace {

absl::Status Error(absl::string_view arg, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(arg, ": ", why));
}

}  // namespace

absl::StatusOr<UbdSwitch> ParseUbdSwitch(absl::string_view arg) {
  if (!absl::StartsWith(arg, "ubd")) {
    return Error(arg, "not a ubd switch");
  }
  absl::string_view rest = arg.substr(3);
  UbdSwitch result;

  if (absl::ConsumePrefix(&rest, "=")) {
    if (rest == "sync") {
      result.kind = UbdSwitch::Kind::kSync;
      return result;
    }
    // UML prints this and ignores the switch; kuml refuses it so that a
    // typo for ubd0= does not silently boot without the disk.
    return Error(arg, "fake major not supported any more");
  }

  // parse_unit(): digits in base 0, or a single lower-case letter.
  uint64_t index = 0;
  if (!rest.empty() && absl::ascii_isdigit(rest[0])) {
    const NumberPrefix n = ParseNumberPrefix(rest, 0);
    if (n.overflow) return Error(arg, "Device number out of range");
    index = n.value;
    rest.remove_prefix(n.length);
  } else if (!rest.empty() && rest[0] >= 'a' && rest[0] <= 'z') {
    index = rest[0] - 'a';
    rest.remove_prefix(1);
  } else {
    return Error(arg, "Couldn't parse device number");
  }
  if (index >= kMaxUbdDevices) return Error(arg, "Device number out of range");
  result.index = static_cast<int>(index);

  // Flags: UML's loop runs sizeof("rscdt=") == 7 times, so at most six
  // letters may precede the '='.
  UbdSpec& spec = result.spec;
  bool found_equals = false;
  for (int i = 0; i < 7 && !found_equals; ++i) {
    const char c = rest.empty() ? '\0' : rest[0];
    switch (c) {
      case 'r':
        spec.read_only = true;
        break;
      case 's':
        spec.sync = true;
        break;
      case 'd':
        spec.no_cow = true;
        break;
      case 'c':
        spec.shared = true;
        break;
      case 't':
        spec.no_trim = true;
        break;
      case '=':
        found_equals = true;
        break;
      default:
        return Error(arg, "Expected '=' or flag letter (r, s, c, t or d)");
    }
    rest.remove_prefix(1);
  }
  if (!found_equals) {
    return Error(arg, absl::StartsWith(rest, "=") ? "Too many flags specified"
                                                  : "Missing '='");
  }

  const std::vector<absl::string_view> fields =
      absl::StrSplit(rest, absl::ByAnyChar(",:"));
  if (fields.size() > 3) {
    return Error(arg,
                 "too many fields (expected <file>[,<backing file>][,<serial>];"
                 " file names can't contain ',' or ':')");
  }
  spec.file = std::string(fields[0]);
  if (fields.size() > 1) spec.backing_file = std::string(fields[1]);
  if (fields.size() > 2) spec.serial = std::string(fields[2]);
  if (spec.file.empty() &&
      (!spec.backing_file.empty() || !spec.serial.empty())) {
    return Error(arg, "missing file name");
  }
  if (!spec.backing_file.empty() && spec.no_cow) {
    return Error(arg, "Can't specify both 'd' and a cow file");
  }
  spec.switch_text = std::string(arg);
  return result;
}

}  // namespace kuml
