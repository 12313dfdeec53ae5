// Which process a restarted kumld re-adopts for a recorded guest -- and so
// may later SIGKILL with its whole process group. A pid file is outside
// input (a stale pid, or planted in a shared uml_dir): kumld adopts only a
// process that is this guest's VMM. Before, a live pid in the pid file was
// adopted as it was, pid 1 included.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kumld/fleet.h"
#include "kumld/guest_records.h"
#include "kumld/proc_stats.h"
#include "kumld/process_group.h"

namespace kuml::kumld {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class FleetAdoptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/fXXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    options_.paths.state_dir = dir + "/state";
    options_.paths.log_dir = dir + "/log";
    options_.paths.uml_dir = dir + "/uml";
    options_.kuml_binary = "/bin/true";
  }
  void TearDown() override {
    if (vmm_ > 0) {
      kill(-vmm_, SIGKILL);
      waitpid(vmm_, nullptr, 0);
    }
  }

  // A record of guest `umid` as kumld writes it, the VMM's pid file
  // holding `pid_file`; returns what a new kumld says on start.
  std::string StartKumld(const std::string& umid, pid_t recorded_pid,
                         uint64_t recorded_ticks, pid_t pid_file) {
    host::GuestRecord r;
    r.set_umid(umid);
    r.add_argv("/bin/true");
    r.add_argv("umid=" + umid);
    r.set_pid(recorded_pid);
    r.set_start_ticks(recorded_ticks);
    r.set_restart(host::NEVER);
    EXPECT_EQ(
        system(("mkdir -p " + options_.paths.state_dir + "/guests").c_str()),
        0);
    EXPECT_TRUE(
        GuestRecords(options_.paths.state_dir + "/guests").Save(r).ok());
    const std::string umid_dir = options_.paths.uml_dir + "/" + umid;
    EXPECT_EQ(system(("mkdir -p " + umid_dir).c_str()), 0);
    std::ofstream(umid_dir + "/pid") << pid_file << "\n";
    std::vector<std::string> messages;
    auto fleet = Fleet::Create(options_, &messages);
    EXPECT_TRUE(fleet.ok()) << fleet.status();
    return absl::StrJoin(messages, "\n");
  }

  // A process that is what kumld starts: its own session, umid= in argv.
  pid_t StartVmm(const std::string& umid) {
    vmm_ = fork();
    if (vmm_ == 0) {
      setsid();
      execl("/bin/sh", "sh", "-c", "sleep 60", "sh", ("umid=" + umid).c_str(),
            nullptr);
      _exit(127);
    }
    for (int i = 0; i < 200 && !IsVmmOf(vmm_, umid); ++i) usleep(10000);
    return vmm_;
  }

  FleetOptions options_;
  pid_t vmm_ = -1;
};

TEST_F(FleetAdoptTest, PlantedPidFileNamingInitIsNotAdopted) {
  const std::string said = StartKumld("g1", 0, 0, /*pid_file=*/1);
  EXPECT_THAT(said, Not(HasSubstr("re-adopted g1")));
  EXPECT_THAT(said, HasSubstr("g1: its VMM ended while kumld was away"));
}

TEST_F(FleetAdoptTest, PidFileOfAnUnrelatedLiveProcessIsNotAdopted) {
  // This test process: alive, ours to signal, but not g2's VMM.
  const std::string said = StartKumld("g2", 0, 0, getpid());
  EXPECT_THAT(said, Not(HasSubstr("re-adopted g2")));
}

TEST_F(FleetAdoptTest, RecordWithAReusedPidIsNotAdopted) {
  // The recorded pid is alive but started at another time.
  const std::string said =
      StartKumld("g3", getpid(), ProcStartTicks(getpid()) + 1, 0);
  EXPECT_THAT(said, Not(HasSubstr("re-adopted g3")));
}

TEST_F(FleetAdoptTest, TheGuestsOwnVmmIsAdopted) {
  const pid_t vmm = StartVmm("g4");
  ASSERT_TRUE(IsVmmOf(vmm, "g4"));
  EXPECT_FALSE(IsVmmOf(vmm, "g5"));
  // By its pid file alone (no usable record) ...
  EXPECT_THAT(StartKumld("g4", 0, 0, vmm),
              HasSubstr(absl::StrCat("re-adopted g4 (pid ", vmm, ")")));
  // ... and by its record, whatever the pid file says.
  EXPECT_THAT(StartKumld("g4", vmm, ProcStartTicks(vmm), 1),
              HasSubstr(absl::StrCat("re-adopted g4 (pid ", vmm, ")")));
}

TEST(ProcessGroupGuard, NeverSignalsEveryoneOrItsOwnGroup) {
  for (pid_t pgid : {-1, 0, 1}) {
    EXPECT_FALSE(KillProcessGroup(pgid, absl::Milliseconds(10))) << pgid;
  }
  EXPECT_FALSE(IsVmmOf(1, "g1"));
  EXPECT_FALSE(IsVmmOf(0, "g1"));
}

}  // namespace
}  // namespace kuml::kumld
