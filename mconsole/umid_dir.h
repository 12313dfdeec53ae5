// UmidDir: a guest's directory <uml_dir>/<umid>/ as UML keeps it
// (arch/um/os-Linux/umid.c): created at start with a `pid` file, home of the
// `mconsole` socket (and kuml's `grpc` socket), removed with everything in
// it when the guest ends.
//
// No umid: a random 6-character one (mkdtemp). A umid whose directory exists
// is taken over when the pid in it is dead (or missing); when that pid is
// alive UML says `umid "x" is already in use by pid N` and runs under a
// random umid instead -- so does kuml (the message is returned in
// `warning`).
#ifndef KUML_MCONSOLE_UMID_DIR_H_
#define KUML_MCONSOLE_UMID_DIR_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace kuml::mconsole {

class UmidDir {
 public:
  // `uml_dir` empty: $HOME/.uml. Creates uml_dir itself when missing.
  static absl::StatusOr<std::unique_ptr<UmidDir>> Create(
      const std::string& uml_dir, const std::string& umid);
  ~UmidDir();  // removes the directory and what is in it

  UmidDir(const UmidDir&) = delete;
  UmidDir& operator=(const UmidDir&) = delete;

  const std::string& umid() const { return umid_; }
  const std::string& path() const { return path_; }  // no trailing '/'
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  // Set when the requested umid was in use and a random one was picked.
  const std::string& warning() const { return warning_; }

 private:
  UmidDir(std::string umid, std::string path, std::string warning)
      : umid_(std::move(umid)),
        path_(std::move(path)),
        warning_(std::move(warning)) {}

  std::string umid_;
  std::string path_;
  std::string warning_;
};

// $HOME/.uml (or the passwd entry's home) when `uml_dir` is empty, else
// `uml_dir`; without a trailing '/'.
std::string ResolveUmlDir(const std::string& uml_dir);

// The pid recorded in <dir>/pid when that process is alive; 0 otherwise.
pid_t LivePid(const std::string& dir);

}  // namespace kuml::mconsole

#endif  // KUML_MCONSOLE_UMID_DIR_H_
