#include "devices/chan/terminal_mode.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "util/unique_fd.h"

namespace kuml {
namespace {

// A real pseudo-terminal: the master stays with the test, the slave is the
// "user's terminal" that goes raw.
struct Pty {
  UniqueFd master;
  UniqueFd slave;
  std::string slave_path;
};

void OpenPty(Pty* pty) {
  pty->master.Reset(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(pty->master.valid()) << strerror(errno);
  ASSERT_EQ(grantpt(pty->master.get()), 0);
  ASSERT_EQ(unlockpt(pty->master.get()), 0);
  const char* name = ptsname(pty->master.get());
  ASSERT_NE(name, nullptr);
  pty->slave_path = name;
  pty->slave.Reset(open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(pty->slave.valid()) << strerror(errno);
}

struct termios Get(int fd) {
  struct termios t;
  EXPECT_EQ(tcgetattr(fd, &t), 0) << strerror(errno);
  return t;
}

bool SameMode(const struct termios& a, const struct termios& b) {
  return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag &&
         a.c_cflag == b.c_cflag && a.c_lflag == b.c_lflag &&
         std::memcmp(a.c_cc, b.c_cc, sizeof(a.c_cc)) == 0;
}

bool IsRaw(const struct termios& t) {
  return !(t.c_lflag & (ECHO | ICANON | ISIG | IEXTEN)) &&
         !(t.c_oflag & OPOST) && !(t.c_iflag & (ICRNL | IXON)) &&
         (t.c_cflag & CSIZE) == CS8 && t.c_cc[VMIN] == 1 && t.c_cc[VTIME] == 0;
}

class TerminalModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(OpenPty(&pty_));
    original_ = Get(pty_.slave.get());
    // A fresh pty is cooked; make sure, or the test would prove nothing.
    ASSERT_FALSE(IsRaw(original_));
    ASSERT_TRUE(original_.c_lflag & ECHO);
  }
  Pty pty_;
  struct termios original_;
};

TEST_F(TerminalModeTest, RawWhileHeldRestoredOnDestruction) {
  {
    auto raw = RawTerminal::Enter(pty_.slave.get());
    ASSERT_TRUE(raw.ok()) << raw.status();
    EXPECT_TRUE(raw->active());
    EXPECT_TRUE(IsRaw(Get(pty_.slave.get())));
  }
  EXPECT_TRUE(SameMode(Get(pty_.slave.get()), original_));
}

TEST_F(TerminalModeTest, ExplicitRestoreIsIdempotent) {
  auto raw = RawTerminal::Enter(pty_.slave.get());
  ASSERT_TRUE(raw.ok());
  raw->Restore();
  EXPECT_FALSE(raw->active());
  EXPECT_TRUE(SameMode(Get(pty_.slave.get()), original_));
  // A later change by someone else is not undone by a second Restore.
  struct termios other = original_;
  other.c_lflag &= ~ECHO;
  ASSERT_EQ(tcsetattr(pty_.slave.get(), TCSANOW, &other), 0);
  raw->Restore();
  EXPECT_TRUE(SameMode(Get(pty_.slave.get()), other));
}

TEST_F(TerminalModeTest, MoveKeepsOneHold) {
  auto raw = RawTerminal::Enter(pty_.slave.get());
  ASSERT_TRUE(raw.ok());
  RawTerminal moved = std::move(*raw);
  EXPECT_FALSE(raw->active());
  EXPECT_TRUE(moved.active());
  EXPECT_TRUE(IsRaw(Get(pty_.slave.get())));
  RawTerminal assigned;
  assigned = std::move(moved);
  EXPECT_TRUE(IsRaw(Get(pty_.slave.get())));
  assigned.Restore();
  EXPECT_TRUE(SameMode(Get(pty_.slave.get()), original_));
}

TEST_F(TerminalModeTest, TwoFdsOnOneTerminalKeepTheOriginalState) {
  // con0=fd:0,fd:1 with both on the same tty: the second hold must not save
  // the already-raw state.
  UniqueFd second(open(pty_.slave_path.c_str(), O_RDWR | O_NOCTTY));
  ASSERT_TRUE(second.valid());
  auto in = RawTerminal::Enter(pty_.slave.get());
  ASSERT_TRUE(in.ok());
  auto out = RawTerminal::Enter(second.get());
  ASSERT_TRUE(out.ok());
  in->Restore();
  EXPECT_TRUE(IsRaw(Get(pty_.slave.get())));  // still held by `out`
  out->Restore();
  EXPECT_TRUE(SameMode(Get(pty_.slave.get()), original_));
}

TEST_F(TerminalModeTest, RestoresEvenAfterCallerClosedItsFd) {
  int fd = open(pty_.slave_path.c_str(), O_RDWR | O_NOCTTY);
  ASSERT_GE(fd, 0);
  auto raw = RawTerminal::Enter(fd);
  ASSERT_TRUE(raw.ok());
  close(fd);
  EXPECT_TRUE(IsRaw(Get(pty_.slave.get())));
  raw->Restore();
  EXPECT_TRUE(SameMode(Get(pty_.slave.get()), original_));
}

TEST_F(TerminalModeTest, RestoreAllTerminalsKeepsHolds) {
  auto raw = RawTerminal::Enter(pty_.slave.get());
  ASSERT_TRUE(raw.ok());
  RestoreAllTerminals();
  EXPECT_TRUE(SameMode(Get(pty_.slave.get()), original_));
  RestoreAllTerminals();  // any number of times
  EXPECT_TRUE(SameMode(Get(pty_.slave.get()), original_));
  EXPECT_TRUE(raw->active());
}

TEST(TerminalModeBadInput, NotATerminalIsANoOp) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  UniqueFd r(fds[0]), w(fds[1]);
  auto raw = RawTerminal::Enter(r.get());
  ASSERT_TRUE(raw.ok());
  EXPECT_FALSE(raw->active());
  UniqueFd null(open("/dev/null", O_RDWR));
  raw = RawTerminal::Enter(null.get());
  ASSERT_TRUE(raw.ok());
  EXPECT_FALSE(raw->active());
}

TEST(TerminalModeBadInput, ClosedOrNegativeFdIsAnError) {
  EXPECT_FALSE(RawTerminal::Enter(-1).ok());
  int fd = open("/dev/null", O_RDONLY);
  close(fd);
  EXPECT_FALSE(RawTerminal::Enter(fd).ok());
  EXPECT_FALSE(RawTerminal::Enter(1 << 20).ok());
}

// --- The abnormal exits, each in a forked child. ---

enum class Death { kSignal, kSegfault, kAbort, kIllegal, kDivide, kExit };

// Runs a child that puts the slave into raw mode, tells the parent, then
// dies as `how` says. Returns the wait status; checks the pty was raw while
// the child lived.
int RunChild(const Pty& pty, Death how, int sig) {
  int ready[2];
  EXPECT_EQ(pipe(ready), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    prctl(PR_SET_DUMPABLE, 0);  // no core files from the crash cases
    auto* raw = new absl::StatusOr<RawTerminal>(
        RawTerminal::Enter(pty.slave.get()));  // deliberately never freed
    if (!raw->ok() || !(*raw)->active()) _exit(100);
    char c = 'R';
    if (write(ready[1], &c, 1) != 1) _exit(101);
    switch (how) {
      case Death::kSignal:
        for (;;) pause();
      case Death::kSegfault: {
        volatile int* volatile nowhere = nullptr;
        *nowhere = 1;
        break;
      }
      case Death::kAbort:
        abort();
      case Death::kIllegal:
        __builtin_trap();
      case Death::kDivide: {
        // Both operands volatile: GCC turns 1 / x into a comparison.
        volatile int seven = 7, zero = 0;
        volatile int x = seven / zero;
        (void)x;
        break;
      }
      case Death::kExit:
        exit(7);  // atexit hook, no destructor for the leaked hold
    }
    _exit(102);
  }
  close(ready[1]);
  char c = 0;
  EXPECT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  EXPECT_EQ(c, 'R');
  if (how == Death::kSignal) {
    EXPECT_TRUE(IsRaw(Get(pty.slave.get())));
    kill(pid, sig);
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

class SignalRestoreTest : public TerminalModeTest,
                          public ::testing::WithParamInterface<int> {};

TEST_P(SignalRestoreTest, KilledChildLeavesTerminalRestored) {
  int sig = GetParam();
  int status = RunChild(pty_, Death::kSignal, sig);
  // Died of that very signal (re-raised with the default action) ...
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), sig);
  // ... after putting the terminal back.
  EXPECT_TRUE(SameMode(Get(pty_.slave.get()), original_));
}

INSTANTIATE_TEST_SUITE_P(FatalSignals, SignalRestoreTest,
                         ::testing::Values(SIGTERM, SIGINT, SIGHUP, SIGQUIT,
                                           SIGSEGV, SIGBUS, SIGABRT, SIGILL,
                                           SIGFPE),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(sigabbrev_np(info.param));
                         });

TEST_F(TerminalModeTest, RealCrashesRestore) {
  struct Case {
    Death how;
    int sig;
  } cases[] = {{Death::kSegfault, SIGSEGV},
               {Death::kAbort, SIGABRT},
               {Death::kIllegal, SIGILL},
               {Death::kDivide, SIGFPE}};
  for (const Case& c : cases) {
    int status = RunChild(pty_, c.how, c.sig);
    ASSERT_TRUE(WIFSIGNALED(status)) << status << " for " << c.sig;
    EXPECT_EQ(WTERMSIG(status), c.sig);
    EXPECT_TRUE(SameMode(Get(pty_.slave.get()), original_)) << c.sig;
  }
}

TEST_F(TerminalModeTest, ExitRestoresThroughAtexit) {
  int status = RunChild(pty_, Death::kExit, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
  EXPECT_TRUE(SameMode(Get(pty_.slave.get()), original_));
}

TEST_F(TerminalModeTest, IgnoredSignalStaysIgnored) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    signal(SIGHUP, SIG_IGN);  // e.g. started under nohup
    auto raw = RawTerminal::Enter(pty_.slave.get());
    if (!raw.ok()) _exit(100);
    char c = 'R';
    if (write(ready[1], &c, 1) != 1) _exit(101);
    // Survives SIGHUP; exits cleanly when the parent closes the pipe... or
    // on SIGTERM, which is handled.
    for (;;) pause();
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  kill(pid, SIGHUP);
  usleep(50000);
  int status;
  EXPECT_EQ(waitpid(pid, &status, WNOHANG), 0);  // still alive
  EXPECT_TRUE(IsRaw(Get(pty_.slave.get())));
  kill(pid, SIGTERM);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_TRUE(SameMode(Get(pty_.slave.get()), original_));
}

TEST_F(TerminalModeTest, ForkedChildDoesNotRestoreParentsTerminal) {
  auto raw = RawTerminal::Enter(pty_.slave.get());
  ASSERT_TRUE(raw.ok());
  pid_t pid = fork();
  if (pid == 0) {
    RestoreAllTerminals();  // what its signal handler or atexit would do
    exit(0);
  }
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(IsRaw(Get(pty_.slave.get())));  // the parent still owns it
  raw->Restore();
  EXPECT_TRUE(SameMode(Get(pty_.slave.get()), original_));
}

}  // namespace
}  // namespace kuml
