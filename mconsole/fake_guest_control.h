// FakeGuestControl: a scripted GuestControl for tests of the command core and
// both doors without a KVM. It records what was asked and answers like a
// small guest: one disk (ubd0=root_fs), con0=fd:0,fd:1, stop/go state,
// /proc/uptime, pid 1.
#ifndef KUML_MCONSOLE_FAKE_GUEST_CONTROL_H_
#define KUML_MCONSOLE_FAKE_GUEST_CONTROL_H_

#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "mconsole/guest_control.h"

namespace kuml::mconsole {

class FakeGuestControl : public GuestControl {
 public:
  FakeGuestControl() {
    version_.release = "6.1.0";
    version_.version = "#1 SMP Sat Jul  4 15:38:16 UTC 2026";
    disks_[0] = "root_fs";
  }

  KernelVersion Version() override { return version_; }
  void Halt() override { Record("halt"); }
  void Reboot() override { Record("reboot"); }
  absl::Status Stop() override {
    absl::MutexLock lock(&mu_);
    if (stopped_) return absl::FailedPreconditionError("stopped");
    stopped_ = true;
    calls_.push_back("stop");
    return absl::OkStatus();
  }
  absl::Status Go() override {
    absl::MutexLock lock(&mu_);
    if (!stopped_) return absl::FailedPreconditionError("running");
    stopped_ = false;
    calls_.push_back("go");
    return absl::OkStatus();
  }
  Reply ConfigAdd(DeviceKind kind, absl::string_view device_switch) override {
    Record(absl::StrCat("config-add ", device_switch));
    if (kind != DeviceKind::kUbd) {
      return Reply::Error(absl::StatusCode::kUnimplemented, "not in the fake");
    }
    absl::string_view rest = device_switch.substr(3);
    int n = rest[0] - '0';
    absl::MutexLock lock(&mu_);
    if (disks_.count(n)) {
      return Reply::Errno(EBUSY, absl::StatusCode::kAlreadyExists,
                          "Device is already configured");
    }
    disks_[n] = std::string(rest.substr(rest.find('=') + 1));
    return Reply::Ok();
  }
  Reply ConfigQuery(DeviceKind kind, absl::string_view unit) override {
    Record(absl::StrCat("config-query ", unit));
    if (kind == DeviceKind::kEth) {
      return Reply::Error(absl::StatusCode::kUnimplemented,
                          "No get_config routine defined");
    }
    if (kind == DeviceKind::kCon) return Reply::Ok("fd:0,fd:1");
    absl::MutexLock lock(&mu_);
    auto it = disks_.find(unit.empty() ? -1 : unit[0] - '0');
    return Reply::Ok(it == disks_.end() ? "" : it->second);
  }
  Reply Remove(DeviceKind kind, int n) override {
    Record(absl::StrCat("remove ", n));
    absl::MutexLock lock(&mu_);
    if (kind != DeviceKind::kUbd || !disks_.count(n)) {
      return Reply::Errno(ENODEV, absl::StatusCode::kNotFound,
                          "Device doesn't exist");
    }
    if (n == 0) {
      return Reply::Errno(EBUSY, absl::StatusCode::kFailedPrecondition,
                          "Device is currently open");
    }
    disks_.erase(n);
    return Reply::Ok();
  }
  absl::StatusOr<std::string> Sysrq(char key) override {
    Record(absl::StrCat("sysrq ", std::string(1, key)));
    if (key == 's') return std::string("sysrq: Emergency Sync\n");
    return std::string(
        "sysrq: HELP : loglevel(0-9) reboot(b) crash(c) show-all-locks(d)\n");
  }
  absl::Status CtrlAltDel() override {
    Record("cad");
    return absl::OkStatus();
  }
  absl::Status Log(absl::string_view text) override {
    Record(absl::StrCat("log ", text));
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> Proc(absl::string_view file) override {
    Record(absl::StrCat("proc ", file));
    if (file == "uptime") return std::string("8.63 7.17\n");
    if (file == "big") return std::string(3000, 'x') + "\n";
    // 40 reply packets: more than a client's receive queue holds (10).
    if (file == "huge") return std::string(20000, 'y') + "\n";
    return absl::NotFoundError("Failed to open file");
  }
  absl::StatusOr<std::string> Stack(int pid) override {
    Record(absl::StrCat("stack ", pid));
    if (pid != 1) return absl::NotFoundError("Couldn't find that pid");
    return std::string("Call Trace:\n do_wait+0x1/0x2\n");
  }

  std::vector<std::string> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  bool stopped() {
    absl::MutexLock lock(&mu_);
    return stopped_;
  }

 private:
  void Record(std::string call) {
    absl::MutexLock lock(&mu_);
    calls_.push_back(std::move(call));
  }

  KernelVersion version_;
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::map<int, std::string> disks_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kuml::mconsole

#endif  // KUML_MCONSOLE_FAKE_GUEST_CONTROL_H_
