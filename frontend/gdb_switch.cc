#include "frontend/gdb_switch.h"

#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "frontend/parse_util.h"

namespace kuml {

absl::StatusOr<GdbListen> ParseGdbListen(absl::string_view value) {
  // A number is a TCP port (on 127.0.0.1 only: a debugger owns the guest);
  // a path is a unix socket.
  GdbListen listen;
  if (absl::StrContains(value, '/')) {
    listen.is_unix = true;
    listen.path = std::string(value);
    return listen;
  }
  const std::optional<uint64_t> port = ParseWholeNumber(value, 10, 65535);
  if (!port.has_value() || *port == 0) {
    return absl::InvalidArgumentError(
        "expected gdb=<TCP port 1-65535> or gdb=<unix socket path with a "
        "'/'>");
  }
  listen.port = static_cast<uint16_t>(*port);
  return listen;
}

}  // namespace kuml
