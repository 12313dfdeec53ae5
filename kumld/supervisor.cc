#include "kumld/supervisor.h"

#include <signal.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace kuml::kumld {

std::string ExitInfo::Describe() const {
  if (!known) return "unknown (not our child: re-adopted)";
  if (signal != 0) return absl::StrCat("signal ", signal);
  return absl::StrCat("exit ", code);
}

absl::StatusOr<Supervisor::Guest*> Supervisor::Insert(GuestSpec spec) {
  if (Has(spec.umid)) {
    return absl::AlreadyExistsError(
        absl::StrCat("guest ", spec.umid, " exists already"));
  }
  Guest& g = guests_[spec.umid];
  g.next_backoff = absl::Milliseconds(spec.backoff_ms);
  g.status.spec = std::move(spec);
  return &g;
}

absl::Status Supervisor::Add(GuestSpec spec, absl::Time now) {
  absl::StatusOr<Guest*> g = Insert(std::move(spec));
  if (!g.ok()) return g.status();
  Launch(**g, now);
  return absl::OkStatus();
}

absl::Status Supervisor::Adopt(GuestSpec spec, pid_t pid, absl::Time started,
                               absl::Time now) {
  absl::StatusOr<Guest*> g = Insert(std::move(spec));
  if (!g.ok()) return g.status();
  GuestStatus& s = (*g)->status;
  s.pid = pid;
  s.started = started;
  s.adopted = true;
  // Its console may have shown the pattern long ago: an adopted guest that
  // is alive is taken as up.
  s.state = host::RUNNING;
  return absl::OkStatus();
}

absl::Status Supervisor::AdoptExited(GuestSpec spec, bool was_stopped,
                                     absl::Time now) {
  absl::StatusOr<Guest*> g = Insert(std::move(spec));
  if (!g.ok()) return g.status();
  GuestStatus& s = (*g)->status;
  s.adopted = true;
  ExitInfo unknown;
  unknown.known = false;
  s.last_exit = unknown.Describe();
  if (was_stopped || s.spec.restart == host::NEVER) {
    s.state = host::STOPPED;
  } else {
    // ON_FAILURE counts an unknown exit as a failure: better one restart too
    // many than a guest silently left down.
    s.state = host::BACKOFF;
    (*g)->deadline = now;
  }
  return absl::OkStatus();
}

void Supervisor::RestoreHistory(const std::string& umid, uint32_t restarts,
                                const std::string& last_exit) {
  Guest* g = Find(umid);
  if (g == nullptr) return;
  g->status.restarts = restarts;
  if (g->status.last_exit.empty()) g->status.last_exit = last_exit;
}

void Supervisor::Launch(Guest& g, absl::Time now) {
  g.phase = StopPhase::kNone;
  g.deadline = absl::InfiniteFuture();
  absl::StatusOr<pid_t> pid = ops_->Launch(g.status.spec);
  if (!pid.ok()) {
    g.status.state = host::FAILED;
    g.status.pid = 0;
    g.status.note = std::string(pid.status().message());
    return;
  }
  g.status.pid = *pid;
  g.status.note.clear();  // last run's stop notes
  g.status.started = now;
  g.status.adopted = false;
  g.status.state =
      g.status.spec.ready_pattern.empty() ? host::RUNNING : host::STARTING;
}

void Supervisor::BeginStop(Guest& g, absl::Time now) {
  absl::Duration timeout = absl::Milliseconds(g.status.spec.stop_timeout_ms);
  g.status.state = host::STOPPING;
  absl::Status halted = ops_->Halt(g.status.spec);
  if (halted.ok()) {
    g.phase = StopPhase::kHalt;
  } else {
    // No mconsole (or it did not answer): SIGTERM stops kuml cleanly too
    // (disks flushed), UML's `linux` likewise.
    g.status.note = absl::StrCat("halt: ", halted.message(), "; sent SIGTERM");
    ops_->Signal(g.status.pid, SIGTERM);
    g.phase = StopPhase::kTerm;
  }
  g.deadline = now + timeout;
}

absl::Status Supervisor::Stop(const std::string& umid, absl::Time now) {
  Guest* g = Find(umid);
  if (g == nullptr) return absl::NotFoundError("no guest " + umid);
  switch (g->status.state) {
    case host::STARTING:
    case host::RUNNING:
      BeginStop(*g, now);
      break;
    case host::BACKOFF:
      g->status.state = host::STOPPED;
      g->deadline = absl::InfiniteFuture();
      break;
    default:  // STOPPING, STOPPED, FAILED: nothing more to do
      break;
  }
  return absl::OkStatus();
}

absl::Status Supervisor::Start(const std::string& umid, absl::Time now) {
  Guest* g = Find(umid);
  if (g == nullptr) return absl::NotFoundError("no guest " + umid);
  if (g->destroy_when_down) {
    return absl::FailedPreconditionError(umid + " is being destroyed");
  }
  switch (g->status.state) {
    case host::STOPPED:
    case host::FAILED:
    case host::BACKOFF:
      g->next_backoff = absl::Milliseconds(g->status.spec.backoff_ms);
      Launch(*g, now);
      return absl::OkStatus();
    case host::STOPPING:
      return absl::FailedPreconditionError(umid + " is stopping");
    default:
      return absl::OkStatus();  // already up
  }
}

absl::Status Supervisor::Destroy(const std::string& umid, absl::Time now) {
  Guest* g = Find(umid);
  if (g == nullptr) return absl::NotFoundError("no guest " + umid);
  g->destroy_when_down = true;
  absl::Status stopped = Stop(umid, now);
  Settle(umid);
  return stopped;
}

void Supervisor::Settle(const std::string& umid) {
  Guest* g = Find(umid);
  if (g == nullptr || !g->destroy_when_down) return;
  if (g->status.state == host::STOPPING) return;
  ops_->Forget(g->status.spec);
  guests_.erase(umid);
}

void Supervisor::OnExit(pid_t pid, const ExitInfo& exit, absl::Time now) {
  Guest* g = FindPid(pid);
  if (g == nullptr) return;
  GuestStatus& s = g->status;
  s.pid = 0;
  s.last_exit = exit.Describe();
  g->phase = StopPhase::kNone;
  g->deadline = absl::InfiniteFuture();
  if (s.state == host::STOPPING) {
    s.state = host::STOPPED;
    Settle(s.spec.umid);
    return;
  }
  bool restart = s.spec.restart == host::ALWAYS ||
                 (s.spec.restart == host::ON_FAILURE && exit.failed());
  if (!restart) {
    s.state = host::STOPPED;
    return;
  }
  absl::Duration base = absl::Milliseconds(s.spec.backoff_ms);
  if (now - s.started >= kStableUptime) g->next_backoff = base;
  s.state = host::BACKOFF;
  g->deadline = now + g->next_backoff;
  g->next_backoff =
      std::min(g->next_backoff * 2, absl::Milliseconds(s.spec.backoff_max_ms));
}

void Supervisor::OnReady(const std::string& umid) {
  Guest* g = Find(umid);
  if (g != nullptr && g->status.state == host::STARTING) {
    g->status.state = host::RUNNING;
  }
}

absl::Time Supervisor::Tick(absl::Time now) {
  absl::Time next = absl::InfiniteFuture();
  for (auto& [umid, g] : guests_) {
    if (g.deadline <= now) {
      absl::Duration timeout =
          absl::Milliseconds(g.status.spec.stop_timeout_ms);
      if (g.status.state == host::BACKOFF) {
        ++g.status.restarts;
        Launch(g, now);
      } else if (g.status.state == host::STOPPING &&
                 g.phase == StopPhase::kHalt) {
        ops_->Signal(g.status.pid, SIGTERM);
        g.phase = StopPhase::kTerm;
        g.deadline = now + timeout;
      } else if (g.status.state == host::STOPPING &&
                 g.phase == StopPhase::kTerm) {
        ops_->Signal(g.status.pid, SIGKILL);
        g.phase = StopPhase::kKill;
        g.deadline = absl::InfiniteFuture();  // SIGKILL can't be refused
      }
    }
    next = std::min(next, g.deadline);
  }
  return next;
}

std::vector<GuestStatus> Supervisor::List() const {
  std::vector<GuestStatus> out;
  for (const auto& [umid, g] : guests_) out.push_back(g.status);
  return out;
}

std::optional<GuestStatus> Supervisor::Get(const std::string& umid) const {
  auto it = guests_.find(umid);
  if (it == guests_.end()) return std::nullopt;
  return it->second.status;
}

Supervisor::Guest* Supervisor::Find(const std::string& umid) {
  auto it = guests_.find(umid);
  return it == guests_.end() ? nullptr : &it->second;
}

Supervisor::Guest* Supervisor::FindPid(pid_t pid) {
  if (pid <= 0) return nullptr;
  for (auto& [umid, g] : guests_) {
    if (g.status.pid == pid) return &g;
  }
  return nullptr;
}

}  // namespace kuml::kumld
