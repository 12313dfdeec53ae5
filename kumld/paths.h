// Default places shared by kumld and its clients.
#ifndef KUML_KUMLD_PATHS_H_
#define KUML_KUMLD_PATHS_H_

#include <string>

namespace kuml::kumld {

// $HOME/.uml (UML's default uml_dir), without a trailing '/'.
std::string DefaultUmlDir();
// $KUMLD_SOCKET, else <DefaultUmlDir()>/kumld.sock.
std::string DefaultSocketPath();

}  // namespace kuml::kumld

#endif  // KUML_KUMLD_PATHS_H_
