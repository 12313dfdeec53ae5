#include "kumld/process_group.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace kuml::kumld {
namespace {

// A scratch file the helper process locks, as UML's helpers lock its disks.
class ProcessGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dir = getenv("TEST_TMPDIR");
    path_ = std::string(dir != nullptr ? dir : "/tmp") + "/lockXXXXXX";
    int fd = mkstemp(path_.data());
    ASSERT_GE(fd, 0);
    close(fd);
  }
  void TearDown() override {
    if (leader_ > 0) kill(-leader_, SIGKILL);
    unlink(path_.c_str());
  }

  // Forks a group leader (setsid) that forks a helper: the helper takes an
  // fcntl write lock on the file, both then sleep. Returns once the lock is
  // held.
  void StartGroupWithLockingHelper() {
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    leader_ = fork();
    ASSERT_GE(leader_, 0);
    if (leader_ == 0) {
      setsid();
      if (fork() == 0) {
        int fd = open(path_.c_str(), O_RDWR);
        struct flock lock = {};
        lock.l_type = F_WRLCK;
        lock.l_whence = SEEK_SET;
        if (fd < 0 || fcntl(fd, F_SETLK, &lock) != 0) _exit(1);
        (void)!write(ready[1], "x", 1);
        for (;;) pause();
      }
      for (;;) pause();
    }
    close(ready[1]);
    char c;
    ASSERT_EQ(read(ready[0], &c, 1), 1) << "the helper did not lock the file";
    close(ready[0]);
  }

  // Whether some process holds a lock on the file (F_GETLK).
  bool Locked() {
    int fd = open(path_.c_str(), O_RDWR);
    EXPECT_GE(fd, 0);
    struct flock lock = {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    EXPECT_EQ(fcntl(fd, F_GETLK, &lock), 0);
    close(fd);
    return lock.l_type != F_UNLCK;
  }

  std::string path_;
  pid_t leader_ = -1;
};

TEST_F(ProcessGroupTest, LeftoverHelperKeepsTheGroupUntilKilled) {
  StartGroupWithLockingHelper();
  // The VMM dies alone (what `kill -9 <pid>` does); its helper lives on and
  // keeps the lock.
  ASSERT_EQ(kill(leader_, SIGKILL), 0);
  ASSERT_EQ(waitpid(leader_, nullptr, 0), leader_);
  EXPECT_FALSE(ProcessGroupGone(leader_));
  EXPECT_FALSE(WaitProcessGroupGone(leader_, absl::Milliseconds(50)));
  EXPECT_TRUE(Locked());

  // Killing the group: once it says gone, the lock is free.
  EXPECT_TRUE(KillProcessGroup(leader_, absl::Seconds(10)));
  EXPECT_TRUE(ProcessGroupGone(leader_));
  EXPECT_FALSE(Locked());
  leader_ = -1;
}

TEST_F(ProcessGroupTest, ReapedLoneLeaderIsGone) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setsid();
    _exit(0);
  }
  ASSERT_EQ(waitpid(pid, nullptr, 0), pid);
  EXPECT_TRUE(ProcessGroupGone(pid));
  EXPECT_TRUE(KillProcessGroup(pid, absl::Milliseconds(1)));
}

}  // namespace
}  // namespace kuml::kumld
