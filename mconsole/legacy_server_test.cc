// The legacy door over real AF_UNIX datagram sockets: raw clients (also
// malformed packets) and the real uml_mconsole (Debian's uml-utilities),
// with a fake guest behind the core.
#include "mconsole/legacy_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mconsole/fake_guest_control.h"
#include "util/unique_fd.h"

namespace kuml::mconsole {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string SocketPath(const std::string& name) {
  // sun_path holds 107 bytes; Bazel's TEST_TMPDIR can be longer.
  static std::string dir = [] {
    std::string t = "/tmp/kuml-mc-XXXXXX";
    return std::string(mkdtemp(t.data()));
  }();
  return dir + "/" + name;
}

// A client bound to an abstract address, as uml_mconsole binds one.
class RawClient {
 public:
  RawClient() : fd_(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string name = absl::StrCat("kuml-test-", getpid(), "-", ++count_);
    memcpy(addr.sun_path + 1, name.data(), name.size());
    EXPECT_EQ(bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr),
                   sizeof(sa_family_t) + 1 + name.size()),
              0);
  }
  void SendRaw(const std::string& server, const std::string& bytes) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, server.data(), server.size());
    ASSERT_EQ(sendto(fd_.get(), bytes.data(), bytes.size(), 0,
                     reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
              static_cast<ssize_t>(bytes.size()));
  }
  // One datagram, or "" after 5 s.
  std::string Receive(int timeout_ms = 5000) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) return "";
    char buf[2048];
    ssize_t n = recv(fd_.get(), buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, n) : "";
  }
  // Packets until more=0.
  std::vector<ReplyPacket> ReceiveReply() {
    std::vector<ReplyPacket> out;
    for (;;) {
      std::string d = Receive();
      ReplyPacket p;
      if (d.empty() ||
          !DecodeReply(
              absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(d.data()),
                                  d.size()),
              &p)) {
        ADD_FAILURE() << "no or bad reply packet";
        return out;
      }
      out.push_back(p);
      if (!p.more) return out;
    }
  }

 private:
  static inline int count_ = 0;
  UniqueFd fd_;
};

struct ShellRun {
  int status = -1;
  std::string output;
};

// Runs a shell command, collecting its stdout (uml_mconsole warns on stderr
// about the places it looked for the socket first).
ShellRun Shell(const std::string& command) {
  ShellRun r;
  FILE* f = popen(command.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) r.output.append(buf, n);
  int st = pclose(f);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

class LegacyServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer({}); }
  void StartServer(LegacyServerOptions options) {
    server_.reset();
    path_ = SocketPath(absl::StrCat("mconsole-", ++servers_));
    auto s = LegacyServer::Start(path_, &core_, options);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
  }
  // uml_mconsole <socket> <args>, with a time limit so a lost packet fails
  // the test instead of hanging it.
  ShellRun UmlMconsole(const std::string& args) {
    return Shell(absl::StrCat("timeout 10 uml_mconsole ", path_, " ", args));
  }

  FakeGuestControl control_;
  CommandCore core_{&control_};
  std::string path_;
  std::unique_ptr<LegacyServer> server_;
  int servers_ = 0;
};

TEST_F(LegacyServerTest, VersionRoundTripRawBytes) {
  RawClient c;
  c.SendRaw(path_, EncodeRequest("version"));
  std::vector<ReplyPacket> r = c.ReceiveReply();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].err, 0);
  EXPECT_EQ(r[0].data,
            "Linux (none) 6.1.0 #1 SMP Sat Jul  4 15:38:16 UTC 2026 x86_64");
}

TEST_F(LegacyServerTest, MalformedPacketsGetUmlsAnswers) {
  RawClient c;
  std::string bad_magic = EncodeRequest("version");
  bad_magic[0] = 'x';
  c.SendRaw(path_, bad_magic);
  EXPECT_EQ(c.Receive(),
            "ERR Version 0 mconsole clients are not supported by this driver");

  std::string too_large = EncodeRequest("version");
  too_large[9] = 2;  // len = 512 + 7
  c.SendRaw(path_, too_large);
  std::vector<ReplyPacket> r = c.ReceiveReply();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].err, 1);
  EXPECT_EQ(r[0].data, "Request too large");

  c.SendRaw(path_, EncodeRequest("version").substr(0, 6));
  r = c.ReceiveReply();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].data, "Truncated request");

  // Wrong version: UML answers, then runs the command anyway.
  c.SendRaw(path_, EncodeRequest("version", 3));
  r = c.ReceiveReply();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].data, "This driver only supports version 2 clients");
  r = c.ReceiveReply();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_THAT(r[0].data, HasSubstr("Linux (none)"));

  c.SendRaw(path_, EncodeRequest("frobnicate"));
  r = c.ReceiveReply();
  EXPECT_EQ(r.at(0).err, 1);
  EXPECT_EQ(r.at(0).data, "Unknown command");

  // An oversize datagram is cut to the request struct, as UML reads it.
  c.SendRaw(path_, EncodeRequest("help") + std::string(1000, 'z'));
  r = c.ReceiveReply();
  EXPECT_EQ(r.size(), 2u);

  // Still serving.
  c.SendRaw(path_, EncodeRequest("version"));
  EXPECT_EQ(c.ReceiveReply().at(0).err, 0);
}

TEST_F(LegacyServerTest, LongReplyIsNeverDroppedForASlowReader) {
  RawClient c;
  c.SendRaw(path_, EncodeRequest("proc huge"));
  // 40 packets for a queue of 10: the server must wait, not drop.
  usleep(300 * 1000);
  std::vector<ReplyPacket> r = c.ReceiveReply();
  ASSERT_EQ(r.size(), 40u);
  std::string all;
  for (const ReplyPacket& p : r) all += p.data;
  EXPECT_EQ(all, "\n" + std::string(20000, 'y') + "\n");
  EXPECT_EQ(server_->stats().packets_lost.load(), 0u);
}

TEST_F(LegacyServerTest, OnlyTheOwnerMayCommand) {
  LegacyServerOptions options;
  options.owner_uid = geteuid() + 4242;
  options.allow_root = false;
  StartServer(options);
  RawClient c;
  c.SendRaw(path_, EncodeRequest("halt"));
  std::vector<ReplyPacket> r = c.ReceiveReply();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].err, 1);
  EXPECT_THAT(r[0].data, HasSubstr("Permission denied"));
  EXPECT_TRUE(control_.calls().empty());
  EXPECT_EQ(server_->stats().refused_peers.load(), 1u);
}

TEST_F(LegacyServerTest, RealUmlMconsoleOneShot) {
  ShellRun r = UmlMconsole("version");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output,
            "OK Linux (none) 6.1.0 #1 SMP Sat Jul  4 15:38:16 UTC 2026 "
            "x86_64\n");

  r = UmlMconsole("help");
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("OK Commands: \n    version - Get kernel"));
  EXPECT_THAT(
      r.output,
      HasSubstr("stack <pid> - returns the stack of the specified pid"));

  r = UmlMconsole("config ubd0");
  EXPECT_EQ(r.output, "OK root_fs\n");
  r = UmlMconsole("config ubd1=/srv/hot.img");
  EXPECT_EQ(r.status, 0);
  r = UmlMconsole("config ubd1=/srv/other.img");
  EXPECT_EQ(r.status, 240);
  EXPECT_EQ(r.output, "ERR Device is already configured\n");
  r = UmlMconsole("remove ubd7");
  EXPECT_EQ(r.status, 237);
  EXPECT_EQ(r.output, "ERR Device doesn't exist\n");
  r = UmlMconsole("bogus");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output, "ERR Unknown command\n");

  r = UmlMconsole("stop");
  EXPECT_EQ(r.output, "OK stopped\n");
  r = UmlMconsole("stop");
  EXPECT_EQ(r.output, "ERR Already stopped\n");
  r = UmlMconsole("go");
  EXPECT_EQ(r.output, "OK \n");
  r = UmlMconsole("go");
  EXPECT_EQ(r.output, "ERR Not stopped\n");

  r = UmlMconsole("sysrq s");
  EXPECT_EQ(r.output, "OK sysrq: Emergency Sync\n\n");
  r = UmlMconsole("proc uptime");
  EXPECT_EQ(r.output, "OK \n8.63 7.17\n\n");
  r = UmlMconsole("proc huge");  // UML itself loses packets here and hangs
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output.size(), 3 + 1 + 20000 + 1 + 1u);
  r = UmlMconsole("stack 1");
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("Call Trace:"));
  r = UmlMconsole("log hello-from-mconsole");
  EXPECT_EQ(r.output, "OK \nOK \n");  // the client sends "log \n" after it
  r = UmlMconsole("cad");
  EXPECT_EQ(r.output, "OK \n");
  r = UmlMconsole("halt");
  EXPECT_EQ(r.output, "OK \n");
  std::vector<std::string> calls = control_.calls();
  EXPECT_EQ(calls.back(), "halt");
}

TEST_F(LegacyServerTest, RealUmlMconsoleInteractive) {
  ShellRun r =
      Shell(absl::StrCat("printf 'version\\nconfig con0\\nbogus\\n' | "
                         "timeout 10 uml_mconsole ",
                         path_, " 2>/dev/null"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("OK Linux (none) 6.1.0"));
  EXPECT_THAT(r.output, HasSubstr("OK fd:0,fd:1"));
  EXPECT_THAT(r.output, HasSubstr("ERR Unknown command"));
}

TEST_F(LegacyServerTest, ShutdownRemovesTheSocket) {
  std::string path = path_;
  server_.reset();
  EXPECT_NE(access(path.c_str(), F_OK), 0);
}

TEST(SendNotifyTest, SocketNotificationBytes) {
  std::string path = SocketPath("notify");
  UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.data(), path.size());
  ASSERT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
            0);
  ASSERT_TRUE(SendNotify(path, NotifyType::kSocket,
                         std::string("/root/.uml/reftest/mconsole") + '\0')
                  .ok());
  char buf[600];
  ssize_t n = recv(fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
  ASSERT_EQ(n, 44);
  EXPECT_EQ(std::string(buf, 16),
            std::string("\xbe\xba\xfe\xca\2\0\0\0\0\0\0\0\x1c\0\0\0", 16));
  EXPECT_FALSE(SendNotify(path + "-absent", NotifyType::kPanic, "x").ok());
}

}  // namespace
}  // namespace kuml::mconsole
