#include "mconsole/machine_control.h"

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace kuml::mconsole {
namespace {

// Collects console output for sysrq; the tap runs on vCPU threads.
struct Capture {
  absl::Mutex mu;
  std::string text ABSL_GUARDED_BY(mu);
  absl::Time last ABSL_GUARDED_BY(mu) = absl::InfinitePast();
};

}  // namespace

std::string CleanConsoleText(absl::string_view raw) {
  std::string out;
  bool line_start = true;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\r') continue;
    if (line_start && c == '[') {
      size_t close = raw.find("] ", i);
      if (close != absl::string_view::npos && close - i <= 16) {
        absl::string_view stamp = raw.substr(i + 1, close - i - 1);
        bool is_time = !stamp.empty();
        for (char d : stamp) {
          if (!(absl::ascii_isdigit(d) || d == '.' || d == ' '))
            is_time = false;
        }
        if (is_time) {
          i = close + 1;
          line_start = false;
          continue;
        }
      }
    }
    out.push_back(c);
    line_start = c == '\n';
  }
  return out;
}

MachineControl::MachineControl(MachineControlOptions options)
    : options_(std::move(options)),
      hot_plug_(HotPlug::Options{&options_.spec, options_.lines,
                                 options_.hotplug_limit, options_.jailed,
                                 options_.gdb},
                [this](absl::string_view command, absl::string_view request,
                       absl::Duration timeout) {
                  return CallAgent(command, request, timeout);
                }) {}

void MachineControl::Attach(Machine* machine) {
  {
    absl::MutexLock lock(&mu_);
    machine_ = machine;
    if (stop_pending_ && machine != nullptr) {
      machine->PauseBeforeRun();
      stop_pending_ = false;
    }
  }
  hot_plug_.Attach(machine);
}

void MachineControl::Detach() {
  {
    absl::MutexLock lock(&mu_);
    machine_ = nullptr;
  }
  hot_plug_.Detach();
}

bool MachineControl::halt_requested() {
  absl::MutexLock lock(&mu_);
  return halt_requested_;
}

KernelVersion MachineControl::Version() { return options_.version; }

void MachineControl::Halt() {
  absl::MutexLock lock(&mu_);
  halt_requested_ = true;
  if (machine_ != nullptr) {
    machine_->RequestStop(StopReason::kHalt, "mconsole halt");
  }
}

void MachineControl::Reboot() {
  absl::MutexLock lock(&mu_);
  if (machine_ != nullptr) {
    machine_->RequestStop(StopReason::kReset, "mconsole reboot");
  }
}

absl::Status MachineControl::Stop() {
  absl::MutexLock lock(&mu_);
  if (machine_ == nullptr) {
    if (stop_pending_) return absl::FailedPreconditionError("already stopped");
    stop_pending_ = true;  // the next boot starts parked
    return absl::OkStatus();
  }
  return machine_->Pause();
}

absl::Status MachineControl::Go() {
  absl::MutexLock lock(&mu_);
  if (machine_ == nullptr) {
    if (!stop_pending_) return absl::FailedPreconditionError("not stopped");
    stop_pending_ = false;
    return absl::OkStatus();
  }
  return machine_->Resume();
}

Reply MachineControl::ConfigAdd(DeviceKind kind,
                                absl::string_view device_switch) {
  return hot_plug_.ConfigAdd(kind, device_switch);
}

Reply MachineControl::ConfigQuery(DeviceKind kind, absl::string_view unit) {
  return hot_plug_.ConfigQuery(kind, unit);
}

Reply MachineControl::Remove(DeviceKind kind, int n) {
  return hot_plug_.Remove(kind, n);
}

absl::StatusOr<std::string> MachineControl::Sysrq(char key) {
  absl::MutexLock sysrq_lock(&sysrq_mu_);
  absl::MutexLock lock(&mu_);
  if (machine_ == nullptr) return absl::UnavailableError(kBetweenBoots);
  // Stopped: the guest runs for this key and stops again afterwards (the
  // HOWTO's backup recipe: stop, sysrq s, copy the disk, go).
  const bool was_paused = machine_->paused();
  if (was_paused) {
    if (absl::Status s = machine_->Resume(); !s.ok()) return s;
  }
  absl::StatusOr<std::string> answer = SysrqRunning(key);
  if (was_paused && !machine_->stop_requested()) {
    // The disks are flushed again, with what the key made the guest write.
    if (absl::Status s = machine_->Pause(); !s.ok()) return s;
  }
  return answer;
}

absl::StatusOr<std::string> MachineControl::SysrqRunning(char key) {
  auto capture = std::make_shared<Capture>();
  machine_->SetConsoleTap([capture](absl::Span<const uint8_t> bytes) {
    absl::MutexLock l(&capture->mu);
    capture->text.append(bytes.begin(), bytes.end());
    capture->last = absl::Now();
  });
  const absl::Time start = absl::Now();
  // handle_sysrq() takes any byte; NUL (no letter) gets the help line, but
  // a NUL after a break would read as a second break, so send a space.
  uint8_t byte = key == '\0' ? ' ' : static_cast<uint8_t>(key);
  absl::Status sent = machine_->SendConsoleBreak(byte);
  while (absl::IsUnavailable(sent) && absl::Now() - start < absl::Seconds(1)) {
    absl::SleepFor(absl::Milliseconds(5));  // the guest is draining its FIFO
    sent = machine_->SendConsoleBreak(byte);
  }
  if (!sent.ok()) {
    machine_->SetConsoleTap(nullptr);
    return sent;
  }
  for (;;) {
    absl::SleepFor(absl::Milliseconds(20));
    absl::Time now = absl::Now();
    absl::MutexLock l(&capture->mu);
    bool quiet = capture->last != absl::InfinitePast() &&
                 now - capture->last >= options_.sysrq_quiet;
    // `s` queues the sync and says "Emergency Sync complete" once the
    // disks have it: worth the wait (the backup recipe copies right after).
    if (key == 's' && quiet &&
        !absl::StrContains(capture->text, "Emergency Sync complete")) {
      quiet = false;
    }
    if (quiet || now - start >= options_.sysrq_limit ||
        machine_->stop_requested()) {
      break;
    }
  }
  machine_->SetConsoleTap(nullptr);
  absl::MutexLock l(&capture->mu);
  return CleanConsoleText(capture->text);
}

absl::StatusOr<std::string> MachineControl::CallAgent(absl::string_view command,
                                                      absl::string_view request,
                                                      absl::Duration timeout) {
  if (options_.agent == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("The guest has no kuml agent, which '", command,
                     "' needs (guest/agent; the default root_fs starts it)"));
  }
  {
    absl::MutexLock lock(&mu_);
    if (machine_ != nullptr && machine_->paused()) {
      return absl::FailedPreconditionError(
          absl::StrCat("The guest is stopped: its agent cannot answer '",
                       command, "' until 'go'"));
    }
  }
  if (timeout > absl::ZeroDuration()) {
    return options_.agent->CallWithin(request, timeout);
  }
  return options_.agent->Call(request);
}

absl::Status MachineControl::CtrlAltDel() {
  return CallAgent("cad", "cad", absl::ZeroDuration()).status();
}

absl::Status MachineControl::Log(absl::string_view text) {
  return CallAgent("log", absl::StrCat("log ", text), absl::ZeroDuration())
      .status();
}

absl::StatusOr<std::string> MachineControl::Proc(absl::string_view file) {
  return CallAgent("proc", absl::StrCat("proc ", file), absl::ZeroDuration());
}

absl::StatusOr<std::string> MachineControl::Stack(int pid) {
  return CallAgent("stack", absl::StrCat("stack ", pid), absl::ZeroDuration());
}

}  // namespace kuml::mconsole
