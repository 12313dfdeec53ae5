// `umlctl fleet ...`: the client side of kumld's Host service.
//
//   fleet [--socket=PATH] up [--no-wait] [--timeout=SECONDS] <manifest>
//   fleet [--socket=PATH] ls
//   fleet [--socket=PATH] down [<umid>]
//   fleet [--socket=PATH] stop|start|destroy <umid>
//   fleet [--socket=PATH] <umid> <mconsole command...>   (e.g. g1 version)
//
// The socket: --socket, else $KUMLD_SOCKET, else ~/.uml/kumld.sock.
#ifndef KUML_KUMLD_FLEET_COMMAND_H_
#define KUML_KUMLD_FLEET_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

namespace kuml::kumld {

// `args` are the words after "fleet". Returns the exit status: 0 done,
// 1 failed (the daemon's or the guest's error on `err`), 2 usage.
int RunFleetCommand(const std::vector<std::string>& args, std::ostream& out,
                    std::ostream& err);

}  // namespace kuml::kumld

#endif  // KUML_KUMLD_FLEET_COMMAND_H_
