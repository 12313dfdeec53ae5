// gdb=<port|path>: where kuml's gdb stub listens, from the command line and
// from mconsole's `config gdb=...`.
#ifndef KUML_FRONTEND_GDB_SWITCH_H_
#define KUML_FRONTEND_GDB_SWITCH_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "frontend/machine_spec.h"

namespace kuml {

// `value` is what follows "gdb=": a TCP port 1-65535 (on 127.0.0.1), or a
// unix socket path (anything with a '/'). InvalidArgument otherwise, with
// a message that says what is expected (without the switch's name).
absl::StatusOr<GdbListen> ParseGdbListen(absl::string_view value);

}  // namespace kuml

#endif  // KUML_FRONTEND_GDB_SWITCH_H_
