#include "mconsole/umid_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "util/errno_status.h"
#include "util/unique_fd.h"

namespace kuml::mconsole {
namespace {

// Why `dir` is not a umid directory this process may take over or remove:
// empty when it is a real directory (not a symlink) owned by our uid. In a
// shared uml_dir anyone can plant a name; following a planted symlink would
// empty its target.
std::string NotOurs(int dir_fd) {
  struct stat st;
  if (::fstat(dir_fd, &st) != 0) return "cannot be inspected";
  if (!S_ISDIR(st.st_mode)) return "is not a directory";
  if (st.st_uid != ::geteuid()) {
    return absl::StrCat("belongs to uid ", st.st_uid, ", not ", ::geteuid());
  }
  return "";
}

// Opens `dir` itself, never what a symlink there points to.
UniqueFd OpenDirNoFollow(const std::string& dir) {
  return UniqueFd(
      ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

// Removes the files in `dir` (UML's umid dir holds no subdirectories),
// then the directory -- only when it is a directory of ours; the files are
// unlinked relative to the opened directory, so a rename or symlink swapped
// in meanwhile changes nothing outside it.
void RemoveDirAndFiles(const std::string& dir) {
  UniqueFd fd = OpenDirNoFollow(dir);
  if (!fd.valid() || !NotOurs(fd.get()).empty()) return;
  UniqueFd listing(::dup(fd.get()));
  if (DIR* d = listing.valid() ? ::fdopendir(listing.get()) : nullptr;
      d != nullptr) {
    (void)listing.Release();  // the DIR owns it now
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
    for (const std::string& name : names) {
      ::unlinkat(fd.get(), name.c_str(), 0);
    }
  }
  ::rmdir(dir.c_str());
}

absl::Status WritePidFile(const std::string& dir) {
  std::string file = dir + "/pid";
  UniqueFd fd(
      ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoStatus(absl::StrCat("creating ", file));
  std::string text = absl::StrCat(::getpid(), "\n");
  if (::write(fd.get(), text.data(), text.size()) !=
      static_cast<ssize_t>(text.size())) {
    return ErrnoStatus(absl::StrCat("writing ", file));
  }
  return absl::OkStatus();
}

absl::Status MakeDirs(const std::string& path) {
  // mkdir -p: UML creates uml_dir itself (make_uml_dir).
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      std::string prefix = path.substr(0, i);
      if (::mkdir(prefix.c_str(), 0777) != 0 && errno != EEXIST) {
        return ErrnoStatus(absl::StrCat("creating ", prefix));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string ResolveUmlDir(const std::string& uml_dir) {
  std::string dir = uml_dir;
  if (dir.empty()) {
    const char* home = std::getenv("HOME");
    std::string h = home != nullptr ? home : "";
    if (h.empty()) {
      if (passwd* pw = ::getpwuid(::getuid()); pw != nullptr) h = pw->pw_dir;
    }
    dir = h + "/.uml";
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

pid_t LivePid(const std::string& dir) {
  std::ifstream in(dir + "/pid");
  std::string text;
  if (!std::getline(in, text)) return 0;
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &pid) || pid <= 0) {
    return 0;
  }
  // EPERM: alive but someone else's -- still alive.
  if (::kill(pid, 0) == 0 || errno == EPERM) return pid;
  return 0;
}

absl::StatusOr<std::unique_ptr<UmidDir>> UmidDir::Create(
    const std::string& uml_dir, const std::string& umid) {
  const std::string base = ResolveUmlDir(uml_dir);
  absl::Status s = MakeDirs(base);
  if (!s.ok()) return s;

  std::string warning;
  if (!umid.empty()) {
    std::string path = base + "/" + umid;
    bool made = ::mkdir(path.c_str(), 0777) == 0;
    if (!made && errno == EEXIST) {
      UniqueFd existing = OpenDirNoFollow(path);
      const std::string why = existing.valid()
                                  ? NotOurs(existing.get())
                                  : "is not a directory (a symlink?)";
      pid_t owner = why.empty() ? LivePid(path) : 0;
      if (!why.empty()) {
        warning = absl::StrCat("umid \"", umid, "\": ", path, " ", why,
                               "; not taking it over");
      } else if (owner == 0) {
        // A dead guest's leftovers: take the umid over (UML does).
        RemoveDirAndFiles(path);
        made = ::mkdir(path.c_str(), 0777) == 0;
      } else {
        warning = absl::StrCat("umid \"", umid, "\" is already in use by pid ",
                               owner);
      }
    } else if (!made) {
      return ErrnoStatus(absl::StrCat("creating ", path));
    }
    if (made) {
      s = WritePidFile(path);
      if (!s.ok()) {
        RemoveDirAndFiles(path);
        return s;
      }
      return std::unique_ptr<UmidDir>(new UmidDir(umid, path, warning));
    }
    if (warning.empty()) {
      return ErrnoStatus(absl::StrCat("creating ", path));
    }
  }
  std::string templ = base + "/XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    return ErrnoStatus(absl::StrCat("creating a random umid in ", base));
  }
  // mkdtemp makes it 0700; UML's random umid dirs are 0777 & ~umask too.
  mode_t mask = ::umask(0);
  ::umask(mask);
  ::chmod(templ.c_str(), 0777 & ~mask);
  s = WritePidFile(templ);
  if (!s.ok()) {
    RemoveDirAndFiles(templ);
    return s;
  }
  std::string random_umid = templ.substr(base.size() + 1);
  return std::unique_ptr<UmidDir>(new UmidDir(random_umid, templ, warning));
}

UmidDir::~UmidDir() { RemoveDirAndFiles(path_); }

}  // namespace kuml::mconsole
