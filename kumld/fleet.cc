#include "kumld/fleet.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "kumld/console_log.h"
#include "kumld/manifest.h"
#include "kumld/proc_stats.h"
#include "kumld/process_group.h"
#include "util/errno_status.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace kuml::kumld {
namespace {

constexpr absl::Duration kReadyPoll = absl::Milliseconds(50);
constexpr absl::Duration kIdlePoll = absl::Seconds(1);
// How often running guests' console logs are checked against the cap.
constexpr absl::Duration kLogCheckInterval = absl::Seconds(1);
// How long what a VMM left behind may take to die after SIGKILL (normally a
// few ms; a process in uninterruptible disk I/O dies when that I/O ends).
constexpr absl::Duration kLeftoverLimit = absl::Seconds(10);

int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

absl::Status MakeDirs(const std::string& path, mode_t mode) {
  std::string sofar;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || (path[i] == '/' && i > 0)) {
      sofar = path.substr(0, i);
      if (mkdir(sofar.c_str(), mode) != 0 && errno != EEXIST) {
        return ErrnoStatus("mkdir " + sofar);
      }
    }
  }
  return absl::OkStatus();
}

// How a pidfd's process ended: our child -> its status; otherwise (an
// adopted VMM) unknown.
ExitInfo Reap(int pidfd) {
  siginfo_t info{};
  ExitInfo exit;
  if (waitid(static_cast<idtype_t>(P_PIDFD), pidfd, &info, WEXITED) != 0) {
    exit.known = false;
    return exit;
  }
  if (info.si_code == CLD_EXITED) {
    exit.code = info.si_status;
  } else {
    exit.signal = info.si_status;
  }
  return exit;
}

}  // namespace

Fleet::Fleet(FleetOptions options)
    : options_(std::move(options)),
      cgroups_(options_.cgroup_parent.empty()
                   ? CgroupParent::Disabled("disabled by --cgroup_parent=")
                   : CgroupParent::Open(options_.cgroup_parent)),
      processes_(options_.paths, &cgroups_),
      records_(options_.paths.state_dir + "/guests"),
      wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      supervisor_(&processes_) {}

Fleet::~Fleet() = default;

absl::StatusOr<std::unique_ptr<Fleet>> Fleet::Create(
    FleetOptions options, std::vector<std::string>* messages) {
  for (const std::string& dir :
       {options.paths.state_dir + "/guests",
        options.paths.state_dir + "/console", options.paths.log_dir,
        options.paths.uml_dir}) {
    if (absl::Status s = MakeDirs(dir, 0700); !s.ok()) return s;
  }
  std::unique_ptr<Fleet> fleet(new Fleet(std::move(options)));
  if (!fleet->wake_) return ErrnoStatus("eventfd");
  if (!fleet->cgroups_.usable()) {
    messages->push_back("warning: cgroup limits unavailable: " +
                        fleet->cgroups_.warning());
  }
  std::vector<std::string> errors;
  std::vector<host::GuestRecord> records = fleet->records_.LoadAll(&errors);
  for (const std::string& e : errors) messages->push_back("warning: " + e);
  absl::MutexLock lock(&fleet->mu_);
  for (const host::GuestRecord& r : records) fleet->Adopt(r, messages);
  fleet->SyncLocked();
  return fleet;
}

void Fleet::Adopt(const host::GuestRecord& r, std::vector<std::string>* msgs) {
  GuestSpec spec = SpecFromRecord(r);
  absl::Time now = absl::Now();
  // Our record first, trusted only when the process with that pid is the
  // one we launched (same start time); else the VMM's own word
  // (<uml_dir>/<umid>/pid, written by UML and by kuml with umid=), trusted
  // only when that process shows it is this guest's VMM: a stale or planted
  // pid file must not make kumld adopt, and later kill, another process
  // group.
  pid_t pid = 0;
  if (r.pid() > 1 && r.start_ticks() != 0 &&
      ProcStartTicks(r.pid()) == r.start_ticks()) {
    pid = r.pid();
  } else {
    pid_t from_file =
        LivePidFromFile(UmidDirOf(spec, options_.paths.uml_dir) + "/pid");
    if (IsVmmOf(from_file, spec.umid)) pid = from_file;
  }
  UniqueFd fd(pid > 0 ? PidfdOpen(pid) : -1);
  if (pid > 0 && fd) {
    absl::Time started = r.started_unix_ms() > 0
                             ? absl::FromUnixMillis(r.started_unix_ms())
                             : now;
    if (supervisor_.Adopt(spec, pid, started, now).ok()) {
      supervisor_.RestoreHistory(r.umid(), r.restarts(), r.last_exit());
      pidfds_[pid] = std::move(fd);
      start_ticks_[spec.umid] = ProcStartTicks(pid);
      msgs->push_back(
          absl::StrCat("re-adopted ", spec.umid, " (pid ", pid, ")"));
    }
    return;
  }
  if (supervisor_.AdoptExited(spec, r.stopped(), now).ok()) {
    supervisor_.RestoreHistory(r.umid(), r.restarts(), "");
    msgs->push_back(
        absl::StrCat(spec.umid, ": its VMM ended while kumld was away",
                     r.stopped() ? "" : "; the restart policy decides"));
  }
}

void Fleet::SyncLocked() {
  std::vector<GuestStatus> all = supervisor_.List();
  for (const GuestStatus& s : all) {
    if (s.pid > 0 && pidfds_.count(s.pid) == 0) {
      pidfds_[s.pid] = UniqueFd(PidfdOpen(s.pid));
      start_ticks_[s.spec.umid] = ProcStartTicks(s.pid);
      if (s.state == host::STARTING) {
        scan_[s.spec.umid] = {s.pid, processes_.LaunchOffset(s.spec.umid)};
      }
    }
    std::string text;
    google::protobuf::TextFormat::PrintToString(
        ToRecord(s, start_ticks_[s.spec.umid]), &text);
    if (saved_[s.spec.umid] != text) {
      absl::Status saved =
          records_.Save(ToRecord(s, start_ticks_[s.spec.umid]));
      if (saved.ok()) saved_[s.spec.umid] = text;
    }
  }
  // Destroyed guests: their records go too.
  for (auto it = saved_.begin(); it != saved_.end();) {
    if (!supervisor_.Has(it->first)) {
      records_.Remove(it->first);
      start_ticks_.erase(it->first);
      scan_.erase(it->first);
      it = saved_.erase(it);
    } else {
      ++it;
    }
  }
  changed_.SignalAll();
  Wake();
}

void Fleet::CheckReadyLocked() {
  for (auto it = scan_.begin(); it != scan_.end();) {
    std::optional<GuestStatus> s = supervisor_.Get(it->first);
    if (!s.has_value() || s->state != host::STARTING ||
        s->pid != it->second.first) {
      it = scan_.erase(it);
      continue;
    }
    const std::string& pattern = s->spec.ready_pattern;
    UniqueFd fd(open(ConsoleLogOf(s->spec, options_.paths).c_str(),
                     O_RDONLY | O_CLOEXEC));
    struct stat st;
    if (fd && fstat(fd.get(), &st) == 0 && st.st_size < it->second.second) {
      it->second.second = 0;  // rotated (console_log.h): start over
    }
    off_t from = std::max<off_t>(
        0, it->second.second - static_cast<off_t>(pattern.size()) + 1);
    std::string text;
    char buf[65536];
    ssize_t n;
    while (fd &&
           (n = pread(fd.get(), buf, sizeof(buf), from + text.size())) > 0) {
      text.append(buf, n);
    }
    it->second.second = from + text.size();
    if (text.find(pattern) != std::string::npos) {
      supervisor_.OnReady(it->first);
      it = scan_.erase(it);
    } else {
      ++it;
    }
  }
}

void Fleet::CapConsoleLogsLocked() {
  for (const GuestStatus& s : supervisor_.List()) {
    if (s.pid <= 0) continue;
    absl::StatusOr<bool> rotated = RotateConsoleLogIfOver(
        ConsoleLogOf(s.spec, options_.paths), options_.log_max_bytes);
    if (!rotated.ok()) {
      std::cerr << "kumld: warning: " << s.spec.umid << ": "
                << rotated.status().message() << "\n";
    }
  }
}

void Fleet::Wake() {
  uint64_t one = 1;
  (void)!write(wake_.get(), &one, sizeof(one));
}

void Fleet::Run() {
  for (;;) {
    std::vector<pollfd> fds{{wake_.get(), POLLIN, 0}};
    std::vector<pid_t> pids;
    absl::Duration wait;
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      absl::Time now = absl::Now();
      absl::Time next = supervisor_.Tick(now);
      SyncLocked();
      CheckReadyLocked();
      if (now - last_log_check_ >= kLogCheckInterval) {
        last_log_check_ = now;
        CapConsoleLogsLocked();
      }
      wait = std::min(next - now, scan_.empty() ? kIdlePoll : kReadyPoll);
      for (const auto& [pid, fd] : pidfds_) {
        if (!fd) continue;
        fds.push_back({fd.get(), POLLIN, 0});
        pids.push_back(pid);
      }
    }
    int ms = static_cast<int>(
        std::max<int64_t>(0, absl::ToInt64Milliseconds(wait) + 1));
    if (poll(fds.data(), fds.size(), ms) < 0 && errno != EINTR) {
      // Nothing to do but go round again.
    }
    if (fds[0].revents & POLLIN) {
      uint64_t v;
      (void)!read(wake_.get(), &v, sizeof(v));
    }
    std::vector<std::pair<pid_t, ExitInfo>> exits;
    {
      absl::MutexLock lock(&mu_);
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        pid_t pid = pids[i - 1];
        exits.emplace_back(pid, Reap(fds[i].fd));
        pidfds_.erase(pid);
      }
    }
    if (exits.empty()) continue;
    // The VMM leads its own process group: what it left behind (the real
    // UML's helper processes, which hold its disks' locks) goes with it, and
    // the supervisor hears of the exit (and may restart) only once it is
    // gone: SIGKILL is not instant, and a helper busy writing the disk under
    // load outlived a 200 ms restart backoff once, so the restarted UML
    // found its COW file locked and panicked. Not under the lock: listing
    // and commands go on meanwhile.
    for (const auto& [pid, exit] : exits) {
      if (!KillProcessGroup(pid, kLeftoverLimit)) {
        std::cerr << "kumld: warning: processes of VMM " << pid
                  << "'s group outlived it by "
                  << absl::FormatDuration(kLeftoverLimit)
                  << " after SIGKILL; its disks may still be locked\n";
      }
    }
    absl::MutexLock lock(&mu_);
    for (const auto& [pid, exit] : exits) {
      supervisor_.OnExit(pid, exit, absl::Now());
    }
    SyncLocked();
  }
}

void Fleet::Shutdown() {
  absl::MutexLock lock(&mu_);
  stop_ = true;
  Wake();
}

absl::StatusOr<std::vector<std::string>> Fleet::Up(
    const std::string& text, const std::string& name,
    const std::string& base_dir, std::vector<std::string>* messages) {
  ManifestContext context{name, base_dir, options_.kuml_binary,
                          options_.paths.uml_dir};
  absl::StatusOr<std::vector<GuestSpec>> specs = ParseManifest(text, context);
  if (!specs.ok()) return specs.status();
  std::vector<std::string> umids;
  for (GuestSpec& spec : *specs) {
    umids.push_back(spec.umid);
    absl::MutexLock lock(&mu_);
    if (supervisor_.Has(spec.umid)) {
      messages->push_back(spec.umid + ": exists already, left as it is");
      continue;
    }
    (void)supervisor_.Add(std::move(spec), absl::Now());
    SyncLocked();
  }
  return umids;
}

host::GuestInfo Fleet::InfoLocked(const GuestStatus& s) {
  host::GuestInfo info;
  info.set_umid(s.spec.umid);
  info.set_state(s.state);
  info.set_pid(s.pid);
  if (s.pid > 0) {
    info.set_uptime_seconds(absl::ToDoubleSeconds(absl::Now() - s.started));
    ProcMemory m = ReadProcMemory(s.pid);
    info.set_pss_bytes(m.pss_bytes);
    info.set_rss_bytes(m.rss_bytes);
    info.set_cgroup_memory_bytes(cgroups_.MemoryCurrent(s.spec.umid));
  }
  info.set_restarts(s.restarts);
  info.set_last_exit(s.last_exit);
  info.set_console_log(ConsoleLogOf(s.spec, options_.paths));
  for (const std::string& a : s.spec.argv) info.add_command(a);
  info.set_adopted(s.adopted);
  std::string note = s.note.empty() ? processes_.Note(s.spec.umid) : s.note;
  info.set_note(note);
  return info;
}

std::vector<host::GuestInfo> Fleet::List(const std::vector<std::string>& only) {
  absl::MutexLock lock(&mu_);
  std::vector<host::GuestInfo> out;
  if (only.empty()) {
    for (const GuestStatus& s : supervisor_.List())
      out.push_back(InfoLocked(s));
    return out;
  }
  for (const std::string& umid : only) {
    std::optional<GuestStatus> s = supervisor_.Get(umid);
    if (s.has_value()) out.push_back(InfoLocked(*s));
  }
  return out;
}

absl::StatusOr<host::GuestInfo> Fleet::Stop(const std::string& umid) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = supervisor_.Stop(umid, absl::Now()); !s.ok()) return s;
  SyncLocked();
  return InfoLocked(*supervisor_.Get(umid));
}

absl::StatusOr<host::GuestInfo> Fleet::Start(const std::string& umid) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = supervisor_.Start(umid, absl::Now()); !s.ok()) return s;
  SyncLocked();
  return InfoLocked(*supervisor_.Get(umid));
}

absl::StatusOr<host::GuestInfo> Fleet::Destroy(const std::string& umid) {
  absl::MutexLock lock(&mu_);
  std::optional<GuestStatus> before = supervisor_.Get(umid);
  if (!before.has_value()) return absl::NotFoundError("no guest " + umid);
  if (absl::Status s = supervisor_.Destroy(umid, absl::Now()); !s.ok()) {
    return s;
  }
  std::optional<GuestStatus> after = supervisor_.Get(umid);
  host::GuestInfo info = InfoLocked(after.has_value() ? *after : *before);
  SyncLocked();
  return info;
}

bool Fleet::WaitGone(const std::vector<std::string>& umids,
                     absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  for (;;) {
    bool any = false;
    for (const std::string& u : umids) any = any || supervisor_.Has(u);
    if (!any) return true;
    if (changed_.WaitWithDeadline(&mu_, deadline)) {
      // Timed out: one last look.
      for (const std::string& u : umids) {
        if (supervisor_.Has(u)) return false;
      }
      return true;
    }
  }
}

void Fleet::WaitForChange(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  changed_.WaitWithDeadline(&mu_, deadline);
}

absl::StatusOr<MconsoleAnswer> Fleet::Mconsole(const std::string& umid,
                                               const std::string& command) {
  std::string socket;
  {
    absl::MutexLock lock(&mu_);
    std::optional<GuestStatus> s = supervisor_.Get(umid);
    if (!s.has_value()) return absl::NotFoundError("no guest " + umid);
    socket = UmidDirOf(s->spec, options_.paths.uml_dir) + "/mconsole";
  }
  return SendMconsoleCommand(socket, command);
}

}  // namespace kuml::kumld
