// `umlctl cow ...`: the COW tools, with uml_mkcow's and uml_moo's semantics.
//
//   cow create [-f] <COW file> <backing file>            (uml_mkcow)
//   cow merge [-f] [-b <backing file>] <COW file> <new image>  (uml_moo)
//   cow merge [-b <backing file>] -d <COW file>          (uml_moo -d)
//   cow info <COW file>...
//
// Exit status: 0 done, 1 failed (the message names the file and what is
// wrong; nothing was changed), 2 usage error.
#ifndef KUML_DISK_COW_COMMAND_H_
#define KUML_DISK_COW_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

namespace kuml {

// `args` are the words after "cow". A progress bar is drawn on merges of
// large files when `out` is std::cout and stdout is a terminal.
int RunCowCommand(const std::vector<std::string>& args, std::ostream& out,
                  std::ostream& err);

// The usage text (also printed by `cow help`).
const char* CowUsage();

}  // namespace kuml

#endif  // KUML_DISK_COW_COMMAND_H_
