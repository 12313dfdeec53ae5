// Hex text as the gdb remote protocol writes it: memory and registers as
// pairs of hex digits per byte (target byte order), numbers (addresses,
// lengths, thread ids) as big-endian hex without a prefix. Decoding is strict
// -- a debugger's packets are outside input -- and accepts either case.
#ifndef KUML_DEVICES_GDB_HEX_H_
#define KUML_DEVICES_GDB_HEX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace kuml {

// The value of hex digit `c`, or -1 if it is not one.
int HexDigitValue(char c);

// Two lowercase hex digits per byte.
std::string HexEncode(absl::Span<const uint8_t> bytes);
std::string HexEncode(absl::string_view bytes);

// The bytes of an even-length string of hex digits. InvalidArgument (naming
// what was found) otherwise.
absl::StatusOr<std::vector<uint8_t>> HexDecode(absl::string_view hex);

// A number of 1 to 16 hex digits (no sign, no prefix).
absl::StatusOr<uint64_t> ParseHexNumber(absl::string_view hex);

// `value` in lowercase hex without leading zeros ("0" for zero).
std::string HexNumber(uint64_t value);

}  // namespace kuml

#endif  // KUML_DEVICES_GDB_HEX_H_
