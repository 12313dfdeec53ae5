#include "kumld/mconsole_client.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <thread>

#include "gtest/gtest.h"
#include "util/unique_fd.h"

namespace kuml::kumld {
namespace {

std::string Packet(uint32_t err, uint32_t more, const std::string& text) {
  std::string p(12, '\0');
  uint32_t len = text.size() + 1;
  std::memcpy(&p[0], &err, 4);
  std::memcpy(&p[4], &more, 4);
  std::memcpy(&p[8], &len, 4);
  return p + text + std::string(1, '\0');
}

TEST(MconsoleClientTest, RequestIsWhatUmlMconsoleSends) {
  // uml-interfaces.md 4.4: `version` as the real uml_mconsole sends it.
  std::string r = *EncodeMconsoleRequest("version");
  ASSERT_EQ(r.size(), 524);
  EXPECT_EQ(r.substr(0, 19), std::string("\xbe\xba\xfe\xca\x02\0\0\0\x07\0\0\0"
                                         "version",
                                         19));
  EXPECT_EQ(r.find_first_not_of('\0', 19), std::string::npos);
  EXPECT_FALSE(EncodeMconsoleRequest(std::string(512, 'x')).ok());
  EXPECT_TRUE(EncodeMconsoleRequest(std::string(511, 'x')).ok());
}

class FakeGuest {
 public:
  FakeGuest() {
    char tmpl[] = "/tmp/mcXXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/mconsole";
    fd_.Reset(socket(AF_UNIX, SOCK_DGRAM, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, path_.c_str());
    EXPECT_EQ(bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  }
  ~FakeGuest() {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  // Answers one request with `packets`, to the sender's address; when
  // `forged` is given, another local socket sends it to the client first.
  std::thread Serve(std::vector<std::string> packets, std::string* got,
                    std::string forged = "") {
    return std::thread([this, packets, got, forged] {
      char buf[600];
      sockaddr_un from{};
      socklen_t len = sizeof(from);
      ssize_t n = recvfrom(fd_.get(), buf, sizeof(buf), 0,
                           reinterpret_cast<sockaddr*>(&from), &len);
      got->assign(buf, n > 0 ? n : 0);
      if (!forged.empty()) {
        UniqueFd rogue(socket(AF_UNIX, SOCK_DGRAM, 0));
        sendto(rogue.get(), forged.data(), forged.size(), 0,
               reinterpret_cast<sockaddr*>(&from), len);
      }
      for (const std::string& p : packets) {
        sendto(fd_.get(), p.data(), p.size(), 0,
               reinterpret_cast<sockaddr*>(&from), len);
      }
    });
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
  UniqueFd fd_;
};

TEST(MconsoleClientTest, ConcatenatesPacketsUntilMoreIsZero) {
  FakeGuest guest;
  std::string got;
  std::thread t = guest.Serve(
      {Packet(0, 1, "\n"), Packet(0, 1, "8.63 7.17\n"), Packet(0, 0, "")},
      &got);
  absl::StatusOr<MconsoleAnswer> a =
      SendMconsoleCommand(guest.path(), "proc uptime");
  t.join();
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->err, 0);
  EXPECT_EQ(a->text, "\n8.63 7.17\n");
  EXPECT_EQ(got.size(), 524);
  EXPECT_EQ(got.substr(12, 11), "proc uptime");
}

TEST(MconsoleClientTest, ErrorReplyAndNegativeErrno) {
  FakeGuest guest;
  std::string got;
  std::thread t = guest.Serve({Packet(-19, 0, "Device doesn't exist")}, &got);
  absl::StatusOr<MconsoleAnswer> a =
      SendMconsoleCommand(guest.path(), "remove ubd1");
  t.join();
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->err, -19);
  EXPECT_EQ(a->text, "Device doesn't exist");
}

TEST(MconsoleClientTest, MissingFinalPacketTimesOut) {
  FakeGuest guest;
  std::string got;
  std::thread t = guest.Serve({Packet(0, 1, "part")}, &got);
  absl::StatusOr<MconsoleAnswer> a =
      SendMconsoleCommand(guest.path(), "sysrq m", absl::Milliseconds(200));
  t.join();
  EXPECT_EQ(a.status().code(), absl::StatusCode::kDeadlineExceeded);
}

// Replies come only from the guest's socket: another local process that
// sends to the client's (abstract, guessable) address is not heard. Before,
// the forged answer was taken.
TEST(MconsoleClientTest, AnswersFromAnotherSocketAreIgnored) {
  FakeGuest guest;
  std::string got;
  std::thread t =
      guest.Serve({Packet(0, 0, "genuine")}, &got, Packet(0, 0, "forged"));
  absl::StatusOr<MconsoleAnswer> a =
      SendMconsoleCommand(guest.path(), "version");
  t.join();
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->text, "genuine");
}

TEST(MconsoleClientTest, AbsentSocket) {
  absl::StatusOr<MconsoleAnswer> a =
      SendMconsoleCommand("/nonexistent/mconsole", "version");
  EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(a.status().message().find("/nonexistent/mconsole"),
            std::string::npos);
}

}  // namespace
}  // namespace kuml::kumld
