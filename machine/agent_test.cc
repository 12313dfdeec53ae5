// The real guest agent (guest/agent), run on the host over a socketpair and
// driven by StreamAgentClient: every command, its UML error texts, and the
// command core on top of it.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "machine/stream_agent_client.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string AgentPath() {
  return std::string(std::getenv("TEST_SRCDIR")) +
         "/kuml/guest/agent/kuml-agent";
}

std::string Slurp(const std::string& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class AgentTest : public ::testing::Test {
 protected:
  // Starts the agent with `proc_root` as its /proc.
  void StartAgent(const std::string& proc_root = "/proc") {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    kmsg_ = std::string(std::getenv("TEST_TMPDIR")) + "/kmsg";
    std::ofstream(kmsg_).close();
    // A stand-in for init that dies of SIGINT.
    init_ = fork();
    if (init_ == 0) {
      execl("/bin/sleep", "sleep", "100", nullptr);
      _exit(127);
    }
    // Until the child has exec'd, its name is still this test's (the
    // `stack` check below once caught it there under load).
    const std::string comm = absl::StrCat("/proc/", init_, "/comm");
    for (int i = 0; i < 500; ++i) {
      std::ifstream in(comm);
      std::string name;
      if (std::getline(in, name) && name == "sleep") break;
      usleep(10 * 1000);
    }
    agent_ = fork();
    if (agent_ == 0) {
      dup2(sv[1], 3);
      std::string init = std::to_string(init_);
      execl(AgentPath().c_str(), "kuml-agent", "--fd", "3", "--kmsg",
            kmsg_.c_str(), "--proc", proc_root.c_str(), "--init-pid",
            init.c_str(), "--no-restart", nullptr);
      _exit(127);
    }
    close(sv[1]);
    fd_ = sv[0];
    client_ = std::make_unique<StreamAgentClient>(fd_, absl::Seconds(10));
  }
  void TearDown() override {
    client_.reset();
    if (fd_ >= 0) close(fd_);
    if (agent_ > 0) waitpid(agent_, nullptr, 0);  // EOF ends it
    if (init_ > 0) {
      kill(init_, SIGKILL);
      waitpid(init_, nullptr, 0);
    }
  }

  std::string kmsg_;
  pid_t agent_ = -1, init_ = -1;
  int fd_ = -1;
  std::unique_ptr<StreamAgentClient> client_;
};

TEST_F(AgentTest, PingProcStackLog) {
  StartAgent();
  auto r = client_->Call("ping");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "kuml-agent 1");

  r = client_->Call("proc uptime");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(*r, testing::MatchesRegex("[0-9.]+ [0-9.]+\n"));
  r = client_->Call("proc nonexistent");
  EXPECT_TRUE(absl::IsNotFound(r.status()));
  EXPECT_EQ(r.status().message(), "Failed to open file");
  r = client_->Call("proc ../etc/passwd");
  EXPECT_EQ(r.status().message(), "Failed to open file");

  r = client_->Call(absl::StrCat("stack ", init_));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(*r, StartsWith(absl::StrCat("Stack of pid ", init_, " (sleep)")));
  r = client_->Call("stack 999999999");
  EXPECT_EQ(r.status().message(), "Couldn't find that pid");

  ASSERT_TRUE(client_->Call("log hello from mconsole").ok());
  EXPECT_EQ(Slurp(kmsg_), "<4>hello from mconsole");

  r = client_->Call("frobnicate");
  EXPECT_EQ(r.status().message(), "Unknown agent command");
  r = client_->Call(std::string(5000, 'x'));
  EXPECT_FALSE(r.ok());
  // A request over the agent's limit is refused on the host side already.
  EXPECT_TRUE(client_->Call("ping").ok());
}

TEST_F(AgentTest, CadSignalsInitWhenTheKernelWould) {
  std::string proc = std::string(std::getenv("TEST_TMPDIR")) + "/fakeproc";
  ASSERT_EQ(system(("mkdir -p " + proc + "/sys/kernel").c_str()), 0);
  std::ofstream(proc + "/sys/kernel/ctrl-alt-del") << "0\n";
  StartAgent(proc);
  ASSERT_TRUE(client_->Call("cad").ok());
  int status = 0;
  ASSERT_EQ(waitpid(init_, &status, 0), init_);
  init_ = -1;
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGINT);
}

TEST_F(AgentTest, CadWithCtrlAltDelSetRestartsInsteadOfSignalling) {
  std::string proc = std::string(std::getenv("TEST_TMPDIR")) + "/fakeproc1";
  ASSERT_EQ(system(("mkdir -p " + proc + "/sys/kernel").c_str()), 0);
  std::ofstream(proc + "/sys/kernel/ctrl-alt-del") << "1\n";
  StartAgent(proc);
  ASSERT_TRUE(client_->Call("cad").ok());  // --no-restart: replied, no reboot
  usleep(100 * 1000);
  EXPECT_EQ(waitpid(init_, nullptr, WNOHANG), 0) << "init was signalled";
}

TEST(StreamAgentClientTest, NoAgentMeansATimeoutNotAHang) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  StreamAgentClient client(sv[0], absl::Milliseconds(200));
  auto r = client.Call("ping");
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  // A late answer to that call is skipped; the next call gets its own.
  std::string late = std::string(
      "\x01\0\0\0\x01\0\0\0"
      "0",
      9);
  std::string own = std::string(
      "\x03\0\0\0\x02\0\0\0"
      "0ok",
      11);
  ASSERT_EQ(write(sv[1], late.data(), late.size()), 9);
  ASSERT_EQ(write(sv[1], own.data(), own.size()), 11);
  r = client.Call("ping");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "ok");
  close(sv[1]);
  r = client.Call("ping");
  EXPECT_FALSE(r.ok());
  close(sv[0]);
}

}  // namespace
}  // namespace kuml
