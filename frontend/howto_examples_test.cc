// Every example command line of the UML HOWTO (sections 3, 5, 6, 7, 8, 9,
// 10) and of uml-interfaces.md §5.5 (lines confirmed by booting the real
// UML) must parse.
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "frontend/command_line.h"
#include "frontend/guest_cmdline.h"
#include "frontend/line_switch.h"
#include "frontend/net_switch.h"
#include "frontend/ubd_switch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using ::testing::ElementsAre;
using ::testing::SizeIs;
using Type = ChannelSpec::Type;

MachineSpec ParseLine(const std::string& line) {
  const std::vector<std::string> args =
      absl::StrSplit(line, ' ', absl::SkipEmpty());
  absl::StatusOr<MachineSpec> spec = ParseCommandLine(args);
  EXPECT_TRUE(spec.ok()) << line << "\n" << spec.status();
  return spec.ok() ? *spec : MachineSpec{};
}

TEST(HowtoExamplesTest, EveryExampleParses) {
  const char* const kLines[] = {
      // 3.1
      "ubd0=root_fs_whatever",
      // 5.1
      "ssl=pty ssl0=tty:/dev/tty0 ssl1=tty:/dev/tty1",
      // 5.2 (each channel kind, as device=channel)
      "con=pty",
      "con=pts",
      "con1=tty:/dev/tty3",
      "con=xterm",
      "con1=port:9000",
      "ssl=port:9000",
      "con0=fd:0,fd:1 con=pts",
      "con=null",
      "con=none",
      "ssl3=tty:/dev/tty2,xterm",
      // 5.3
      "con=pty con0=fd:0,fd:1",
      "con1=tty:/dev/tty6",
      "ssl1=pty",
      "ssl1=tty:/dev/ttyp1",
      // 6.1
      "eth0=ethertap,tap0,fe:fd:0:0:0:1,192.168.0.254",
      // 6.5 (and the full option lists with example values)
      "eth0=mcast",
      "eth0=mcast,fe:fd:0:0:0:1,239.192.168.1,1102,1",
      "eth0=ucast,fe:fd:0:0:0:1,192.168.0.2,1102,1102",
      // 6.6, 6.7
      "eth0=tuntap,,,192.168.0.254",
      "eth0=tuntap,tap0",
      // 6.8
      "eth0=ethertap,tap0,fe:fd:0:0:0:1,192.168.0.254",
      // 6.9 (full form has the old data socket field)
      "eth0=daemon",
      "eth0=daemon,fe:fd:0:0:0:1,unix,/tmp/uml.ctl,/tmp/uml.data",
      // 6.10, 6.11
      "eth0=slip,192.168.0.251",
      "eth0=slirp,fe:fd:0:0:0:1,/usr/bin/slirp",
      // 6.12
      "eth0=pcap,eth0,tcp eth1=pcap,eth0,!tcp",
      "eth0=pcap,eth0,tcp,promisc,optimize",
      // 7.2
      "ubd0=root_fs_cow,root_fs_debian_22",
      "ubd0=root_fs_cow",
      // 8.2
      "ubd4=new_filesystem",
      // 9.2
      "ubd0=/path/to/uml/root/directory",
      // 10
      "umid=debian",
      // 10.3: mconsole config arguments have command-line syntax
      "ubd3=/home/jdike/incoming/roots/root_fs_debian22",
      "eth1=mcast",
  };
  for (const char* line : kLines) ParseLine(line);
}

TEST(HowtoExamplesTest, SerialLinePrecedence) {
  const MachineSpec spec =
      ParseLine("ssl=pty ssl0=tty:/dev/tty0 ssl1=tty:/dev/tty1");
  EXPECT_EQ(EffectiveLine(spec, LineKind::kSerial, 0).input.tty_path,
            "/dev/tty0");
  EXPECT_EQ(EffectiveLine(spec, LineKind::kSerial, 1).input.tty_path,
            "/dev/tty1");
  EXPECT_EQ(EffectiveLine(spec, LineKind::kSerial, 2).input.type, Type::kPty);
}

TEST(HowtoExamplesTest, SillyInputOutputExample) {
  const MachineSpec spec = ParseLine("ssl3=tty:/dev/tty2,xterm");
  const LineSpec line = EffectiveLine(spec, LineKind::kSerial, 3);
  EXPECT_EQ(line.input.type, Type::kTty);
  EXPECT_EQ(line.input.tty_path, "/dev/tty2");
  EXPECT_EQ(line.output.type, Type::kXterm);
}

TEST(HowtoExamplesTest, EthertapExample) {
  const MachineSpec spec =
      ParseLine("eth0=ethertap,tap0,fe:fd:0:0:0:1,192.168.0.254");
  const auto& t = std::get<EthertapTransport>(spec.eth.at(0).transport);
  EXPECT_EQ(t.device, "tap0");
  EXPECT_EQ(t.mac->ToString(), "fe:fd:00:00:00:01");
  EXPECT_EQ(t.gate->ToString(), "192.168.0.254");
}

TEST(HowtoExamplesTest, CowExample) {
  const MachineSpec spec = ParseLine("ubd0=root_fs_cow,root_fs_debian_22");
  EXPECT_EQ(spec.disks.at(0).file, "root_fs_cow");
  EXPECT_EQ(spec.disks.at(0).backing_file, "root_fs_debian_22");
}

TEST(HowtoExamplesTest, MconsoleConfigArgumentsParseAlone) {
  absl::StatusOr<UbdSwitch> ubd =
      ParseUbdSwitch("ubd3=/home/jdike/incoming/roots/root_fs_debian22");
  ASSERT_TRUE(ubd.ok());
  EXPECT_EQ(ubd->index, 3);
  EXPECT_TRUE(ParseEthSwitch("eth1=mcast").ok());
  EXPECT_TRUE(ParseEthSwitch("eth0=tuntap,,,192.168.0.254").ok());
  EXPECT_TRUE(ParseUbdSwitch("ubd1=/srv/uml/hot.img").ok());
  EXPECT_TRUE(ParseLineSwitch("con1=pts").ok());
}

// --- uml-interfaces.md §5.5 --------------------------------------------------

TEST(ConfirmedLinesTest, ReferenceLine) {
  const MachineSpec spec = ParseLine(
      "ubd0=root_fs root=/dev/ubda con0=fd:0,fd:1 con=null mem=128M "
      "init=/init refmode=bench");
  EXPECT_EQ(spec.mem_bytes, uint64_t{128} << 20);
  EXPECT_EQ(spec.disks.at(0).file, "root_fs");
  EXPECT_THAT(GuestKernelArgs(spec),
              ElementsAre("root=/dev/vda", "init=/init", "refmode=bench"));
}

TEST(ConfirmedLinesTest, DebianLine) {
  const MachineSpec spec = ParseLine(
      "ubd0=root_fs con0=fd:0,fd:1 con=pts eth0=tuntap,umlreftap0 umid=debian "
      "mem=256M init=/init");
  EXPECT_EQ(spec.umid, "debian");
  EXPECT_EQ(std::get<TuntapTransport>(spec.eth.at(0).transport).device,
            "umlreftap0");
  EXPECT_THAT(GuestKernelArgs(spec),
              ElementsAre("init=/init", "root=/dev/vda"));
}

TEST(ConfirmedLinesTest, LetterUnits) {
  const MachineSpec spec = ParseLine("ubda=root_fs ubdb=t1.img mem=64M");
  EXPECT_THAT(spec.disks, SizeIs(2));
  EXPECT_EQ(spec.disks.at(1).file, "t1.img");
}

TEST(ConfirmedLinesTest, DiskFlagsLine) {
  const MachineSpec spec = ParseLine(
      "ubd0r=root_fs ubd1=t1.img,,SER-0001 ubd2r=t2.img ubd3s=t3.img "
      "ubd4t=t4.img ubd5c=t5.img ubd6=t_cow.cow:t1.img "
      "ubd7d=fixtures/small_mkcow.cow con1=pts ssl0=null ssl=none mem=96M "
      "init=/init refmode=info");
  ASSERT_THAT(spec.disks, SizeIs(8));
  EXPECT_TRUE(spec.disks.at(0).read_only);
  EXPECT_EQ(spec.disks.at(1).serial, "SER-0001");
  EXPECT_TRUE(spec.disks.at(2).read_only);
  EXPECT_TRUE(spec.disks.at(3).sync);
  EXPECT_TRUE(spec.disks.at(4).no_trim);
  EXPECT_TRUE(spec.disks.at(5).shared);
  EXPECT_EQ(spec.disks.at(6).backing_file, "t1.img");
  EXPECT_TRUE(spec.disks.at(7).no_cow);
  EXPECT_EQ(spec.mem_bytes, uint64_t{96} << 20);
  EXPECT_EQ(EffectiveLine(spec, LineKind::kSerial, 0).input.type, Type::kNull);
  EXPECT_TRUE(EffectiveLine(spec, LineKind::kSerial, 1).none);
}

TEST(ConfirmedLinesTest, CowLines) {
  ParseLine("ubd0=uml_root.cow,root_fs mem=128M init=/init refmode=cow");
  const MachineSpec spec = ParseLine(
      "ubd1r=synth_v1.cow ubd2r=synth_v2.cow ubd3r=synth_v3.cow "
      "ubd4r=synth_v3broken.cow");
  EXPECT_THAT(spec.disks, SizeIs(5));  // with the implicit ubd0=root_fs
}

TEST(ConfirmedLinesTest, ChannelLine) {
  // UML boots this line and only fails to set up con5 ("failed to parse
  // channel pair"); kuml refuses the bogus channel up front...
  const std::string with_bogus =
      "con0=fd:0,fd:1 con1=pts con2=fd:3 con3=port:9123 con4=xterm "
      "con5=bogus con6=tty:/dev/null con7=none con=null ssl0=pts ssl=none";
  const std::vector<std::string> args =
      absl::StrSplit(with_bogus, ' ', absl::SkipEmpty());
  absl::StatusOr<MachineSpec> refused = ParseCommandLine(args);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::StartsWith(
                  "con5=bogus: failed to parse channel pair: unknown channel "
                  "'bogus'"));
  // ...and takes the rest of it.
  const MachineSpec spec = ParseLine(
      "con0=fd:0,fd:1 con1=pts con2=fd:3 con3=port:9123 con4=xterm "
      "con6=tty:/dev/null con7=none con=null ssl0=pts ssl=none");
  EXPECT_EQ(EffectiveLine(spec, LineKind::kConsole, 1).input.type, Type::kPts);
  EXPECT_EQ(EffectiveLine(spec, LineKind::kConsole, 2).output.fd, 3);
  EXPECT_EQ(EffectiveLine(spec, LineKind::kConsole, 3).input.port, 9123);
  EXPECT_EQ(EffectiveLine(spec, LineKind::kConsole, 4).input.type,
            Type::kXterm);
  EXPECT_EQ(EffectiveLine(spec, LineKind::kConsole, 5).input.type,
            Type::kNull);  // con=null
  EXPECT_EQ(EffectiveLine(spec, LineKind::kConsole, 6).input.tty_path,
            "/dev/null");
  EXPECT_TRUE(EffectiveLine(spec, LineKind::kConsole, 7).none);
  EXPECT_EQ(EffectiveLine(spec, LineKind::kSerial, 0).input.type, Type::kPts);
  EXPECT_TRUE(EffectiveLine(spec, LineKind::kSerial, 1).none);
}

TEST(ConfirmedLinesTest, NetworkLine) {
  const MachineSpec spec = ParseLine(
      "eth0=tuntap,umlreftap0 eth1=mcast eth2=ucast,,127.0.0.1,5555,5556 "
      "eth3=daemon,,unix,/srv/uml/switch.ctl "
      "eth4=daemon,fe:fd:01:02:03:04,unix,/srv/uml/switch.ctl eth5=slirp "
      "eth6=vde,/srv/uml/nonexistent.vde eth7=pcap,lo eth8=ethertap,tap9 "
      "vec0:transport=tap,ifname=umlreftap1,depth=64 "
      "vec1:transport=gre,src=127.0.0.1,dst=127.0.0.1,rx_key=1,tx_key=1");
  ASSERT_THAT(spec.eth, SizeIs(9));
  EXPECT_EQ(EthTransportName(spec.eth.at(0).transport), "tuntap");
  EXPECT_EQ(EthTransportName(spec.eth.at(1).transport), "mcast");
  EXPECT_EQ(EthTransportName(spec.eth.at(2).transport), "ucast");
  EXPECT_EQ(EthTransportName(spec.eth.at(3).transport), "daemon");
  EXPECT_EQ(EthTransportName(spec.eth.at(4).transport), "daemon");
  EXPECT_EQ(EthTransportName(spec.eth.at(5).transport), "slirp");
  EXPECT_EQ(EthTransportName(spec.eth.at(6).transport), "vde");
  EXPECT_EQ(EthTransportName(spec.eth.at(7).transport), "pcap");
  EXPECT_EQ(EthTransportName(spec.eth.at(8).transport), "ethertap");
  EXPECT_EQ(std::get<DaemonTransport>(spec.eth.at(4).transport).mac->ToString(),
            "fe:fd:01:02:03:04");
  ASSERT_THAT(spec.vec, SizeIs(2));
  EXPECT_EQ(spec.vec.at(1).transport, VecTransportType::kGre);
  EXPECT_EQ(spec.vec.at(1).options.at("rx_key"), "1");
}

TEST(ConfirmedLinesTest, MconsoleConfigArguments) {
  EXPECT_TRUE(ParseUbdSwitch("ubd1=/srv/uml/hot.img").ok());
  EXPECT_TRUE(ParseEthSwitch("eth0=tuntap,,,192.168.0.254").ok());
  EXPECT_TRUE(ParseLineSwitch("con1=pts").ok());
}

}  // namespace
}  // namespace kuml
