#include "kumld/supervisor.h"

#include <signal.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml::kumld {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Records what the supervisor does; pids count up from 100.
class FakeOps : public ProcessOps {
 public:
  absl::StatusOr<pid_t> Launch(const GuestSpec& spec) override {
    launches.push_back(spec.umid);
    if (fail_launch) return absl::NotFoundError("no such vmm");
    return next_pid++;
  }
  void Signal(pid_t pid, int sig) override {
    signals.push_back(std::to_string(pid) + ":" + std::to_string(sig));
  }
  absl::Status Halt(const GuestSpec& spec) override {
    halts.push_back(spec.umid);
    return halt_works ? absl::OkStatus()
                      : absl::UnavailableError("no mconsole");
  }
  void Forget(const GuestSpec& spec) override {
    forgotten.push_back(spec.umid);
  }

  pid_t next_pid = 100;
  bool fail_launch = false;
  bool halt_works = true;
  std::vector<std::string> launches, signals, halts, forgotten;
};

GuestSpec Spec(const std::string& umid, host::RestartPolicy restart,
               const std::string& ready = "") {
  GuestSpec s;
  s.umid = umid;
  s.argv = {"kuml", "umid=" + umid};
  s.restart = restart;
  s.ready_pattern = ready;
  s.stop_timeout_ms = 5000;
  s.backoff_ms = 1000;
  s.backoff_max_ms = 4000;
  return s;
}

const absl::Time t0 = absl::FromUnixSeconds(1000000);
ExitInfo Exit(int code) { return ExitInfo{true, code, 0}; }
ExitInfo Killed(int sig) { return ExitInfo{true, 0, sig}; }

class SupervisorTest : public ::testing::Test {
 protected:
  host::GuestState State(const std::string& umid) {
    return sup.Get(umid)->state;
  }
  FakeOps ops;
  Supervisor sup{&ops};
};

TEST_F(SupervisorTest, StartsAndBecomesReadyOnPattern) {
  ASSERT_TRUE(sup.Add(Spec("a", host::NEVER, "ready"), t0).ok());
  EXPECT_EQ(State("a"), host::STARTING);
  EXPECT_EQ(sup.Get("a")->pid, 100);
  sup.OnReady("a");
  EXPECT_EQ(State("a"), host::RUNNING);
  ASSERT_TRUE(sup.Add(Spec("b", host::NEVER), t0).ok());
  EXPECT_EQ(State("b"), host::RUNNING);  // no pattern: up when launched
  EXPECT_EQ(sup.Add(Spec("b", host::NEVER), t0).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(SupervisorTest, NeverPolicyLeavesCrashedGuestStopped) {
  EXPECT_TRUE(sup.Add(Spec("a", host::NEVER), t0).ok());
  sup.OnExit(100, Killed(SIGKILL), t0 + absl::Seconds(1));
  EXPECT_EQ(State("a"), host::STOPPED);
  EXPECT_EQ(sup.Get("a")->last_exit, "signal 9");
  EXPECT_EQ(sup.Tick(t0 + absl::Hours(1)), absl::InfiniteFuture());
  EXPECT_THAT(ops.launches, ElementsAre("a"));
}

TEST_F(SupervisorTest, OnFailureRestartsCrashNotCleanExit) {
  EXPECT_TRUE(sup.Add(Spec("a", host::ON_FAILURE), t0).ok());
  sup.OnExit(100, Exit(1), t0 + absl::Seconds(1));
  EXPECT_EQ(State("a"), host::BACKOFF);
  EXPECT_EQ(sup.Tick(t0 + absl::Milliseconds(1500)),
            t0 + absl::Seconds(2));  // not yet: 1 s backoff
  EXPECT_EQ(ops.launches.size(), 1);
  sup.Tick(t0 + absl::Seconds(2));
  EXPECT_EQ(State("a"), host::RUNNING);
  EXPECT_EQ(sup.Get("a")->pid, 101);
  EXPECT_EQ(sup.Get("a")->restarts, 1);
  sup.OnExit(101, Exit(0), t0 + absl::Seconds(3));
  EXPECT_EQ(State("a"), host::STOPPED);  // a power-off is not a failure
}

TEST_F(SupervisorTest, BackoffDoublesToCapAndResetsAfterStableRun) {
  EXPECT_TRUE(sup.Add(Spec("a", host::ALWAYS), t0).ok());
  absl::Time now = t0;
  std::vector<absl::Duration> delays;
  for (int i = 0; i < 4; ++i) {
    now += absl::Milliseconds(10);  // crashes right away
    sup.OnExit(sup.Get("a")->pid, Exit(0), now);
    absl::Time due = sup.Tick(now);
    delays.push_back(due - now);
    now = due;
    sup.Tick(now);
  }
  EXPECT_THAT(delays, ElementsAre(absl::Seconds(1), absl::Seconds(2),
                                  absl::Seconds(4), absl::Seconds(4)));
  now += kStableUptime;  // up long enough: back to the short delay
  sup.OnExit(sup.Get("a")->pid, Exit(0), now);
  EXPECT_EQ(sup.Tick(now) - now, absl::Seconds(1));
  EXPECT_EQ(sup.Get("a")->restarts, 4);
}

TEST_F(SupervisorTest, StopHaltsThenTermsThenKills) {
  EXPECT_TRUE(sup.Add(Spec("a", host::ALWAYS), t0).ok());
  ASSERT_TRUE(sup.Stop("a", t0).ok());
  EXPECT_THAT(ops.halts, ElementsAre("a"));
  EXPECT_THAT(ops.signals, IsEmpty());
  EXPECT_EQ(State("a"), host::STOPPING);
  EXPECT_EQ(sup.Tick(t0 + absl::Seconds(4)), t0 + absl::Seconds(5));
  sup.Tick(t0 + absl::Seconds(5));
  EXPECT_THAT(ops.signals, ElementsAre("100:15"));
  sup.Tick(t0 + absl::Seconds(10));
  EXPECT_THAT(ops.signals, ElementsAre("100:15", "100:9"));
  sup.OnExit(100, Killed(SIGKILL), t0 + absl::Seconds(10));
  // Stopped on request: ALWAYS does not bring it back.
  EXPECT_EQ(State("a"), host::STOPPED);
  EXPECT_EQ(sup.Tick(t0 + absl::Hours(1)), absl::InfiniteFuture());
  EXPECT_EQ(ops.launches.size(), 1);
}

TEST_F(SupervisorTest, StopWithoutMconsoleSendsSigtermAtOnce) {
  ops.halt_works = false;
  EXPECT_TRUE(sup.Add(Spec("a", host::NEVER), t0).ok());
  EXPECT_TRUE(sup.Stop("a", t0).ok());
  EXPECT_THAT(ops.signals, ElementsAre("100:15"));
  sup.OnExit(100, Exit(143), t0 + absl::Seconds(1));
  EXPECT_EQ(State("a"), host::STOPPED);
}

TEST_F(SupervisorTest, StopDuringBackoffCancelsRestart) {
  EXPECT_TRUE(sup.Add(Spec("a", host::ALWAYS), t0).ok());
  sup.OnExit(100, Exit(1), t0);
  EXPECT_TRUE(sup.Stop("a", t0).ok());
  EXPECT_EQ(State("a"), host::STOPPED);
  sup.Tick(t0 + absl::Minutes(1));
  EXPECT_EQ(ops.launches.size(), 1);
  ASSERT_TRUE(sup.Start("a", t0 + absl::Minutes(1)).ok());
  EXPECT_EQ(State("a"), host::RUNNING);
  EXPECT_EQ(ops.launches.size(), 2);
}

TEST_F(SupervisorTest, DestroyForgetsOnceExited) {
  EXPECT_TRUE(sup.Add(Spec("a", host::ALWAYS), t0).ok());
  EXPECT_TRUE(sup.Destroy("a", t0).ok());
  EXPECT_TRUE(sup.Has("a"));  // still stopping
  EXPECT_EQ(sup.Start("a", t0).code(), absl::StatusCode::kFailedPrecondition);
  sup.OnExit(100, Exit(0), t0 + absl::Seconds(1));
  EXPECT_FALSE(sup.Has("a"));
  EXPECT_THAT(ops.forgotten, ElementsAre("a"));
  // A stopped guest goes at once.
  EXPECT_TRUE(sup.Add(Spec("b", host::NEVER), t0).ok());
  sup.OnExit(101, Exit(0), t0);
  EXPECT_TRUE(sup.Destroy("b", t0).ok());
  EXPECT_FALSE(sup.Has("b"));
  EXPECT_EQ(sup.Destroy("b", t0).code(), absl::StatusCode::kNotFound);
}

TEST_F(SupervisorTest, LaunchFailureIsFailedWithReason) {
  ops.fail_launch = true;
  EXPECT_TRUE(sup.Add(Spec("a", host::ALWAYS), t0).ok());
  EXPECT_EQ(State("a"), host::FAILED);
  EXPECT_EQ(sup.Get("a")->note, "no such vmm");
  EXPECT_EQ(sup.Tick(t0 + absl::Hours(1)), absl::InfiniteFuture());
}

TEST_F(SupervisorTest, AdoptedGuestExitIsUnknownAndCountsAsFailure) {
  ASSERT_TRUE(
      sup.Adopt(Spec("a", host::ON_FAILURE), 4242, t0 - absl::Minutes(5), t0)
          .ok());
  EXPECT_EQ(State("a"), host::RUNNING);
  EXPECT_TRUE(sup.Get("a")->adopted);
  ExitInfo unknown;
  unknown.known = false;
  sup.OnExit(4242, unknown, t0 + absl::Seconds(1));
  EXPECT_EQ(State("a"), host::BACKOFF);
  sup.Tick(t0 + absl::Seconds(2));
  EXPECT_EQ(sup.Get("a")->pid, 100);
  EXPECT_FALSE(sup.Get("a")->adopted);
}

TEST_F(SupervisorTest, AdoptExitedRestartsUnlessStoppedOrNever) {
  EXPECT_TRUE(
      sup.AdoptExited(Spec("a", host::ALWAYS), /*was_stopped=*/false, t0).ok());
  EXPECT_TRUE(
      sup.AdoptExited(Spec("b", host::ALWAYS), /*was_stopped=*/true, t0).ok());
  EXPECT_TRUE(
      sup.AdoptExited(Spec("c", host::NEVER), /*was_stopped=*/false, t0).ok());
  sup.Tick(t0);
  EXPECT_THAT(ops.launches, ElementsAre("a"));
  EXPECT_EQ(State("b"), host::STOPPED);
  EXPECT_EQ(State("c"), host::STOPPED);
}

TEST_F(SupervisorTest, UnknownPidIgnored) {
  EXPECT_TRUE(sup.Add(Spec("a", host::NEVER), t0).ok());
  sup.OnExit(999, Exit(1), t0);
  EXPECT_EQ(State("a"), host::RUNNING);
}

}  // namespace
}  // namespace kuml::kumld
