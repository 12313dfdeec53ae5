#include "frontend/parse_util.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "frontend/machine_spec.h"

namespace kuml {
namespace {

int DigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}

bool IsHexPrefix(absl::string_view text) {
  return text.size() >= 3 && text[0] == '0' &&
         (text[1] == 'x' || text[1] == 'X') && DigitValue(text[2]) < 16;
}

}  // namespace

NumberPrefix ParseNumberPrefix(absl::string_view text, int base) {
  NumberPrefix result;
  size_t pos = 0;
  if (base == 0) {
    if (IsHexPrefix(text)) {
      base = 16;
    } else if (!text.empty() && text[0] == '0') {
      base = 8;
    } else {
      base = 10;
    }
  }
  if (base == 16 && IsHexPrefix(text)) pos = 2;
  const size_t start = pos;
  while (pos < text.size()) {
    const int digit = DigitValue(text[pos]);
    if (digit >= base) break;
    if (result.value > (UINT64_MAX - digit) / base) result.overflow = true;
    result.value = result.value * base + digit;
    ++pos;
  }
  result.length = pos == start ? 0 : pos;
  return result;
}

std::optional<uint64_t> ParseWholeNumber(absl::string_view text, int base,
                                         uint64_t max) {
  const NumberPrefix n = ParseNumberPrefix(text, base);
  if (n.length == 0 || n.length != text.size() || n.overflow || n.value > max) {
    return std::nullopt;
  }
  return n.value;
}

absl::StatusOr<uint64_t> ParseMemSize(absl::string_view text) {
  if (text.empty()) {
    return absl::InvalidArgumentError("missing memory size");
  }
  const NumberPrefix n = ParseNumberPrefix(text, 0);
  if (n.length == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad memory size '", text, "'"));
  }
  if (n.overflow) {
    return absl::InvalidArgumentError("memory size is too large");
  }
  int shift = 0;
  size_t end = n.length;
  if (end < text.size()) {
    switch (text[end]) {
      case 'e':
      case 'E':
        shift += 10;
        [[fallthrough]];
      case 'p':
      case 'P':
        shift += 10;
        [[fallthrough]];
      case 't':
      case 'T':
        shift += 10;
        [[fallthrough]];
      case 'g':
      case 'G':
        shift += 10;
        [[fallthrough]];
      case 'm':
      case 'M':
        shift += 10;
        [[fallthrough]];
      case 'k':
      case 'K':
        shift += 10;
        ++end;
        break;
      default:
        break;
    }
  }
  if (end != text.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad memory size '", text, "' (trailing '", text.substr(end),
        "'; expected a number with an optional K, M, G or T suffix)"));
  }
  if (n.value == 0) {
    return absl::InvalidArgumentError("memory size must not be zero");
  }
  if (shift > 0 && n.value > (UINT64_MAX >> shift)) {
    return absl::InvalidArgumentError("memory size is too large");
  }
  uint64_t bytes = n.value << shift;
  if (bytes > UINT64_MAX - (kMemGranule - 1)) {
    return absl::InvalidArgumentError("memory size is too large");
  }
  bytes = (bytes + kMemGranule - 1) & ~(kMemGranule - 1);
  if (bytes < kMinMemBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("memory size ", bytes, " bytes is below the minimum of ",
                     kMinMemBytes >> 20, "M"));
  }
  return bytes;
}

bool IsValidInterfaceName(absl::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") {
    return false;
  }
  for (char c : name) {
    if (c == '/' || c == ':' || absl::ascii_isspace(c) ||
        !absl::ascii_isprint(c)) {
      return false;
    }
  }
  return true;
}

}  // namespace kuml
