#include "devices/gdb/hex.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kuml {
namespace {

constexpr char kDigits[] = "0123456789abcdef";

// At most this much of a bad argument is quoted in a message.
constexpr size_t kQuote = 32;

}  // namespace

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string HexEncode(absl::Span<const uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::string HexEncode(absl::string_view bytes) {
  return HexEncode(absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

absl::StatusOr<std::vector<uint8_t>> HexDecode(absl::string_view hex) {
  if (hex.size() % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "hex data has an odd number of digits (%u)", hex.size()));
  }
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = HexDigitValue(hex[2 * i]);
    const int lo = HexDigitValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "hex data has a non-hex character at offset %u", 2 * i));
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

absl::StatusOr<uint64_t> ParseHexNumber(absl::string_view hex) {
  if (hex.empty() || hex.size() > 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", absl::CHexEscape(hex.substr(0, kQuote)),
                     "' is not a hex number of 1 to 16 digits"));
  }
  uint64_t value = 0;
  for (char c : hex) {
    const int d = HexDigitValue(c);
    if (d < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", absl::CHexEscape(hex.substr(0, kQuote)),
                       "' is not a hex number"));
    }
    value = value << 4 | static_cast<uint64_t>(d);
  }
  return value;
}

std::string HexNumber(uint64_t value) { return absl::StrFormat("%x", value); }

}  // namespace kuml
