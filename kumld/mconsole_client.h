// A client for UML's legacy mconsole socket (~/.uml/<umid>/mconsole): the
// datagram protocol that uml_mconsole speaks (shared/reference/
// uml-interfaces.md section 4.2). Works against the real UML and kuml.
#ifndef KUML_KUMLD_MCONSOLE_CLIENT_H_
#define KUML_KUMLD_MCONSOLE_CLIENT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kuml::kumld {

struct MconsoleAnswer {
  int32_t err = 0;   // 0 ok, 1 error, or -errno (config/remove)
  std::string text;  // every reply packet's text, concatenated
};

// The 524-byte request uml_mconsole sends (magic, version 2, len, data).
// InvalidArgument when the command does not fit (511 characters at most).
absl::StatusOr<std::string> EncodeMconsoleRequest(absl::string_view command);

// Sends `command` and collects replies until the one with more=0. Fails
// when the socket is absent, or no final reply came within `timeout`.
absl::StatusOr<MconsoleAnswer> SendMconsoleCommand(
    const std::string& socket_path, absl::string_view command,
    absl::Duration timeout = absl::Seconds(5));

}  // namespace kuml::kumld

#endif  // KUML_KUMLD_MCONSOLE_CLIENT_H_
