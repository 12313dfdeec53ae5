// PauseGate: parks vCPU threads for mconsole `stop` and lets them go again.
//
// The machine closes the gate and kicks every vCPU out of KVM_RUN; each vCPU
// thread, seeing the gate closed before its next KVM_RUN, waits in Park()
// until the gate opens or the machine stops. The guest executes nothing
// while every vCPU is parked: its clocks still run (kvmclock follows the
// host), as UML's do after `go`.
#ifndef KUML_VMM_VCPU_PAUSE_GATE_H_
#define KUML_VMM_VCPU_PAUSE_GATE_H_

#include <atomic>
#include <cstddef>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace kuml {

class PauseGate {
 public:
  // Fast check on the vCPU loop's path (no lock).
  bool closed() const { return closed_.load(std::memory_order_acquire); }

  void Close() {
    absl::MutexLock lock(&mu_);
    closed_.store(true, std::memory_order_release);
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    closed_.store(false, std::memory_order_release);
  }
  // Wakes parked threads so they re-check `*stop` (the machine is ending).
  void Release() {
    absl::MutexLock lock(&mu_);
    released_ = true;
  }

  // On a vCPU thread: waits while the gate is closed (or `*held` is set:
  // the gdb stub keeps this one vCPU stopped while others run) and not
  // released. A held vCPU counts as parked.
  void Park(const std::atomic<bool>* held = nullptr) {
    absl::MutexLock lock(&mu_);
    ++parked_;
    struct Args {
      PauseGate* gate;
      const std::atomic<bool>* held;
    } args{this, held};
    mu_.Await(absl::Condition(
        +[](Args* a) {
          const bool hold = a->held != nullptr && a->held->load();
          return (!a->gate->closed_.load(std::memory_order_relaxed) && !hold) ||
                 a->gate->released_;
        },
        &args));
    --parked_;
  }
  // Makes parked threads re-check their hold flags.
  void Wake() { absl::MutexLock lock(&mu_); }

  // Waits until `n` threads are parked (true), or the gate was released or
  // the time ran out (false).
  bool WaitParked(size_t n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    struct Args {
      PauseGate* gate;
      size_t n;
    } args{this, n};
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](Args* a) {
                               return a->gate->parked_ >= a->n ||
                                      a->gate->released_;
                             },
                             &args),
                         timeout);
    return parked_ >= n && !released_;
  }

  size_t parked() {
    absl::MutexLock lock(&mu_);
    return parked_;
  }

 private:
  absl::Mutex mu_;
  std::atomic<bool> closed_{false};
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  size_t parked_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace kuml

#endif  // KUML_VMM_VCPU_PAUSE_GATE_H_
