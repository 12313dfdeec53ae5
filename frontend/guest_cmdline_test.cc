#include "frontend/guest_cmdline.h"

#include "frontend/command_line.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using ::testing::ElementsAre;

MachineSpec Parse(const std::vector<std::string>& args) {
  absl::StatusOr<MachineSpec> spec = ParseCommandLine(args);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : MachineSpec{};
}

std::vector<std::string> Args(const std::vector<std::string>& args) {
  return GuestKernelArgs(Parse(args));
}

TEST(GuestKernelArgsTest, ReadmeLine) {
  EXPECT_THAT(
      Args({"ubd0=root_fs", "con0=fd:0,fd:1", "mem=128M", "init=/init", "rw"}),
      ElementsAre("init=/init", "rw", "root=/dev/vda"));
}

TEST(GuestKernelArgsTest, NothingGivenStillNamesTheRootDisk) {
  EXPECT_THAT(Args({}), ElementsAre("root=/dev/vda"));
}

TEST(GuestKernelArgsTest, ConsumedSwitchesAreNotPassed) {
  EXPECT_THAT(Args({"ubd0=root_fs",
                    "ubd1r=b.img",
                    "ubd=sync",
                    "udb0=x",
                    "fake_ide",
                    "con0=fd:0,fd:1",
                    "con=null",
                    "ssl=none",
                    "ssl1=pts",
                    "ssl-non-raw",
                    "eth0=tuntap,tap0",
                    "vec0:transport=fd,fd=3",
                    "umid=vm",
                    "uml_dir=/tmp/u",
                    "kernel=/k",
                    "initrd=/i",
                    "mem=128M",
                    "xterm=xterm",
                    "mconsole=notify:/s",
                    "hostfs=/h",
                    "iomem=a,/f",
                    "stderr=1",
                    "virtio_uml.device=/s:1",
                    "noreboot",
                    "debug",
                    "nosysemu"}),
              ElementsAre("root=/dev/vda"));
}

TEST(GuestKernelArgsTest, EverythingElsePassesInOrder) {
  EXPECT_THAT(
      Args({"loglevel=3", "ubd0=root_fs", "quiet", "console=ttyS0",
            "init=/bin/sh", "rw", "FOO=bar", "single"}),
      ElementsAre("loglevel=3", "quiet", "console=ttyS0", "init=/bin/sh", "rw",
                  "FOO=bar", "single", "root=/dev/vda"));
}

TEST(GuestKernelArgsTest, GivenRootIsKeptInPlace) {
  EXPECT_THAT(Args({"init=/init", "root=/dev/vdb", "rw"}),
              ElementsAre("init=/init", "root=/dev/vdb", "rw"));
  EXPECT_THAT(Args({"root=LABEL=root"}), ElementsAre("root=LABEL=root"));
  EXPECT_THAT(Args({"root=/dev/sda1"}), ElementsAre("root=/dev/sda1"));
}

TEST(GuestKernelArgsTest, UmlRootDevicesAreTranslated) {
  // The reference line of the UML tests.
  EXPECT_THAT(Args({"ubd0=root_fs", "root=/dev/ubda", "con0=fd:0,fd:1",
                    "con=null", "mem=128M", "init=/init"}),
              ElementsAre("root=/dev/vda", "init=/init"));
  EXPECT_THAT(Args({"ubd1=b", "root=/dev/ubdb1"}),
              ElementsAre("root=/dev/vdb1"));
  EXPECT_THAT(Args({"ubd1=b", "root=/dev/ubdb15"}),
              ElementsAre("root=/dev/vdb15"));
  EXPECT_THAT(Args({"root=98:0"}), ElementsAre("root=/dev/vda"));
  EXPECT_THAT(Args({"root=98:1"}), ElementsAre("root=/dev/vda1"));
  EXPECT_THAT(Args({"ubd1=b", "root=98:17"}), ElementsAre("root=/dev/vdb1"));
}

TEST(GuestKernelArgsTest, TranslationFollowsRegistrationOrder) {
  // ubd0 and ubd3 only: ubd3 is the second virtio disk.
  EXPECT_THAT(Args({"ubd3=d.img", "root=/dev/ubdd2"}),
              ElementsAre("root=/dev/vdb2"));
  EXPECT_THAT(Args({"ubd3=d.img", "root=98:48"}), ElementsAre("root=/dev/vdb"));
}

TEST(GuestKernelArgsTest, UntranslatableRootsPassUnchanged) {
  for (const char* root : {"root=/dev/ubdc",    // not configured
                           "root=/dev/ubdq",    // no such ubd
                           "root=/dev/ubda16",  // partition out of range
                           "root=/dev/ubda01",  // not a kernel name
                           "root=/dev/ubdax",   //
                           "root=/dev/ubd",     //
                           "root=/dev/ubd0",    // old devfs-era name
                           "root=98:",          //
                           "root=98:x",         //
                           "root=98:99999999999999999999",
                           "root=98:32"}) {  // ubd2, not configured
    EXPECT_THAT(Args({root}), ElementsAre(root));
  }
}

TEST(GuestKernelArgsTest, DefaultRootGoesBeforeDoubleDash) {
  EXPECT_THAT(Args({"init=/bin/sh", "--", "-c", "echo"}),
              ElementsAre("init=/bin/sh", "root=/dev/vda", "--", "-c", "echo"));
  // A root= after "--" belongs to init, so the default is still added and
  // that root= is not translated.
  EXPECT_THAT(Args({"--", "root=/dev/ubda"}),
              ElementsAre("root=/dev/vda", "--", "root=/dev/ubda"));
}

TEST(GuestKernelCommandLineTest, JoinsWithSpaces) {
  EXPECT_EQ(GuestKernelCommandLine(Parse({"init=/init", "rw", "quiet"})),
            "init=/init rw quiet root=/dev/vda");
}

TEST(GuestDiskNameTest, CountsConfiguredDisksInIndexOrder) {
  const MachineSpec spec = Parse({"ubd5=f", "ubd2=c", "ubdp=p"});
  EXPECT_EQ(GuestDiskName(spec, 0), "vda");  // implicit root_fs
  EXPECT_EQ(GuestDiskName(spec, 2), "vdb");
  EXPECT_EQ(GuestDiskName(spec, 5), "vdc");
  EXPECT_EQ(GuestDiskName(spec, 15), "vdd");
  EXPECT_FALSE(GuestDiskName(spec, 1).has_value());
  EXPECT_FALSE(GuestDiskName(spec, 16).has_value());
  EXPECT_FALSE(GuestDiskName(spec, -1).has_value());
}

TEST(GuestDiskNameTest, SixteenDisks) {
  std::vector<std::string> args;
  for (int i = 0; i < kMaxUbdDevices; ++i) {
    args.push_back("ubd" + std::to_string(i) + "=d" + std::to_string(i));
  }
  const MachineSpec spec = Parse(args);
  EXPECT_EQ(GuestDiskName(spec, 15), "vdp");
}

TEST(GuestKernelArgsTest, HandBuiltSpecWithoutDisksGetsNoRoot) {
  MachineSpec spec;
  spec.guest_args = {"init=/init"};
  EXPECT_THAT(GuestKernelArgs(spec), ElementsAre("init=/init"));
}

// ---- A kernel that knows UML's names (kuml's own, with its ELF note) ----

std::vector<std::string> UmlArgs(const std::vector<std::string>& args) {
  MachineSpec spec = Parse(args);
  spec.guest_names = GuestNames::kUml;
  return GuestKernelArgs(spec);
}

TEST(UmlNamesKernelArgsTest, UmlsOwnDefaults) {
  // UML adds root=98:0 and console=tty0; kuml also turns the names on.
  EXPECT_THAT(UmlArgs({}),
              ElementsAre("kuml_names=uml", "console=tty0", "root=98:0"));
  EXPECT_THAT(
      UmlArgs({"ubd0=root_fs", "con0=fd:0,fd:1", "mem=128M", "init=/init"}),
      ElementsAre("kuml_names=uml", "console=tty0", "init=/init", "root=98:0"));
}

TEST(UmlNamesKernelArgsTest, RootIsNotRewritten) {
  // The reference line of the UML tests: /dev/ubda is the kernel's own name.
  EXPECT_THAT(UmlArgs({"ubd0=root_fs", "root=/dev/ubda", "con0=fd:0,fd:1",
                       "con=null", "mem=128M", "init=/init"}),
              ElementsAre("kuml_names=uml", "console=tty0", "root=/dev/ubda",
                          "init=/init"));
  for (const char* root : {"root=98:0", "root=98:17", "root=/dev/ubdb1",
                           "root=/dev/ubdd", "root=/dev/vda"}) {
    EXPECT_THAT(UmlArgs({"ubd3=d.img", root}),
                ElementsAre("kuml_names=uml", "console=tty0", root));
  }
}

TEST(UmlNamesKernelArgsTest, UsersConsoleComesLaterAndWins) {
  EXPECT_THAT(UmlArgs({"console=ttyS0", "rw"}),
              ElementsAre("kuml_names=uml", "console=tty0", "console=ttyS0",
                          "rw", "root=98:0"));
}

TEST(UmlNamesKernelArgsTest, DefaultRootGoesBeforeDoubleDash) {
  EXPECT_THAT(UmlArgs({"init=/bin/sh", "--", "-c", "echo"}),
              ElementsAre("kuml_names=uml", "console=tty0", "init=/bin/sh",
                          "root=98:0", "--", "-c", "echo"));
  EXPECT_THAT(UmlArgs({"--", "root=/dev/ubda"}),
              ElementsAre("kuml_names=uml", "console=tty0", "root=98:0", "--",
                          "root=/dev/ubda"));
}

TEST(UmlNamesKernelArgsTest, HandBuiltSpecWithoutDisksGetsNoRoot) {
  MachineSpec spec;
  spec.guest_names = GuestNames::kUml;
  spec.guest_args = {"init=/init"};
  EXPECT_THAT(GuestKernelArgs(spec),
              ElementsAre("kuml_names=uml", "console=tty0", "init=/init"));
}

TEST(UmlNamesGuestDiskNameTest, NamedByUbdIndexNotByOrder) {
  MachineSpec spec = Parse({"ubd5=f", "ubd2=c", "ubdp=p"});
  spec.guest_names = GuestNames::kUml;
  EXPECT_EQ(GuestDiskName(spec, 0), "ubda");
  EXPECT_EQ(GuestDiskName(spec, 2), "ubdc");
  EXPECT_EQ(GuestDiskName(spec, 5), "ubdf");
  EXPECT_EQ(GuestDiskName(spec, 15), "ubdp");
  EXPECT_FALSE(GuestDiskName(spec, 1).has_value());
  EXPECT_FALSE(GuestDiskName(spec, 16).has_value());
}

}  // namespace
}  // namespace kuml
