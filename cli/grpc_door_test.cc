// The gRPC door over a fake guest, driven by umlctl (in process): the same
// replies and exit statuses as uml_mconsole, --json, owner-only socket,
// `umlctl list`.
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "cli/umlctl.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mconsole/fake_guest_control.h"
#include "mconsole/grpc_service.h"
#include "mconsole/umid_dir.h"

namespace kuml::mconsole {
namespace {

using ::testing::HasSubstr;

struct CtlRun {
  int status;
  std::string out;
  std::string err;
};

class GrpcDoorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = "/tmp/kuml-grpc-XXXXXX";
    base_ = mkdtemp(t.data());
    auto dir = UmidDir::Create(base_, "fake");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::move(*dir);
    auto door = GrpcDoor::Start(dir_->File("grpc"), &core_);
    ASSERT_TRUE(door.ok()) << door.status();
    door_ = std::move(*door);
  }
  void TearDown() override {
    // The door and the umid dir first (they remove what they made), then
    // the scratch base: empty by then.
    door_.reset();
    dir_.reset();
    if (!base_.empty()) rmdir(base_.c_str());
  }
  CtlRun Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), "--uml-dir=" + base_);
    std::ostringstream out, err;
    int status = RunUmlctl(args, out, err);
    return {status, out.str(), err.str()};
  }

  FakeGuestControl control_;
  CommandCore core_{&control_};
  std::string base_;
  std::unique_ptr<UmidDir> dir_;
  std::unique_ptr<GrpcDoor> door_;
};

TEST_F(GrpcDoorTest, SocketIsOwnerOnly) {
  struct stat st;
  ASSERT_EQ(stat(dir_->File("grpc").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(GrpcDoorTest, UmlctlMirrorsUmlMconsole) {
  CtlRun r = Ctl({"fake", "version"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "OK Linux (none) 6.1.0 #1 SMP Sat Jul  4 15:38:16 UTC 2026 "
            "x86_64\n");
  r = Ctl({"fake", "versionXYZ"});  // UML's prefix rule
  EXPECT_EQ(r.status, 0);
  r = Ctl({"fake", "vers"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "ERR Unknown command\n");
  r = Ctl({"fake", "config", "ubd0"});
  EXPECT_EQ(r.out, "OK root_fs\n");
  r = Ctl({"fake", "config", "ubd1=/srv/hot.img"});
  EXPECT_EQ(r.out, "OK \n");
  r = Ctl({"fake", "config", "ubd1=/srv/x.img"});
  EXPECT_EQ(r.status, 240);
  EXPECT_EQ(r.out, "ERR Device is already configured\n");
  r = Ctl({"fake", "remove", "ubd7"});
  EXPECT_EQ(r.status, 237);
  EXPECT_EQ(r.out, "ERR Device doesn't exist\n");
  r = Ctl({"fake", "stop"});
  EXPECT_EQ(r.out, "OK stopped\n");
  r = Ctl({"fake", "stop"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "ERR Already stopped\n");
  r = Ctl({"fake", "go"});
  EXPECT_EQ(r.out, "OK \n");
  r = Ctl({"fake", "go"});
  EXPECT_EQ(r.out, "ERR Not stopped\n");
  r = Ctl({"fake", "sysrq", "s"});
  EXPECT_EQ(r.out, "OK sysrq: Emergency Sync\n\n");
  r = Ctl({"fake", "proc", "uptime"});
  EXPECT_EQ(r.out, "OK \n8.63 7.17\n\n");
  r = Ctl({"fake", "proc", "nonexistent"});
  EXPECT_EQ(r.out, "ERR Failed to open file\n");
  r = Ctl({"fake", "stack"});
  EXPECT_EQ(r.out, "ERR Please specify a pid\n");
  r = Ctl({"fake", "stack", "1"});
  EXPECT_THAT(r.out, HasSubstr("Call Trace:"));
  r = Ctl({"fake", "log", "hello", "world"});
  EXPECT_EQ(r.out, "OK \n");
  r = Ctl({"fake", "help"});
  EXPECT_EQ(r.out, "OK " + std::string(HelpText()) + "\n");
  r = Ctl({"fake", "halt"});
  EXPECT_EQ(r.out, "OK \n");
  EXPECT_THAT(control_.calls(), testing::Contains("log hello world"));
  EXPECT_EQ(control_.calls().back(), "halt");
}

TEST_F(GrpcDoorTest, SocketPathAndDirectoryTargets) {
  EXPECT_EQ(Ctl({dir_->File("grpc"), "version"}).status, 0);
  EXPECT_EQ(Ctl({dir_->path(), "version"}).status, 0);
  CtlRun r = Ctl({"nosuchguest", "version"});
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("cannot reach"));
}

TEST_F(GrpcDoorTest, JsonOutput) {
  CtlRun r = Ctl({"--json", "fake", "version"});
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.out, HasSubstr("\"release\":\"6.1.0\""));
  EXPECT_THAT(r.out, HasSubstr("\"nodename\":\"(none)\""));
  r = Ctl({"--json", "fake", "go"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "{\"err\":1,\"code\":9,\"error\":\"Not stopped\"}\n");
  r = Ctl({"--json", "fake", "proc", "uptime"});
  EXPECT_THAT(r.out, HasSubstr("\"contents\":"));
}

TEST_F(GrpcDoorTest, ListShowsRunningGuests) {
  CtlRun r = Ctl({"list"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "fake\t" + std::to_string(getpid()) + "\t" +
                       dir_->File("grpc") + "\n");
  r = Ctl({"--json", "list"});
  EXPECT_THAT(r.out, HasSubstr("\"umid\":\"fake\""));
}

TEST_F(GrpcDoorTest, UsageErrors) {
  EXPECT_EQ(Ctl({}).status, 2);
  EXPECT_EQ(Ctl({"fake"}).status, 2);
  EXPECT_EQ(Ctl({"--bogus", "fake", "version"}).status, 2);
  // `umlctl cow` reaches the COW tools: a missing file is an error (1) that
  // names the command and the file.
  CtlRun r = Ctl({"cow", "info", "/nonexistent/x.cow"});
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("cow"));
  EXPECT_THAT(r.err, HasSubstr("/nonexistent/x.cow"));
}

}  // namespace
}  // namespace kuml::mconsole
