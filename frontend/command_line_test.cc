#include "frontend/command_line.h"

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr uint64_t kMiB = uint64_t{1} << 20;

MachineSpec Parse(const std::vector<std::string>& args) {
  absl::StatusOr<MachineSpec> spec = ParseCommandLine(args);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : MachineSpec{};
}

// Parsing must fail with InvalidArgument, and the message must start with
// the offending argument and contain `why`.
void ExpectError(const std::vector<std::string>& args,
                 const std::string& offending, const std::string& why) {
  absl::StatusOr<MachineSpec> spec = ParseCommandLine(args);
  ASSERT_FALSE(spec.ok()) << offending;
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(spec.status().message()),
              StartsWith(offending + ": "));
  EXPECT_THAT(spec.status().message(), HasSubstr(why));
}

TEST(ParseCommandLineTest, NoArguments) {
  const MachineSpec spec = Parse({});
  EXPECT_EQ(spec.kernel_path, "");
  EXPECT_EQ(spec.initrd_path, "");
  EXPECT_EQ(spec.mem_bytes, 64 * kMiB);
  EXPECT_EQ(spec.umid, "");
  EXPECT_EQ(spec.uml_dir, "");
  EXPECT_FALSE(spec.noreboot || spec.quiet || spec.debug || spec.nosysemu ||
               spec.show_help || spec.show_version || spec.show_config ||
               spec.ssl_non_raw || spec.ubd_sync);
  EXPECT_FALSE(spec.stderr_console.has_value());
  EXPECT_FALSE(spec.mconsole_notify.has_value());
  EXPECT_FALSE(spec.hostfs.has_value());
  EXPECT_EQ(spec.xterm.emulator, "xterm");
  EXPECT_EQ(spec.xterm.title_switch, "-T");
  EXPECT_EQ(spec.xterm.exec_switch, "-e");
  EXPECT_THAT(spec.iomem, IsEmpty());
  // UML's `linux` with no switches boots ./root_fs.
  ASSERT_THAT(spec.disks, SizeIs(1));
  EXPECT_EQ(spec.disks.at(0).file, "root_fs");
  EXPECT_EQ(spec.disks.at(0).switch_text, "");
  EXPECT_FALSE(spec.disks.at(0).read_only);
  EXPECT_THAT(spec.consoles, IsEmpty());
  EXPECT_THAT(spec.serial_lines, IsEmpty());
  EXPECT_FALSE(spec.console_default.has_value());
  EXPECT_FALSE(spec.serial_default.has_value());
  EXPECT_THAT(spec.eth, IsEmpty());
  EXPECT_THAT(spec.vec, IsEmpty());
  EXPECT_THAT(spec.guest_args, IsEmpty());
  EXPECT_THAT(spec.warnings, IsEmpty());
}

TEST(ParseCommandLineTest, ReadmeLine) {
  const MachineSpec spec =
      Parse({"ubd0=root_fs", "con0=fd:0,fd:1", "mem=128M", "init=/init", "rw"});
  EXPECT_EQ(spec.mem_bytes, 128 * kMiB);
  ASSERT_THAT(spec.disks, SizeIs(1));
  EXPECT_EQ(spec.disks.at(0).file, "root_fs");
  EXPECT_EQ(spec.disks.at(0).switch_text, "ubd0=root_fs");
  ASSERT_EQ(spec.consoles.count(0), 1u);
  EXPECT_EQ(spec.consoles.at(0).config, "fd:0,fd:1");
  EXPECT_EQ(spec.consoles.at(0).switch_text, "con0=fd:0,fd:1");
  EXPECT_THAT(spec.guest_args, ElementsAre("init=/init", "rw"));
  EXPECT_THAT(spec.warnings, IsEmpty());
}

TEST(ParseCommandLineTest, SimpleSwitches) {
  const MachineSpec spec =
      Parse({"kernel=/boot/vmlinux", "initrd=/boot/initrd.img", "umid=debian",
             "uml_dir=/tmp/uml", "noreboot", "ssl-non-raw"});
  EXPECT_EQ(spec.kernel_path, "/boot/vmlinux");
  EXPECT_EQ(spec.initrd_path, "/boot/initrd.img");
  EXPECT_EQ(spec.umid, "debian");
  EXPECT_EQ(spec.uml_dir, "/tmp/uml");
  EXPECT_TRUE(spec.noreboot);
  EXPECT_TRUE(spec.ssl_non_raw);
  EXPECT_THAT(spec.guest_args, IsEmpty());
  EXPECT_THAT(spec.warnings, IsEmpty());
}

// No switch vanishes unannounced: those kuml accepts without acting on, and
// older UMLs' switches (passed to the guest kernel, as UML 6.1 does), each
// get a warning that names them. Before, they went to init silently.
TEST(ParseCommandLineTest, SwitchesWithoutEffectAreNamed) {
  const MachineSpec spec =
      Parse({"stderr=1", "mode=skas0", "honeypot", "fakehd", "debug=parent",
             "gdb-pid=42", "vec0:transport=tap,ifname=tap0,mtu=9000,depth=64"});
  EXPECT_EQ(spec.stderr_console, true);
  EXPECT_THAT(spec.guest_args, ElementsAre("mode=skas0", "honeypot", "fakehd",
                                           "debug=parent", "gdb-pid=42"));
  ASSERT_THAT(spec.warnings, SizeIs(8));
  EXPECT_THAT(spec.warnings[0], StartsWith("stderr=1: accepted, no effect"));
  for (int i = 1; i <= 5; ++i) {
    EXPECT_THAT(spec.warnings[i], HasSubstr("a switch of older UMLs"));
  }
  // vec keys in the map's (alphabetical) order.
  EXPECT_THAT(spec.warnings[6], HasSubstr("depth=64 is accepted but has no"));
  EXPECT_THAT(spec.warnings[7], HasSubstr("mtu=9000"));
}

TEST(ParseCommandLineTest, QuietIsBothASwitchAndAGuestArgument) {
  const MachineSpec spec = Parse({"quiet", "init=/init"});
  EXPECT_TRUE(spec.quiet);
  EXPECT_THAT(spec.guest_args, ElementsAre("quiet", "init=/init"));
}

TEST(ParseCommandLineTest, NoOpSwitchesWarn) {
  const MachineSpec spec = Parse({"nosysemu", "fake_ide", "udb0=x"});
  EXPECT_TRUE(spec.nosysemu);
  EXPECT_THAT(spec.guest_args, IsEmpty());
  ASSERT_THAT(spec.warnings, SizeIs(3));
  EXPECT_THAT(spec.warnings[0], StartsWith("nosysemu: ignored"));
  EXPECT_THAT(spec.warnings[1], StartsWith("fake_ide: obsolete"));
  EXPECT_THAT(spec.warnings[2], StartsWith("udb0=x: "));
  EXPECT_THAT(spec.warnings[2], HasSubstr("ubd -> udb TYPO"));
  // The typo does not configure a disk.
  EXPECT_EQ(spec.disks.at(0).file, "root_fs");
  EXPECT_THAT(spec.disks, SizeIs(1));
}

TEST(ParseCommandLineTest, DebugAndGdb) {
  const MachineSpec plain = Parse({});
  EXPECT_FALSE(plain.debug);
  EXPECT_FALSE(plain.gdb.has_value());
  const MachineSpec debug = Parse({"debug"});
  EXPECT_TRUE(debug.debug);
  EXPECT_THAT(debug.warnings, IsEmpty());
  EXPECT_THAT(debug.guest_args, IsEmpty());
  const MachineSpec port = Parse({"gdb=1234"});
  ASSERT_TRUE(port.gdb.has_value());
  EXPECT_FALSE(port.gdb->is_unix);
  EXPECT_EQ(port.gdb->port, 1234);
  const MachineSpec path = Parse({"gdb=/tmp/x/gdb.sock"});
  ASSERT_TRUE(path.gdb.has_value());
  EXPECT_TRUE(path.gdb->is_unix);
  EXPECT_EQ(path.gdb->path, "/tmp/x/gdb.sock");
  ExpectError({"gdb=0"}, "gdb=0", "expected gdb=<TCP port 1-65535>");
  ExpectError({"gdb=70000"}, "gdb=70000", "TCP port");
  ExpectError({"gdb="}, "gdb=", "TCP port");
  ExpectError({"gdb=xterm"}, "gdb=xterm", "unix socket path");
}

TEST(ParseCommandLineTest, Memory) {
  EXPECT_EQ(Parse({"mem=256M"}).mem_bytes, 256 * kMiB);
  EXPECT_EQ(Parse({"mem=1G"}).mem_bytes, 1024 * kMiB);
  EXPECT_EQ(Parse({"mem=0x10M"}).mem_bytes, 16 * kMiB);
  EXPECT_EQ(Parse({"mem=020M"}).mem_bytes, 16 * kMiB);
  ExpectError({"mem=010M"}, "mem=010M", "below the minimum of 16M");
  ExpectError({"mem=99999999999999999999"}, "mem=99999999999999999999",
              "too large");
  ExpectError({"mem="}, "mem=", "missing memory size");
  ExpectError({"mem=12Q"}, "mem=12Q", "trailing 'Q'");
  ExpectError({"mem=0"}, "mem=0", "must not be zero");
  ExpectError({"mem=lots"}, "mem=lots", "bad memory size");
}

TEST(ParseCommandLineTest, Ncpus) {
  EXPECT_EQ(Parse({}).num_vcpus, 1u);
  EXPECT_EQ(Parse({"ncpus=2"}).num_vcpus, 2u);
  EXPECT_EQ(Parse({"ncpus=254"}).num_vcpus, 254u);
  // Not handed to the guest kernel (it is UML's, not Linux's).
  EXPECT_THAT(Parse({"ncpus=2"}).guest_args, SizeIs(0));
  ExpectError({"ncpus=0"}, "ncpus=0", "expected a number of CPUs, 1 to 254");
  ExpectError({"ncpus=255"}, "ncpus=255", "1 to 254");
  ExpectError({"ncpus=two"}, "ncpus=two", "1 to 254");
  ExpectError({"ncpus="}, "ncpus=", "1 to 254");
}

TEST(ParseCommandLineTest, RepeatedScalarSwitchesKeepTheLast) {
  const MachineSpec spec =
      Parse({"mem=128M", "kernel=a", "mem=256M", "kernel=b", "initrd=x",
             "initrd=y", "uml_dir=/p", "uml_dir=/q"});
  EXPECT_EQ(spec.mem_bytes, 256 * kMiB);
  EXPECT_EQ(spec.kernel_path, "b");
  EXPECT_EQ(spec.initrd_path, "y");
  EXPECT_EQ(spec.uml_dir, "/q");
  ASSERT_THAT(spec.warnings, SizeIs(4));
  EXPECT_EQ(spec.warnings[0], "mem=256M: overrides the earlier 'mem=128M'");
  EXPECT_EQ(spec.warnings[1], "kernel=b: overrides the earlier 'kernel=a'");
}

TEST(ParseCommandLineTest, Umid) {
  const std::string max(63, 'u');
  EXPECT_EQ(Parse({"umid=" + max}).umid, max);
  EXPECT_EQ(Parse({"umid=my.vm-1_A"}).umid, "my.vm-1_A");
  ExpectError({"umid=" + max + "u"}, "umid=" + max + "u",
              "longer than 63 characters");
  ExpectError({"umid="}, "umid=", "empty");
  ExpectError({"umid=a/b"}, "umid=a/b", "can't contain '/'");
  ExpectError({"umid=kumld.d"}, "umid=kumld.d", "reserved");
  EXPECT_TRUE(Parse({}).sandbox);
  EXPECT_FALSE(Parse({"sandbox=off"}).sandbox);
  EXPECT_TRUE(Parse({"sandbox=off", "sandbox=on"}).sandbox);
  ExpectError({"sandbox=maybe"}, "sandbox=maybe", "sandbox=on or sandbox=off");
  EXPECT_FALSE(Parse({}).jail_user.has_value());
  EXPECT_EQ(Parse({"jail"}).jail_user, "nobody");
  EXPECT_EQ(Parse({"jail=kuml"}).jail_user, "kuml");
  ExpectError({"jail="}, "jail=", "expected jail or jail=<user>");
  EXPECT_FALSE(Parse({}).hotplug_slots.has_value());
  EXPECT_EQ(Parse({"hotplug_slots=2"}).hotplug_slots, 2);
  ExpectError({"hotplug_slots=20"}, "hotplug_slots=20", "0 to 19");
  ExpectError({"umid=a b"}, "umid=a b", "can't contain");
  ExpectError({"umid=a\nb"}, "umid=a\nb", "can't contain");
  ExpectError({"umid=."}, "umid=.", "can't be '.' or '..'");
  ExpectError({"umid=.."}, "umid=..", "can't be '.' or '..'");
  // UML keeps the first umid.
  const MachineSpec spec = Parse({"umid=first", "umid=second"});
  EXPECT_EQ(spec.umid, "first");
  ASSERT_THAT(spec.warnings, SizeIs(1));
  EXPECT_THAT(spec.warnings[0], StartsWith("umid=second: umid already set"));
}

TEST(ParseCommandLineTest, EmptyValues) {
  ExpectError({"kernel="}, "kernel=", "missing kernel file name");
  ExpectError({"initrd="}, "initrd=", "missing initrd file name");
  ExpectError({"uml_dir="}, "uml_dir=", "can't be an empty string");
  ExpectError({"virtio_uml.device="}, "virtio_uml.device=", "missing device");
}

TEST(ParseCommandLineTest, HelpVersionShowconfigWinAndStopParsing) {
  MachineSpec spec = Parse({"ubd0x=broken", "--help", "--version"});
  EXPECT_TRUE(spec.show_help);
  EXPECT_FALSE(spec.show_version);
  spec = Parse({"--version", "--help", "mem=0"});
  EXPECT_TRUE(spec.show_version);
  EXPECT_FALSE(spec.show_help);
  spec = Parse({"--showconfig"});
  EXPECT_TRUE(spec.show_config);
  spec = Parse({"--helpme"});  // prefix match, as in UML
  EXPECT_TRUE(spec.show_help);
  // "-h" and "help" are not UML switches: they go to the guest.
  spec = Parse({"-h", "help"});
  EXPECT_FALSE(spec.show_help);
  EXPECT_THAT(spec.guest_args, ElementsAre("-h", "help"));
}

TEST(ParseCommandLineTest, Disks) {
  const MachineSpec spec =
      Parse({"ubda=root_fs", "ubdb=t1.img", "ubd3r=t3.img,,SER", "ubd=sync"});
  ASSERT_THAT(spec.disks, SizeIs(3));
  EXPECT_EQ(spec.disks.at(0).file, "root_fs");
  EXPECT_EQ(spec.disks.at(1).file, "t1.img");
  EXPECT_EQ(spec.disks.at(3).file, "t3.img");
  EXPECT_TRUE(spec.disks.at(3).read_only);
  EXPECT_EQ(spec.disks.at(3).serial, "SER");
  EXPECT_TRUE(spec.ubd_sync);
  EXPECT_EQ(spec.ubd_sync_switch, "ubd=sync");
}

TEST(ParseCommandLineTest, DuplicateDisksNameBothSwitches) {
  absl::StatusOr<MachineSpec> spec =
      ParseCommandLine({"ubd0=a.img", "ubda=b.img"});
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(),
            "ubda=b.img: ubd0 is already configured by 'ubd0=a.img'");
  ExpectError({"ubd1=x", "ubd0x1r=y"}, "ubd0x1r=y", "'ubd1=x'");
  ExpectError({"ubd0r=", "ubd0=x"}, "ubd0=x", "'ubd0r='");
}

TEST(ParseCommandLineTest, EmptyDiskFile) {
  // ubd0 without a file is root_fs with the flags given.
  MachineSpec spec = Parse({"ubd0r="});
  EXPECT_EQ(spec.disks.at(0).file, "root_fs");
  EXPECT_TRUE(spec.disks.at(0).read_only);
  // Another disk without a file stays unconfigured.
  spec = Parse({"ubd2="});
  EXPECT_EQ(spec.disks.count(2), 0u);
  ASSERT_THAT(spec.warnings, SizeIs(1));
  EXPECT_THAT(spec.warnings[0], StartsWith("ubd2=: no file given"));
}

TEST(ParseCommandLineTest, DiskErrors) {
  ExpectError({"ubd0x=foo"}, "ubd0x=foo",
              "Expected '=' or flag letter (r, s, c, t or d)");
  absl::StatusOr<MachineSpec> spec = ParseCommandLine({"ubd0x=foo"});
  EXPECT_EQ(spec.status().message(),
            "ubd0x=foo: Expected '=' or flag letter (r, s, c, t or d)");
  ExpectError({"ubd16=x"}, "ubd16=x", "Device number out of range");
  ExpectError({"ubdq=x"}, "ubdq=x", "Device number out of range");
  ExpectError({"ubd=3"}, "ubd=3", "fake major not supported any more");
  ExpectError({"ubd1d=a,b"}, "ubd1d=a,b", "Can't specify both 'd'");
}

TEST(ParseCommandLineTest, Lines) {
  const MachineSpec spec = Parse({"con0=fd:0,fd:1", "con=pts", "ssl=none",
                                  "ssl3=tty:/dev/tty2,xterm", "con1=null"});
  EXPECT_THAT(spec.consoles, SizeIs(2));
  ASSERT_TRUE(spec.console_default.has_value());
  EXPECT_EQ(spec.console_default->switch_text, "con=pts");
  ASSERT_TRUE(spec.serial_default.has_value());
  EXPECT_TRUE(spec.serial_default->none);
  EXPECT_EQ(spec.serial_lines.at(3).input.tty_path, "/dev/tty2");
  EXPECT_EQ(spec.serial_lines.at(3).output.type, ChannelSpec::Type::kXterm);
}

TEST(ParseCommandLineTest, LineErrors) {
  ExpectError({"con16=pts"}, "con16=pts", "Device number out of range");
  ExpectError({"ssl64=pts"}, "ssl64=pts", "Device number out of range");
  ExpectError({"con5=bogus"}, "con5=bogus", "failed to parse channel pair");
  ExpectError({"conx=pts"}, "conx=pts", "Couldn't parse device number");
  ExpectError({"consoleblank=0"}, "consoleblank=0",
              "Couldn't parse device number");
  ExpectError({"con1=pts", "con1=null"}, "con1=null",
              "con1 is already configured by 'con1=pts'");
  ExpectError({"con1=pts", "con0x1=null"}, "con0x1=null", "'con1=pts'");
  ExpectError({"ssl=pts", "ssl=null"}, "ssl=null",
              "ssl= is already given by 'ssl=pts'");
  ExpectError({"con=pts", "con=null"}, "con=null", "'con=pts'");
}

TEST(ParseCommandLineTest, ConsoleEqualsGoesToTheGuest) {
  const MachineSpec spec = Parse({"console=ttyS0"});
  EXPECT_THAT(spec.guest_args, ElementsAre("console=ttyS0"));
  EXPECT_THAT(spec.consoles, IsEmpty());
}

TEST(ParseCommandLineTest, Network) {
  const MachineSpec spec =
      Parse({"eth0=tuntap,tap0", "eth1=mcast", "vec0:transport=fd,fd=3"});
  ASSERT_THAT(spec.eth, SizeIs(2));
  EXPECT_EQ(spec.eth.at(0).switch_text, "eth0=tuntap,tap0");
  EXPECT_TRUE(std::holds_alternative<McastTransport>(spec.eth.at(1).transport));
  ASSERT_THAT(spec.vec, SizeIs(1));
  EXPECT_EQ(spec.vec.at(0).transport, VecTransportType::kFd);
  ExpectError({"eth0=mcast", "eth0=slirp"}, "eth0=slirp",
              "eth0 is already configured by 'eth0=mcast'");
  ExpectError({"vec1:transport=fd,fd=3", "vec1:transport=fd,fd=4"},
              "vec1:transport=fd,fd=4", "vec1 is already configured");
  ExpectError({"eth0=mcast,,239.1.1,x"}, "eth0=mcast,,239.1.1,x",
              "bad multicast port 'x'");
  ExpectError({"eth0=bogus"}, "eth0=bogus", "unknown transport");
  ExpectError({"vec0:transport=tap"}, "vec0:transport=tap", "needs ifname=");
}

TEST(ParseCommandLineTest, NetworkWarningsReachTheSpec) {
  const MachineSpec spec = Parse({"eth0=daemon,,unix,/c,/d"});
  ASSERT_THAT(spec.warnings, SizeIs(1));
  EXPECT_THAT(spec.warnings[0], HasSubstr("ignoring data socket"));
}

TEST(ParseCommandLineTest, Mconsole) {
  MachineSpec spec = Parse({"mconsole=notify:/tmp/notify.sock"});
  ASSERT_TRUE(spec.mconsole_notify.has_value());
  EXPECT_EQ(spec.mconsole_notify->socket_path, "/tmp/notify.sock");
  EXPECT_EQ(spec.mconsole_notify->switch_text,
            "mconsole=notify:/tmp/notify.sock");
  ExpectError({"mconsole=foo"}, "mconsole=foo", "Unknown option - 'foo'");
  ExpectError({"mconsole=notify:"}, "mconsole=notify:", "missing notify");
  // Without '=' it is no switch at all.
  spec = Parse({"mconsole"});
  EXPECT_THAT(spec.guest_args, ElementsAre("mconsole"));
}

TEST(ParseCommandLineTest, Stderr) {
  EXPECT_EQ(Parse({"stderr=0"}).stderr_console, false);
  EXPECT_EQ(Parse({"stderr=1"}).stderr_console, true);
  EXPECT_EQ(Parse({"stderr=0x2"}).stderr_console, true);
  ExpectError({"stderr=yes"}, "stderr=yes", "expected stderr=<number>");
  ExpectError({"stderr="}, "stderr=", "expected stderr=<number>");
}

TEST(ParseCommandLineTest, Hostfs) {
  MachineSpec spec = Parse({"hostfs=/srv/share,append"});
  ASSERT_TRUE(spec.hostfs.has_value());
  EXPECT_EQ(spec.hostfs->root, "/srv/share");
  EXPECT_TRUE(spec.hostfs->append);
  EXPECT_EQ(spec.hostfs->switch_text, "hostfs=/srv/share,append");
  spec = Parse({"hostfs=/srv"});
  EXPECT_FALSE(spec.hostfs->append);
  spec = Parse({"hostfs=,append"});
  EXPECT_EQ(spec.hostfs->root, "");
  EXPECT_TRUE(spec.hostfs->append);
  ExpectError({"hostfs=/x,prepend"}, "hostfs=/x,prepend",
              "unsupported option 'prepend'");
}

TEST(ParseCommandLineTest, Iomem) {
  const MachineSpec spec = Parse({"iomem=a,/dev/shm/a", "iomem=b,/tmp/b"});
  ASSERT_THAT(spec.iomem, SizeIs(2));
  EXPECT_EQ(spec.iomem[0].name, "a");
  EXPECT_EQ(spec.iomem[0].file, "/dev/shm/a");
  EXPECT_EQ(spec.iomem[1].switch_text, "iomem=b,/tmp/b");
  ExpectError({"iomem=a"}, "iomem=a", "failed to parse iomem");
  ExpectError({"iomem=,f"}, "iomem=,f", "failed to parse iomem");
  ExpectError({"iomem=a,"}, "iomem=a,", "failed to parse iomem");
  ExpectError({"iomem=a,f", "iomem=a,g"}, "iomem=a,g",
              "already given by 'iomem=a,f'");
}

TEST(ParseCommandLineTest, Xterm) {
  MachineSpec spec = Parse({"xterm=gnome-terminal,-t,-x"});
  EXPECT_EQ(spec.xterm.emulator, "gnome-terminal");
  EXPECT_EQ(spec.xterm.title_switch, "-t");
  EXPECT_EQ(spec.xterm.exec_switch, "-x");
  EXPECT_EQ(spec.xterm.switch_text, "xterm=gnome-terminal,-t,-x");
  spec = Parse({"xterm=konsole"});
  EXPECT_EQ(spec.xterm.emulator, "konsole");
  EXPECT_EQ(spec.xterm.title_switch, "-T");
  EXPECT_EQ(spec.xterm.exec_switch, "-e");
  spec = Parse({"xterm=konsole,,--e,x"});  // the rest is the exec switch
  EXPECT_EQ(spec.xterm.title_switch, "-T");
  EXPECT_EQ(spec.xterm.exec_switch, "--e,x");
  EXPECT_THAT(spec.guest_args, IsEmpty());
  ExpectError({"xterm=,-T"}, "xterm=,-T", "missing terminal emulator");
}

TEST(ParseCommandLineTest, VirtioUml) {
  const MachineSpec spec = Parse({"virtio_uml.device=/tmp/s:1"});
  EXPECT_THAT(spec.virtio_uml_devices,
              ElementsAre("virtio_uml.device=/tmp/s:1"));
  EXPECT_THAT(spec.guest_args, IsEmpty());
}

TEST(ParseCommandLineTest, GuestArgumentsKeepTheirOrder) {
  const MachineSpec spec =
      Parse({"root=/dev/vdb", "loglevel=3", "ubd0=r", "rw", "FOO=bar", "ro",
             "init=/bin/sh", "single", "printk.time=1"});
  EXPECT_THAT(spec.guest_args,
              ElementsAre("root=/dev/vdb", "loglevel=3", "rw", "FOO=bar", "ro",
                          "init=/bin/sh", "single", "printk.time=1"));
}

TEST(ParseCommandLineTest, PrefixQuirks) {
  const MachineSpec spec = Parse(
      {"quietly", "debugfoo", "noreboot2", "nosysemux", "mem", "memmap=1G$2G",
       "rootfstype=ext4", "initcall_debug", "kernel", "umid", "", "hostfs"});
  // None of these is a kuml switch: they all reach the guest (the empty
  // argument is dropped, as UML's empty word adds nothing).
  EXPECT_FALSE(spec.quiet || spec.debug || spec.noreboot || spec.nosysemu);
  EXPECT_EQ(spec.mem_bytes, 64 * kMiB);
  EXPECT_THAT(spec.guest_args,
              ElementsAre("quietly", "debugfoo", "noreboot2", "nosysemux",
                          "mem", "memmap=1G$2G", "rootfstype=ext4",
                          "initcall_debug", "kernel", "umid", "hostfs"));
  // Driver switch names catch everything that starts with them.
  ExpectError({"ubdfoo=x"}, "ubdfoo=x", "Expected '=' or flag letter");
  ExpectError({"ethernet=1"}, "ethernet=1", "Couldn't parse device number");
  ExpectError({"vector=1"}, "vector=1", "Expected ':' after device number");
  ExpectError({"sslx=pts"}, "sslx=pts", "Couldn't parse device number");
  // UML-level switch names match by prefix too: "umid=" etc. need the '='.
  EXPECT_EQ(Parse({"umid=x"}).umid, "x");
}

TEST(ParseCommandLineTest, DoubleDashEndsDriverSwitches) {
  const MachineSpec spec =
      Parse({"ubd0=root_fs", "init=/bin/sh", "--", "ubd1=x", "con1=pts",
             "eth0=mcast", "-c", "mem=256M", "umid=late", "quiet"});
  // Driver switches after "--" are init's arguments...
  EXPECT_THAT(spec.disks, SizeIs(1));
  EXPECT_THAT(spec.consoles, IsEmpty());
  EXPECT_THAT(spec.eth, IsEmpty());
  // ...while UML's own switches still apply (um_arch.c scans all of argv).
  EXPECT_EQ(spec.mem_bytes, 256 * kMiB);
  EXPECT_EQ(spec.umid, "late");
  EXPECT_TRUE(spec.quiet);
  EXPECT_THAT(spec.guest_args,
              ElementsAre("init=/bin/sh", "--", "ubd1=x", "con1=pts",
                          "eth0=mcast", "-c", "quiet"));
}

TEST(ParseCommandLineTest, EveryErrorIsInvalidArgumentNamingTheSwitch) {
  const std::vector<std::string> bad = {
      "ubd0x=foo",        "ubd16=a",        "ubdq=a",
      "ubd=foo",          "ubd1=a,b,c,d",   "con16=pts",
      "ssl64=pts",        "con5=bogus",     "ssl0=fd:",
      "eth0=nope",        "eth0=mcast,,,0", "eth0",
      "vec0:transport=x", "vec0",           "mem=",
      "mem=12Q",          "mem=010M",       "umid=a/b",
      "uml_dir=",         "kernel=",        "initrd=",
      "iomem=x",          "hostfs=/a,b",    "xterm=",
      "mconsole=x",       "stderr=x",       "virtio_uml.device=",
  };
  for (const std::string& arg : bad) {
    absl::StatusOr<MachineSpec> spec =
        ParseCommandLine({"ubd0=root_fs", arg, "init=/init"});
    ASSERT_FALSE(spec.ok()) << arg;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument) << arg;
    EXPECT_THAT(std::string(spec.status().message()), StartsWith(arg + ": "));
  }
}

}  // namespace
}  // namespace kuml
