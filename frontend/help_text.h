// The texts kuml prints for --help and --version.
#ifndef KUML_FRONTEND_HELP_TEXT_H_
#define KUML_FRONTEND_HELP_TEXT_H_

#include <string>

namespace kuml {

inline constexpr char kKumlVersion[] = "0.1.0";

// "kuml 0.1.0" (UML's --version prints only its kernel version).
std::string VersionString();

// Usage and one line per switch, UML's switches plus kernel=.
std::string HelpText();

}  // namespace kuml

#endif  // KUML_FRONTEND_HELP_TEXT_H_
