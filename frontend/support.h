// CheckSupported: which parts of the UML syntax this release of the VMM can
// actually run. ParseCommandLine accepts the whole UML syntax; this check
// then refuses, by name, the switches whose devices or backends do not exist
// yet, so a user never boots a machine that silently lacks what they asked
// for. The rules are a table in support.cc with one entry per missing
// feature: implementing a feature means deleting its entry.
//
// Supported now: ubd<n> with flag r and a serial but no backing file;
// con0 on host fds (fd:N or fd:N,fd:M); other consoles and serial lines only
// as none or null (both mean "absent" for now: no guest device is created);
// umid=, uml_dir=, kernel=, initrd=, mem=, noreboot, quiet, root=, init=,
// console=, xterm= (it only configures xterm channels), and the no-op
// switches debug, nosysemu, stderr=, ssl-non-raw, udb*, fake_ide.
//
// Run it after handling show_help/show_version: those need no machine.
#ifndef KUML_FRONTEND_SUPPORT_H_
#define KUML_FRONTEND_SUPPORT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "frontend/machine_spec.h"

namespace kuml {

// OK, or Unimplemented("not supported yet: <switch> [<switch>...]") naming
// every offending switch once, as the user typed it.
absl::Status CheckSupported(const MachineSpec& spec);

// The offending switch texts themselves (empty: all supported).
std::vector<std::string> UnsupportedSwitches(const MachineSpec& spec);

}  // namespace kuml

#endif  // KUML_FRONTEND_SUPPORT_H_
