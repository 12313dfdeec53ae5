// Drives Debian's gdb (/usr/bin/gdb, batch mode) against GdbSocketServer and
// FakeDebugTarget: what a person with `gdb -ex 'target remote ...'` sees.
// Skipped when gdb is not installed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "devices/gdb/gdb_socket_server.h"
#include "devices/gdb/testing/fake_debug_target.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "util/unique_fd.h"

extern char** environ;

namespace kuml {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kGdb[] = "/usr/bin/gdb";

// Runs gdb in batch mode with one -ex per command; its stdout and stderr
// together. Killed after 60 s.
std::string RunGdb(const std::vector<std::string>& commands) {
  std::vector<std::string> args = {kGdb, "-batch", "-nx"};
  for (const std::string& c : commands) {
    args.push_back("-ex");
    args.push_back(c);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return "pipe failed";
  UniqueFd out(fds[0]);
  UniqueFd in(fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, in.get(), 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  // gdb wants a home for its index cache; Bazel's test environment has
  // none.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "HOME=")) env_strings.emplace_back(*e);
  }
  const char* tmp = getenv("TEST_TMPDIR");
  env_strings.push_back(absl::StrCat("HOME=", tmp != nullptr ? tmp : "/tmp"));
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  pid_t pid;
  const int err =
      posix_spawn(&pid, kGdb, &actions, nullptr, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  in.Reset();
  if (err != 0) return "spawn failed";
  std::string output;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  for (;;) {
    struct pollfd p = {out.get(), POLLIN, 0};
    const int left =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (left <= 0 || poll(&p, 1, left) <= 0) {
      kill(pid, SIGKILL);
      output += "\n<gdb timed out>";
      break;
    }
    char buf[4096];
    const ssize_t n = read(out.get(), buf, sizeof buf);
    if (n <= 0) break;
    output.append(buf, n);
  }
  int status;
  waitpid(pid, &status, 0);
  return output;
}

// Every "warning:" line but the one gdb gives any remote target without an
// executable file.
std::vector<std::string> Warnings(const std::string& output) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (!absl::StrContains(line, "warning")) continue;
    if (absl::StrContains(line, "No executable has been specified")) continue;
    out.emplace_back(line);
  }
  return out;
}

class GdbE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kGdb, X_OK) != 0) GTEST_SKIP() << kGdb << " is not installed";
    auto target = FakeDebugTarget::Create(2);
    ASSERT_TRUE(target.ok()) << target.status();
    target_ = std::move(*target);
    auto server = GdbSocketServer::Start(GdbEndpoint::Tcp(0), target_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  std::vector<std::string> Connect() {
    return {"set architecture i386:x86-64",
            absl::StrCat("target remote 127.0.0.1:", server_->port())};
  }

  std::unique_ptr<FakeDebugTarget> target_;
  std::unique_ptr<GdbSocketServer> server_;
};

TEST_F(GdbE2eTest, InspectsRegistersMemoryAndThreads) {
  std::vector<std::string> commands = Connect();
  for (const char* c :
       {"info registers rip", "x/4xg 0xffffc90000000000", "info threads",
        "info registers eflags cs cr0 cr3 efer", "p/x $fs_base", "p/x $gs_base",
        "p/x $k_gs_base", "thread 2", "p/x $rax", "detach"}) {
    commands.push_back(c);
  }
  const std::string out = RunGdb(commands);
  SCOPED_TRACE(out);
  EXPECT_THAT(Warnings(out), ::testing::IsEmpty());
  EXPECT_THAT(out, Not(HasSubstr("rror")));
  EXPECT_THAT(out, HasSubstr("rip            0xffffffff81000100"));
  EXPECT_THAT(out, HasSubstr("0xffffc90000000000:\t0xdead0000beef0000\t"
                             "0xdead0000beef0001"));
  EXPECT_THAT(out, HasSubstr("0xffffc90000000010:\t0xdead0000beef0002\t"
                             "0xdead0000beef0003"));
  EXPECT_THAT(out, HasSubstr("Thread 1 (vCPU 0)"));
  EXPECT_THAT(out, HasSubstr("Thread 2 (vCPU 1)"));
  EXPECT_THAT(out, HasSubstr("[ PF ZF IF ]"));
  EXPECT_THAT(out, HasSubstr("[ PE MP ET NE WP AM PG ]"));
  EXPECT_THAT(out, HasSubstr("[ SCE LME LMA NXE ]"));
  EXPECT_THAT(out, HasSubstr("$1 = 0x0"));
  EXPECT_THAT(out, HasSubstr("$2 = 0xffff888007a10000"));
  EXPECT_THAT(out, HasSubstr("$4 = 0x1002"));
  EXPECT_THAT(out, HasSubstr("[Inferior 1 (Remote target) detached]"));
  EXPECT_EQ(target_->attaches(), 1);
  EXPECT_EQ(target_->detaches(), 1);
}

TEST_F(GdbE2eTest, BreakpointContinueStepAndWrite) {
  constexpr uint64_t kBreak = FakeDebugTarget::kTextBase + 0x40;
  // The "guest": a plain continue runs thread 2 into the breakpoint; a step
  // advances the stepping thread by one byte.
  int resumes = 0;
  target_->on_resume = [&](absl::Span<const ResumeAction> actions) {
    ++resumes;
    for (size_t i = 0; i < actions.size(); ++i) {
      if (actions[i] != ResumeAction::kStep) continue;
      const int thread = static_cast<int>(i) + 1;
      X86Registers r = *target_->ReadRegisters(thread);
      r.rip += 1;
      target_->SetRegisters(thread, r);
      target_->ReportStop(StopEvent::SingleStep(thread));
      return;
    }
    X86Registers r = *target_->ReadRegisters(2);
    r.rip = kBreak;
    target_->SetRegisters(2, r);
    target_->ReportStop(StopEvent::Breakpoint(2));
  };
  std::vector<std::string> commands = Connect();
  for (std::string c :
       {absl::StrCat("break *", kBreak), std::string("continue"),
        std::string("info registers rip"), std::string("stepi"),
        std::string("set {long}0xffffc90000000008 = 0x1234"),
        std::string("x/2xg 0xffffc90000000000"), std::string("detach")}) {
    commands.push_back(c);
  }
  const std::string out = RunGdb(commands);
  SCOPED_TRACE(out);
  EXPECT_THAT(Warnings(out), ::testing::IsEmpty());
  EXPECT_THAT(out, Not(HasSubstr("rror")));
  EXPECT_THAT(out, HasSubstr("Breakpoint 1 at 0xffffffff81000040"));
  EXPECT_THAT(out, HasSubstr("Thread 2 hit Breakpoint 1, 0xffffffff81000040"));
  EXPECT_THAT(out, HasSubstr("rip            0xffffffff81000040"));
  EXPECT_THAT(out, HasSubstr("0xffffffff81000041 in ?? ()"));
  EXPECT_THAT(out, HasSubstr("0xffffc90000000000:\t0xdead0000beef0000\t"
                             "0x0000000000001234"));
  EXPECT_THAT(out, HasSubstr("[Inferior 1 (Remote target) detached]"));
  EXPECT_GE(resumes, 2);
  EXPECT_TRUE(target_->breakpoints().empty());
}

TEST_F(GdbE2eTest, HardwareWatchpoint) {
  constexpr uint64_t kWatched = FakeDebugTarget::kDataBase + 0x10;
  // The "guest" writes the watched word and the watchpoint fires.
  target_->on_resume = [&](absl::Span<const ResumeAction>) {
    const uint64_t value = 0x42;
    ASSERT_TRUE(target_
                    ->WriteMemory(1, kWatched,
                                  {reinterpret_cast<const uint8_t*>(&value),
                                   sizeof value})
                    .ok());
    target_->ReportStop(
        StopEvent::Watchpoint(1, kWatched, BreakpointType::kWriteWatch));
  };
  std::vector<std::string> commands = Connect();
  commands.push_back(absl::StrCat("watch *(long *)", kWatched));
  commands.push_back("continue");
  commands.push_back("detach");
  const std::string out = RunGdb(commands);
  SCOPED_TRACE(out);
  EXPECT_THAT(Warnings(out), ::testing::IsEmpty());
  EXPECT_THAT(out, HasSubstr("Thread 1 hit Hardware watchpoint 1: *(long *)"));
  EXPECT_THAT(out, HasSubstr("Old value = -2401263023115272190"));
  EXPECT_THAT(out, HasSubstr("New value = 66"));
  EXPECT_TRUE(target_->breakpoints().empty());
}

TEST_F(GdbE2eTest, SecondDebuggerIsToldWhy) {
  // The first "debugger": a bare connection.
  UniqueFd first(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(server_->port());
  ASSERT_EQ(
      connect(first.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!server_->connected() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_TRUE(server_->connected());
  const std::string out = RunGdb(Connect());
  SCOPED_TRACE(out);
  EXPECT_THAT(out, HasSubstr(absl::StrCat("Remote failure reply: E.",
                                          GdbSocketServer::kBusyMessage)));
  EXPECT_EQ(server_->refused(), 1u);
  EXPECT_EQ(target_->attaches(), 1);
}

TEST_F(GdbE2eTest, AttachFailureIsShown) {
  target_->Fail("Attach", absl::InternalError("vCPU 1 did not stop"));
  const std::string out = RunGdb(Connect());
  SCOPED_TRACE(out);
  EXPECT_THAT(out, HasSubstr("Remote failure reply: E.kuml: cannot attach: "
                             "vCPU 1 did not stop"));
}

}  // namespace
}  // namespace kuml
