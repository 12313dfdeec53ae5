#include "frontend/support.h"

#include "absl/status/status.h"
#include "frontend/command_line.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

MachineSpec Parse(const std::vector<std::string>& args) {
  absl::StatusOr<MachineSpec> spec = ParseCommandLine(args);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : MachineSpec{};
}

absl::Status Check(const std::vector<std::string>& args) {
  return CheckSupported(Parse(args));
}

void ExpectSupported(const std::vector<std::string>& args) {
  const absl::Status status = Check(args);
  EXPECT_TRUE(status.ok()) << status;
}

void ExpectRefused(const std::vector<std::string>& args,
                   const std::string& switches) {
  const absl::Status status = Check(args);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented) << switches;
  EXPECT_EQ(status.message(), "not supported yet: " + switches);
}

TEST(CheckSupportedTest, ReadmeLine) {
  ExpectSupported(
      {"ubd0=root_fs", "con0=fd:0,fd:1", "mem=128M", "init=/init", "rw"});
}

TEST(CheckSupportedTest, NoArguments) { ExpectSupported({}); }

TEST(CheckSupportedTest, NetworkDevices) {
  ExpectSupported({"ubd0=root_fs", "eth0=tuntap,tap0", "eth1=mcast",
                   "eth2=daemon", "eth3=slirp", "vec0:transport=tap,ifname=t"});
  ExpectRefused({"vec1:transport=raw,ifname=eth0"},
                "vec1:transport=raw,ifname=eth0");
}

TEST(CheckSupportedTest, SupportedSwitches) {
  ExpectSupported({"ubd0r=root_fs",  "ubd1=t1.img,,SER-0001",
                   "ubdc=c.img",     "umid=vm",
                   "uml_dir=/tmp/u", "initrd=/i",
                   "kernel=/k",      "mem=256M",
                   "noreboot",       "quiet",
                   "root=/dev/ubda", "init=/init",
                   "console=ttyS0",  "xterm=konsole",
                   "debug",          "nosysemu",
                   "stderr=1",       "ssl-non-raw",
                   "udb0=x",         "fake_ide",
                   "loglevel=7",     "FOO=bar"});
}

TEST(CheckSupportedTest, EveryLineOnEveryChannel) {
  ExpectSupported({"con0=fd:0,fd:1"});
  for (const char* con0 :
       {"con0=pts", "con0=fd:0,null", "con0=null", "con0=none"}) {
    ExpectSupported({con0});
  }
  ExpectSupported({"con0=port:9000", "con1=tty:/dev/tty3", "con2=xterm"});
  ExpectSupported({"con=pts", "ssl=pty", "ssl3=tty:/dev/tty2,xterm"});
  ExpectSupported({"ubd0=root_fs", "root=/dev/ubda", "con0=fd:0,fd:1",
                   "con=null", "mem=128M", "init=/init"});
}

TEST(CheckSupportedTest, DiskFeatures) {
  // Every ubd switch UML accepts is supported (issue 3: COW files and flags).
  ExpectSupported({"ubd=sync"});
  ExpectSupported({"ubd0=root_fs_cow,root_fs"});
  ExpectSupported({"ubd6=t_cow.cow:t1.img"});
  ExpectSupported({"ubd3s=t3.img", "ubd7d=x.cow", "ubd5c=t5.img",
                   "ubd4t=t4.img", "ubd1s=a.cow,b.img", "ubd2rsct=c.img"});
}

TEST(CheckSupportedTest, OtherFeatures) {
  ExpectRefused({"vec0:transport=gre,src=a,dst=b"},
                "vec0:transport=gre,src=a,dst=b");
  ExpectRefused({"hostfs=/srv"}, "hostfs=/srv");
  ExpectSupported({"mconsole=notify:/tmp/s"});  // mconsole/mconsole_host
  ExpectRefused({"iomem=a,/f"}, "iomem=a,/f");
  ExpectRefused({"virtio_uml.device=/s:1"}, "virtio_uml.device=/s:1");
  ExpectSupported({"--showconfig"});  // cli/kuml_main.cc prints the config
}

TEST(CheckSupportedTest, NamesEveryOffendingSwitch) {
  const MachineSpec spec =
      Parse({"ubd0=root_fs", "vec1:transport=fd,fd=3", "hostfs=/h",
             "eth0=slirp", "ssl3=pts", "ubd2s=x"});
  EXPECT_THAT(UnsupportedSwitches(spec),
              ElementsAre("vec1:transport=fd,fd=3", "hostfs=/h"));
  EXPECT_EQ(CheckSupported(spec).message(),
            "not supported yet: vec1:transport=fd,fd=3 hostfs=/h");
  EXPECT_THAT(UnsupportedSwitches(Parse({})), IsEmpty());
}

TEST(CheckSupportedTest, HandBuiltSpecWithBuiltInDefaults) {
  // A default-constructed spec (no disks at all) has nothing unsupported.
  EXPECT_TRUE(CheckSupported(MachineSpec{}).ok());
}

}  // namespace
}  // namespace kuml
