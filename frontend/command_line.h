// ParseCommandLine: the UML command line (`kuml ubd0=root_fs con0=fd:0,fd:1
// mem=128M init=/init`) -> MachineSpec. Pure: no I/O, no file access; file
// names are only recorded.
//
// How arguments are matched, as in UML (kernel/um_arch.c, init/main.c):
//  * Switch names match by PREFIX: "mem=" catches mem=128M, "ubd" catches
//    every argument that starts with ubd (ubd0=, ubdb=, ubd=sync ...), "con"
//    every con... except console=, "eth"/"vec"/"ssl"/"udb" likewise.
//    Consequence kept from UML: an argument such as consoleblank=0 is read as
//    a console switch and refused ("Couldn't parse device number").
//  * Stricter than UML: the flag words debug, nosysemu, quiet, noreboot,
//    ssl-non-raw must match exactly (UML would also take "quietly"); anything
//    that only starts with them goes to the guest.
//  * UML's own switches (root=, umid=, uml_dir=, mem=, iomem=, initrd=,
//    xterm=, hostfs=, console=, debug, nosysemu, quiet, noreboot, --help,
//    --version, --showconfig) and kuml's kernel= apply anywhere. The driver
//    switches that the UML kernel parses (ubd, udb, fake_ide, con, ssl, eth,
//    vec, mconsole=, stderr=, virtio_uml.device=) stop at a "--" argument:
//    after it they are arguments for the guest's init, as in Linux.
//  * --help, --version, --showconfig: the first of them wins and nothing
//    else is parsed (UML prints and exits while scanning argv).
//  * Every other argument goes to the guest kernel command line, in order.
//
// Repeated switches: a second ubd/con/ssl/eth/vec switch for the same device
// (ubd0= and ubda=, con= twice) is an error naming both. (UML refuses a second
// ubd too, but lets a later con<n>=/con= win.) umid= keeps the first value
// with a warning, as UML does; other single-valued switches (mem=, kernel=,
// initrd=, uml_dir=, xterm=, hostfs=, stderr=, mconsole=) keep the last, with
// a warning.
//
// Every error is InvalidArgument and its message starts with the offending
// argument: "ubd0x=foo: Expected '=' or flag letter (r, s, c, t or d)".
#ifndef KUML_FRONTEND_COMMAND_LINE_H_
#define KUML_FRONTEND_COMMAND_LINE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "frontend/machine_spec.h"

namespace kuml {

// `args` excludes argv[0].
absl::StatusOr<MachineSpec> ParseCommandLine(
    const std::vector<std::string>& args);

}  // namespace kuml

#endif  // KUML_FRONTEND_COMMAND_LINE_H_
