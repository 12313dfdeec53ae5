#include "devices/gdb/gdb_socket_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "devices/gdb/rsp_packet.h"
#include "devices/gdb/testing/fake_debug_target.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "util/unique_fd.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;

// A debugger's end of the connection, with a receive timeout so that a
// missing reply fails the test instead of hanging it.
class Client {
 public:
  static Client Tcp(uint16_t port) {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    EXPECT_EQ(
        connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
        << std::strerror(errno);
    return Client(std::move(fd));
  }
  static Client Unix(const std::string& path) {
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(
        connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
        << std::strerror(errno);
    return Client(std::move(fd));
  }

  void Send(absl::string_view bytes) {
    ASSERT_EQ(send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // Reads until `want` has arrived (true) or EOF/timeout (false).
  bool ReadUntil(absl::string_view want) {
    while (!absl::StrContains(got_, want)) {
      if (!ReadSome()) return false;
    }
    return true;
  }
  // Reads until the server closes the connection; true if it did.
  bool ReadToEof() {
    while (ReadSome()) {
    }
    return eof_;
  }
  const std::string& got() const { return got_; }
  void Close() { fd_.Reset(); }

 private:
  explicit Client(UniqueFd fd) : fd_(std::move(fd)) {
    struct timeval tv = {5, 0};
    setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  bool ReadSome() {
    char buf[4096];
    ssize_t n = recv(fd_.get(), buf, sizeof buf, 0);
    if (n == 0) eof_ = true;
    if (n <= 0) return false;
    got_.append(buf, n);
    return true;
  }

  UniqueFd fd_;
  std::string got_;
  bool eof_ = false;
};

// Waits up to 5 s for `done`.
bool Eventually(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// A short directory for socket paths (sun_path holds 107 bytes; Bazel's
// TEST_TMPDIR can be longer), removed with what is left in it.
class ShortTempDir {
 public:
  ShortTempDir() {
    char tmpl[] = "/tmp/kuml-gdb-XXXXXX";
    EXPECT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  ~ShortTempDir() {
    for (const std::string& f : files_) unlink(f.c_str());
    rmdir(dir_.c_str());
  }
  std::string Path(absl::string_view name) {
    files_.push_back(absl::StrCat(dir_, "/", name));
    return files_.back();
  }

 private:
  std::string dir_;
  std::vector<std::string> files_;
};

class GdbSocketServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto target = FakeDebugTarget::Create(2);
    ASSERT_TRUE(target.ok()) << target.status();
    target_ = std::move(*target);
  }

  std::unique_ptr<GdbSocketServer> StartTcp() {
    auto server = GdbSocketServer::Start(GdbEndpoint::Tcp(0), target_.get());
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? std::move(*server) : nullptr;
  }

  std::unique_ptr<FakeDebugTarget> target_;
  ShortTempDir tmp_;
};

TEST_F(GdbSocketServerTest, ServesADebuggerOnLoopback) {
  auto server = StartTcp();
  ASSERT_NE(server, nullptr);
  EXPECT_NE(server->port(), 0);
  EXPECT_EQ(server->endpoint().ToString(), "tcp:127.0.0.1:0");
  Client gdb = Client::Tcp(server->port());
  gdb.Send(EncodeRspPacket("qC"));
  ASSERT_TRUE(gdb.ReadUntil(EncodeRspPacket("QC1")));
  EXPECT_EQ(gdb.got(), "+" + EncodeRspPacket("QC1"));
  EXPECT_EQ(target_->attaches(), 1);
  EXPECT_TRUE(server->connected());
  EXPECT_EQ(server->sessions(), 1u);
}

TEST_F(GdbSocketServerTest, SecondDebuggerIsRefused) {
  auto server = StartTcp();
  ASSERT_NE(server, nullptr);
  Client first = Client::Tcp(server->port());
  first.Send(EncodeRspPacket("qC"));
  ASSERT_TRUE(first.ReadUntil("#"));
  // One that speaks first (gdb) is answered at once...
  Client second = Client::Tcp(server->port());
  second.Send(EncodeRspPacket("qSupported"));
  EXPECT_TRUE(second.ReadToEof());
  const std::string refusal = absl::StrCat(
      "+", EncodeRspPacket(absl::StrCat("E.", GdbSocketServer::kBusyMessage)));
  EXPECT_EQ(second.got(), refusal);
  // ...one that does not (a person with nc) after a while.
  Client third = Client::Tcp(server->port());
  EXPECT_TRUE(third.ReadToEof());
  EXPECT_EQ(third.got(), refusal);
  EXPECT_EQ(server->refused(), 2u);
  // The first goes on undisturbed.
  first.Send(EncodeRspPacket("qfThreadInfo"));
  EXPECT_TRUE(first.ReadUntil(EncodeRspPacket("m1,2")));
  EXPECT_EQ(target_->attaches(), 1);
}

TEST_F(GdbSocketServerTest, DroppedConnectionIsADetach) {
  auto server = StartTcp();
  ASSERT_NE(server, nullptr);
  {
    Client gdb = Client::Tcp(server->port());
    gdb.Send(EncodeRspPacket("Z0,1000,1"));
    ASSERT_TRUE(gdb.ReadUntil(EncodeRspPacket("OK")));
    gdb.Send(EncodeRspPacket("vCont;c"));
    ASSERT_TRUE(Eventually([&] { return target_->resumes().size() == 1; }));
  }  // the debugger goes away while the machine runs
  EXPECT_TRUE(Eventually([&] { return target_->detaches() == 1; }));
  EXPECT_TRUE(target_->breakpoints().empty());
  EXPECT_TRUE(Eventually([&] { return !server->connected(); }));
  // The next debugger is served.
  Client again = Client::Tcp(server->port());
  again.Send(EncodeRspPacket("?"));
  EXPECT_TRUE(again.ReadUntil(EncodeRspPacket("T05thread:1;")));
  EXPECT_EQ(server->sessions(), 2u);
}

TEST_F(GdbSocketServerTest, DetachClosesTheConnection) {
  auto server = StartTcp();
  ASSERT_NE(server, nullptr);
  Client gdb = Client::Tcp(server->port());
  gdb.Send(EncodeRspPacket("D"));
  EXPECT_TRUE(gdb.ReadToEof());
  EXPECT_EQ(gdb.got(), "+" + EncodeRspPacket("OK"));
  EXPECT_EQ(target_->detaches(), 1);
}

TEST_F(GdbSocketServerTest, KillClosesTheConnection) {
  auto server = StartTcp();
  ASSERT_NE(server, nullptr);
  Client gdb = Client::Tcp(server->port());
  gdb.Send(EncodeRspPacket("k"));
  EXPECT_TRUE(gdb.ReadToEof());
  EXPECT_EQ(target_->kills(), 1);
  EXPECT_EQ(target_->detaches(), 0);
}

TEST_F(GdbSocketServerTest, StopFromAVcpuThreadReachesTheDebugger) {
  auto server = StartTcp();
  ASSERT_NE(server, nullptr);
  Client gdb = Client::Tcp(server->port());
  gdb.Send(EncodeRspPacket("vCont;c"));
  ASSERT_TRUE(Eventually([&] { return target_->resumes().size() == 1; }));
  target_->ReportStop(StopEvent::Breakpoint(2));  // this thread: a "vCPU"
  EXPECT_TRUE(gdb.ReadUntil(EncodeRspPacket("T05thread:2;")));
}

TEST_F(GdbSocketServerTest, CtrlCInterrupts) {
  auto server = StartTcp();
  ASSERT_NE(server, nullptr);
  Client gdb = Client::Tcp(server->port());
  gdb.Send(EncodeRspPacket("vCont;c"));
  ASSERT_TRUE(Eventually([&] { return target_->resumes().size() == 1; }));
  gdb.Send("\x03");
  EXPECT_TRUE(gdb.ReadUntil(EncodeRspPacket("T02thread:1;")));
  EXPECT_EQ(target_->interrupts(), 1);
}

TEST_F(GdbSocketServerTest, AttachFailureIsToldAndClosed) {
  target_->Fail("Attach", absl::InternalError("vCPUs would not stop"));
  auto server = StartTcp();
  ASSERT_NE(server, nullptr);
  Client gdb = Client::Tcp(server->port());
  gdb.Send(EncodeRspPacket("qSupported"));
  EXPECT_TRUE(gdb.ReadToEof());
  EXPECT_THAT(gdb.got(), HasSubstr("+$E.kuml: cannot attach: vCPUs would not "
                                   "stop#"));
  EXPECT_FALSE(server->connected());
}

TEST_F(GdbSocketServerTest, PortInUseIsAnError) {
  auto server = StartTcp();
  ASSERT_NE(server, nullptr);
  auto second =
      GdbSocketServer::Start(GdbEndpoint::Tcp(server->port()), target_.get());
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(
      second.status().message(),
      HasSubstr(absl::StrCat("gdb tcp:127.0.0.1:", server->port(), ": bind")));
}

TEST_F(GdbSocketServerTest, UnixSocket) {
  const std::string path = tmp_.Path("gdb.sock");
  {
    auto server =
        GdbSocketServer::Start(GdbEndpoint::Unix(path), target_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    EXPECT_EQ((*server)->port(), 0);
    Client gdb = Client::Unix(path);
    gdb.Send(EncodeRspPacket("qC"));
    EXPECT_TRUE(gdb.ReadUntil(EncodeRspPacket("QC1")));
    // A second server on the same live path is refused.
    auto twin = GdbSocketServer::Start(GdbEndpoint::Unix(path), target_.get());
    EXPECT_EQ(twin.status().code(), absl::StatusCode::kAlreadyExists);
    // Its probe connection reached our server, which turned it away (were
    // it still queued when the debugger leaves, it would be served).
    EXPECT_TRUE(Eventually([&] { return (*server)->refused() == 1; }));
  }  // destroying the server detaches and removes the socket
  EXPECT_EQ(target_->detaches(), 1);
  EXPECT_NE(access(path.c_str(), F_OK), 0);
}

TEST_F(GdbSocketServerTest, StaleUnixSocketIsReplaced) {
  const std::string path = tmp_.Path("stale.sock");
  {
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr),
              0);
  }  // closed without unlinking: a stale socket file stays
  auto server = GdbSocketServer::Start(GdbEndpoint::Unix(path), target_.get());
  ASSERT_TRUE(server.ok()) << server.status();
  Client gdb = Client::Unix(path);
  gdb.Send(EncodeRspPacket("qC"));
  EXPECT_TRUE(gdb.ReadUntil(EncodeRspPacket("QC1")));
}

TEST_F(GdbSocketServerTest, UnixPathThatIsNotASocketIsRefused) {
  const std::string path = tmp_.Path("plain-file");
  UniqueFd file(open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  ASSERT_TRUE(file.valid());
  auto server = GdbSocketServer::Start(GdbEndpoint::Unix(path), target_.get());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(server.status().message(), HasSubstr(path));
  EXPECT_EQ(access(path.c_str(), F_OK), 0);  // left alone
  unlink(path.c_str());
  EXPECT_FALSE(GdbSocketServer::Start(GdbEndpoint::Unix(std::string(200, 'x')),
                                      target_.get())
                   .ok());
}

}  // namespace
}  // namespace kuml
