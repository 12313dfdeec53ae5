#include "vmm/sandbox/jail.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "util/errno_status.h"
#include "util/unique_fd.h"

namespace kuml {
namespace {

absl::Status CopyInto(const std::string& from, const std::string& to) {
  UniqueFd in(open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return ErrnoStatus("jail: open " + from);
  struct stat st;
  if (fstat(in.get(), &st) != 0) return ErrnoStatus("jail: fstat " + from);
  UniqueFd out(open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!out) return ErrnoStatus("jail: create " + to);
  off_t done = 0;
  bool plain = false;  // copy_file_range cannot cross these file systems
  while (done < st.st_size) {
    ssize_t n = -1;
    if (!plain) {
      n = copy_file_range(in.get(), nullptr, out.get(), nullptr,
                          st.st_size - done, 0);
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                    errno == EOPNOTSUPP)) {
        plain = true;
        continue;
      }
    } else {
      char buf[65536];
      n = read(in.get(), buf, sizeof buf);
      if (n > 0 && write(out.get(), buf, n) != n) n = -1;
    }
    if (n <= 0) {
      return n == 0
                 ? absl::DataLossError(from + " shrank while copied")
                 : ErrnoStatus(absl::StrCat("jail: copy ", from, " to ", to));
    }
    done += n;
  }
  return absl::OkStatus();
}

// The reaper's work, in a child forked from a multi-threaded process: raw
// system calls only (no malloc, no stdio). Removes what `dir_fd` holds,
// one level of subdirectories deep (the jail), then the directory itself.
void RemoveTree(int parent_fd, const char* name, int depth) {
  int fd =
      openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  alignas(8) char buf[4096];
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      auto* entry = reinterpret_cast<struct dirent64*>(buf + off);
      off += entry->d_reclen;
      const char* entry_name = entry->d_name;
      if (std::strcmp(entry_name, ".") == 0 ||
          std::strcmp(entry_name, "..") == 0) {
        continue;
      }
      if (entry->d_type == DT_DIR && depth > 0) {
        RemoveTree(fd, entry_name, depth - 1);
      } else {
        unlinkat(fd, entry_name, 0);
      }
    }
  }
  close(fd);
  unlinkat(parent_fd, name, AT_REMOVEDIR);
}

// Forks the reaper: it closes everything but the read end of a pipe whose
// write end only kuml holds, waits for EOF (kuml is gone, however it
// ended), and removes the umid directory.
absl::Status StartReaper(const std::string& umid_dir) {
  const size_t slash = umid_dir.rfind('/');
  if (slash == std::string::npos || slash + 1 >= umid_dir.size()) {
    return absl::InvalidArgumentError("jail: bad umid directory " + umid_dir);
  }
  const std::string parent = slash == 0 ? "/" : umid_dir.substr(0, slash);
  const std::string name = umid_dir.substr(slash + 1);
  UniqueFd parent_fd(open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parent_fd) return ErrnoStatus("jail: open " + parent);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus("jail: pipe");
  UniqueFd read_end(p[0]), write_end(p[1]);
  pid_t pid = fork();
  if (pid < 0) return ErrnoStatus("jail: fork the reaper");
  if (pid == 0) {
    // Keep only the pipe and the parent directory; put them at 3 and 4.
    dup3(read_end.get(), 3, 0);
    dup3(parent_fd.get(), 4, 0);
    syscall(SYS_close_range, 5, ~0u, 0);
    close(0);
    close(1);
    setsid();  // not in kuml's process group: kumld's group kill skips it
    char c;
    for (;;) {
      const ssize_t n = read(3, &c, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // EOF: kuml is gone
    }
    RemoveTree(4, name.c_str(), 1);
    _exit(0);
  }
  // kuml keeps the write end for its whole life (no CLOEXEC matters: kuml
  // never execs once jailed).
  (void)write_end.Release();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<JailPaths> EnterJail(const JailOptions& options) {
  if (geteuid() != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("jail needs root (kuml runs as uid ", geteuid(), ")"));
  }
  struct passwd* pw = getpwnam(options.user.c_str());
  if (pw == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("jail: no user '", options.user, "' on this host"));
  }
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;
  if (uid == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("jail: '", options.user, "' is root"));
  }
  const std::string root = options.umid_dir + "/jail";
  if (mkdir(root.c_str(), 0755) != 0) return ErrnoStatus("jail: mkdir " + root);
  JailPaths paths;
  paths.kernel_path = "/kernel";
  if (absl::Status s = CopyInto(options.kernel_path, root + "/kernel");
      !s.ok()) {
    return s;
  }
  if (options.initrd_path.has_value()) {
    paths.initrd_path = "/initrd";
    if (absl::Status s = CopyInto(*options.initrd_path, root + "/initrd");
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = StartReaper(options.umid_dir); !s.ok()) return s;
  // Every thread shares this root (pthreads share their fs_struct).
  if (chdir(root.c_str()) != 0 || chroot(".") != 0 || chdir("/") != 0) {
    return ErrnoStatus("jail: chroot " + root);
  }
  // glibc applies these to every thread of the process.
  if (setgroups(0, nullptr) != 0) return ErrnoStatus("jail: setgroups");
  if (setresgid(gid, gid, gid) != 0) return ErrnoStatus("jail: setresgid");
  if (setresuid(uid, uid, uid) != 0) return ErrnoStatus("jail: setresuid");
  if (setresuid(0, 0, 0) == 0) {
    return absl::InternalError("jail: root could be regained");
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return ErrnoStatus("jail: PR_SET_DUMPABLE");
  }
  return paths;
}

}  // namespace kuml
