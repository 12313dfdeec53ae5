#include "kumld/paths.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

namespace kuml::kumld {

std::string DefaultUmlDir() {
  const char* home = getenv("HOME");
  if (home == nullptr || *home == '\0') {
    const passwd* pw = getpwuid(getuid());
    home = pw != nullptr ? pw->pw_dir : "/tmp";
  }
  return std::string(home) + "/.uml";
}

std::string DefaultSocketPath() {
  const char* env = getenv("KUMLD_SOCKET");
  if (env != nullptr && *env != '\0') return env;
  return DefaultUmlDir() + "/kumld.sock";
}

}  // namespace kuml::kumld
