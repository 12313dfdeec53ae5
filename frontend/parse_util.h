// Small text parsers shared by the switch parsers: numbers read the way the
// kernel's simple_strtoull reads them (but with overflow detected), UML's
// memparse sizes, interface names (MAC and IPv4 addresses: util/net_address.h).
// Pure functions, no I/O.
#ifndef KUML_FRONTEND_PARSE_UTIL_H_
#define KUML_FRONTEND_PARSE_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kuml {

// The unsigned number at the start of a string.
struct NumberPrefix {
  uint64_t value = 0;
  size_t length = 0;      // characters consumed; 0: no number there
  bool overflow = false;  // more than 64 bits (value is then meaningless)
};

// Reads the longest number at the start of `text` in `base` (8, 10, 16, or 0
// for C rules: "0x1f" hex, "017" octal, else decimal). Like simple_strtoull:
// no sign, no spaces; "0x" not followed by a hex digit reads as "0"; base 16
// also skips a "0x" prefix.
NumberPrefix ParseNumberPrefix(absl::string_view text, int base);

// The whole of `text` as a number; nullopt when empty, not all digits, or
// over `max`.
std::optional<uint64_t> ParseWholeNumber(absl::string_view text, int base,
                                         uint64_t max = UINT64_MAX);

// UML/Linux memparse: a number in base 0 followed by an optional suffix
// k/K m/M g/G t/T p/P e/E (powers of 1024), nothing after it (UML ignores
// trailing text; kuml refuses it). Rounded up to 4 KiB. Refuses empty text,
// garbage, zero, overflow and sizes below kMinMemBytes. Messages do not name
// the switch; the caller prefixes them.
absl::StatusOr<uint64_t> ParseMemSize(absl::string_view text);

// A Linux network interface name (dev_valid_name): 1..15 characters, not
// "." or "..", no '/', ':' or white space.
bool IsValidInterfaceName(absl::string_view name);

}  // namespace kuml

#endif  // KUML_FRONTEND_PARSE_UTIL_H_
