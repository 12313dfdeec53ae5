// Parser for one UML block-device switch,
//   ubd<n><flags>=<file>[(,|:)<backing file>][(,|:)<serial>]   or  ubd=sync
// following drivers/ubd_kern.c ubd_setup_common. Shared by the command line
// and (later) mconsole's `config ubd<n>=...`.
#ifndef KUML_FRONTEND_UBD_SWITCH_H_
#define KUML_FRONTEND_UBD_SWITCH_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "frontend/machine_spec.h"

namespace kuml {

struct UbdSwitch {
  enum class Kind { kDevice, kSync };
  Kind kind = Kind::kDevice;
  int index = -1;  // kDevice: 0..15
  // kDevice. An empty spec.file means "no file given": UML leaves the device
  // unconfigured, and an unconfigured ubd0 becomes ./root_fs (keeping the
  // flags, so `ubd0r=` is a read-only root_fs).
  UbdSpec spec;
};

// `arg` is the whole switch and must start with "ubd". <n> is a number in
// base 0 (decimal, 0x hex, 0 octal) or one letter a..p; up to 6 flag letters
// from r s d c t; file names are split at ',' or ':'. Stricter than UML: a
// fourth field, or a backing file/serial without a file, is an error.
// Errors are InvalidArgument("<arg>: <UML's message>").
absl::StatusOr<UbdSwitch> ParseUbdSwitch(absl::string_view arg);

}  // namespace kuml

#endif  // KUML_FRONTEND_UBD_SWITCH_H_
