// umlctl: the command-line client of kuml's gRPC API.
//
//   umlctl [--json] [--uml-dir=DIR] <umid|socket> <command> [args...]
//   umlctl [--json] [--uml-dir=DIR] list
//   umlctl cow ...                       (COW tools; see disk/)
//
// <command> is any mconsole command, matched by UML's prefix rules exactly as
// uml_mconsole sends it (`umlctl debian config ubd1=/srv/hot.img`); the
// output and exit status mirror uml_mconsole ("OK <text>" / "ERR <text>",
// exit err & 0xff). With --json the RPC's structured reply is printed as a
// JSON object instead. <umid> means <uml dir>/<umid>/grpc; an argument with
// a '/' is a socket path, or a umid directory holding `grpc`.
#ifndef KUML_CLI_UMLCTL_H_
#define KUML_CLI_UMLCTL_H_

#include <ostream>
#include <string>
#include <vector>

namespace kuml {

// Runs umlctl with `args` (argv without the program name); returns the exit
// status.
int RunUmlctl(const std::vector<std::string>& args, std::ostream& out,
              std::ostream& err);

// Where the gRPC socket of `target` (umid, socket path or umid dir) is.
std::string ResolveGrpcSocket(const std::string& target,
                              const std::string& uml_dir);

}  // namespace kuml

#endif  // KUML_CLI_UMLCTL_H_
