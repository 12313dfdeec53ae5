#include "kumld/guest_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "kumld/mconsole_client.h"
#include "util/errno_status.h"
#include "util/unique_fd.h"

namespace kuml::kumld {
namespace {

std::string Resolve(const std::string& path, const std::string& workdir) {
  if (path.empty() || path[0] == '/' || workdir.empty()) return path;
  return workdir + "/" + path;
}

absl::StatusOr<UniqueFd> OpenConsoleInput(const std::string& path) {
  if (mkfifo(path.c_str(), 0600) != 0 && errno != EEXIST) {
    return ErrnoStatus("mkfifo " + path);
  }
  // Read-write: the VMM then holds a writer itself, so its console input
  // never sees end-of-file, even when kumld is gone.
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) return ErrnoStatus("open " + path);
  return fd;
}

// Between fork and exec: only async-signal-safe calls.
[[noreturn]] void ExecChild(const std::vector<char*>& argv, const char* workdir,
                            int in, int log, int cgroup_procs, int err_pipe) {
  setsid();
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s = 1; s < NSIG; ++s) signal(s, SIG_DFL);
  if (cgroup_procs >= 0 && write(cgroup_procs, "0", 1) != 1) {
    int e = errno;
    (void)!write(err_pipe, &e, sizeof(e));
    _exit(127);
  }
  if (dup2(in, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0 ||
      (workdir[0] != '\0' && chdir(workdir) != 0)) {
    int e = errno;
    (void)!write(err_pipe, &e, sizeof(e));
    _exit(127);
  }
  // Nothing else of kumld's leaks into the guest's VMM.
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  execvp(argv[0], argv.data());
  int e = errno;
  (void)!write(err_pipe, &e, sizeof(e));
  _exit(127);
}

}  // namespace

std::string UmidDirOf(const GuestSpec& spec, const std::string& uml_dir) {
  std::string dir = uml_dir;
  for (const std::string& a : spec.argv) {
    if (absl::StartsWith(a, "uml_dir=")) dir = a.substr(8);
    if (a == "--") break;
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + "/" + spec.umid;
}

std::string ConsoleLogOf(const GuestSpec& spec, const HostPaths& paths) {
  return paths.log_dir + "/" + spec.umid + ".log";
}

absl::Status CopyFileIfMissing(const std::string& from, const std::string& to) {
  if (access(to.c_str(), F_OK) == 0) return absl::OkStatus();
  UniqueFd in(open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return ErrnoStatus("open " + from);
  struct stat st {};
  if (fstat(in.get(), &st) != 0) return ErrnoStatus("stat " + from);
  std::string tmp = to + ".kumld-copy";
  UniqueFd out(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                    st.st_mode & 0777));
  if (!out) return ErrnoStatus("create " + tmp);
  for (off_t done = 0; done < st.st_size;) {
    // copy_file_range shares extents where the file system can (reflink).
    ssize_t n = copy_file_range(in.get(), nullptr, out.get(), nullptr,
                                st.st_size - done, 0);
    if (n <= 0) {
      absl::Status s = ErrnoStatus(absl::StrCat("copy ", from, " to ", tmp));
      unlink(tmp.c_str());
      return n == 0 ? absl::DataLossError(from + " shrank while copied") : s;
    }
    done += n;
  }
  // Keep the mtime: a UML COW file over this copy checks it.
  timespec times[2] = {st.st_atim, st.st_mtim};
  futimens(out.get(), times);
  if (fsync(out.get()) != 0 || rename(tmp.c_str(), to.c_str()) != 0) {
    absl::Status s = ErrnoStatus("finish copy " + to);
    unlink(tmp.c_str());
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<pid_t> HostProcesses::Launch(const GuestSpec& spec) {
  for (const FileCopy& copy : spec.prepare) {
    absl::Status s = CopyFileIfMissing(Resolve(copy.copy_of, spec.workdir),
                                       Resolve(copy.path, spec.workdir));
    if (!s.ok()) return s;
  }
  std::string log_path = ConsoleLogOf(spec, paths_);
  UniqueFd log(
      open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log) return ErrnoStatus("open console log " + log_path);
  absl::StatusOr<UniqueFd> in =
      OpenConsoleInput(paths_.state_dir + "/console/" + spec.umid + ".in");
  if (!in.ok()) return in.status();

  std::string note;
  UniqueFd procs;
  if (cgroups_ != nullptr && cgroups_->usable()) {
    absl::StatusOr<UniqueFd> fd = cgroups_->Prepare(spec.umid, spec.limits);
    if (fd.ok()) {
      procs = *std::move(fd);
    } else {
      note = absl::StrCat("limits not applied: ", fd.status().message());
    }
  } else if (!spec.limits.empty()) {
    note = absl::StrCat("limits not applied: ", cgroups_ == nullptr
                                                    ? "no cgroup parent"
                                                    : cgroups_->warning());
  }
  {
    absl::MutexLock lock(&mu_);
    notes_[spec.umid] = note;
  }
  std::string banner =
      absl::StrCat("--- kumld: ", absl::FormatTime(absl::Now()), ": starting ",
                   absl::StrJoin(spec.argv, " "),
                   note.empty() ? "" : "\n--- kumld: ", note, "\n");
  (void)!write(log.get(), banner.data(), banner.size());
  {
    absl::MutexLock lock(&mu_);
    offsets_[spec.umid] = lseek(log.get(), 0, SEEK_END);
  }

  std::vector<char*> argv;
  for (const std::string& a : spec.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe2");
  UniqueFd err_read(pipe_fds[0]), err_write(pipe_fds[1]);
  pid_t pid = fork();
  if (pid < 0) return ErrnoStatus("fork");
  if (pid == 0) {
    ExecChild(argv, spec.workdir.c_str(), in->get(), log.get(), procs.get(),
              err_write.get());
  }
  err_write.Reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(err_read.get(), &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    waitpid(pid, nullptr, 0);
    return ErrnoStatus(absl::StrCat("start ", spec.argv[0]), child_errno);
  }
  return pid;
}

void HostProcesses::Signal(pid_t pid, int signal) {
  if (pid <= 1) return;  // never init, never kill(-1) or kill(0)
  // SIGKILL takes the whole process group (the real UML has helper
  // processes); other signals go to the VMM alone, which handles them.
  kill(signal == SIGKILL ? -pid : pid, signal);
}

absl::Status HostProcesses::Halt(const GuestSpec& spec) {
  absl::StatusOr<MconsoleAnswer> a = SendMconsoleCommand(
      UmidDirOf(spec, paths_.uml_dir) + "/mconsole", "halt", absl::Seconds(2));
  if (!a.ok()) return a.status();
  if (a->err != 0) return absl::InternalError("halt: " + a->text);
  return absl::OkStatus();
}

void HostProcesses::Forget(const GuestSpec& spec) {
  if (cgroups_ != nullptr) cgroups_->Remove(spec.umid);
  unlink((paths_.state_dir + "/console/" + spec.umid + ".in").c_str());
  absl::MutexLock lock(&mu_);
  notes_.erase(spec.umid);
  offsets_.erase(spec.umid);
}

off_t HostProcesses::LaunchOffset(const std::string& umid) const {
  absl::MutexLock lock(&mu_);
  auto it = offsets_.find(umid);
  return it == offsets_.end() ? 0 : it->second;
}

std::string HostProcesses::Note(const std::string& umid) const {
  absl::MutexLock lock(&mu_);
  auto it = notes_.find(umid);
  return it == notes_.end() ? "" : it->second;
}

}  // namespace kuml::kumld
