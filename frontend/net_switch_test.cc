#include "frontend/net_switch.h"

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

MacAddress Mac(std::array<uint8_t, 6> bytes) { return MacAddress{bytes}; }
Ipv4Address Ip(std::array<uint8_t, 4> octets) { return Ipv4Address{octets}; }

template <typename T>
T ParseAs(const std::string& arg, EthSwitch* out = nullptr) {
  absl::StatusOr<EthSwitch> parsed = ParseEthSwitch(arg);
  EXPECT_TRUE(parsed.ok()) << arg << ": " << parsed.status();
  if (!parsed.ok()) return T{};
  if (out != nullptr) *out = *parsed;
  const T* t = std::get_if<T>(&parsed->spec.transport);
  EXPECT_NE(t, nullptr) << arg << " parsed as "
                        << EthTransportName(parsed->spec.transport);
  return t != nullptr ? *t : T{};
}

void ExpectError(const std::string& arg, const std::string& why) {
  absl::StatusOr<EthSwitch> parsed = ParseEthSwitch(arg);
  ASSERT_FALSE(parsed.ok()) << arg;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()), StartsWith(arg + ": "));
  EXPECT_THAT(parsed.status().message(), HasSubstr(why)) << arg;
}

TEST(EthSwitchTest, DeviceNumberAndTexts) {
  EthSwitch out;
  ParseAs<McastTransport>("eth3=mcast", &out);
  EXPECT_EQ(out.spec.index, 3);
  EXPECT_EQ(out.spec.config, "mcast");
  EXPECT_EQ(out.spec.switch_text, "eth3=mcast");
  ParseAs<McastTransport>("eth0x10=mcast", &out);
  EXPECT_EQ(out.spec.index, 16);
  ParseAs<McastTransport>("eth010=mcast", &out);
  EXPECT_EQ(out.spec.index, 8);
  ParseAs<McastTransport>("eth255=mcast", &out);
  EXPECT_EQ(out.spec.index, 255);
}

TEST(EthSwitchTest, DeviceNumberErrors) {
  ExpectError("eth=mcast", "Couldn't parse device number");
  ExpectError("ethx=mcast", "Couldn't parse device number");
  ExpectError("eth", "Couldn't parse device number");
  ExpectError("eth256=mcast", "Device number out of range");
  ExpectError("eth99999999999999999999=mcast", "Device number out of range");
  ExpectError("eth0", "expected '=' after device number");
  ExpectError("eth0:mcast", "expected '=' after device number");
}

TEST(EthSwitchTest, TransportNameMustEndAtCommaOrEnd) {
  ExpectError("eth0=tuntapx", "unknown transport 'tuntapx'");
  ExpectError("eth0=mcastx,a", "unknown transport 'mcastx'");
  ExpectError("eth0=", "unknown transport ''");
  ExpectError("eth0=bogus,1,2", "unknown transport 'bogus'");
  ExpectError("eth0=TUNTAP", "unknown transport");
  ExpectError("eth0=tun", "unknown transport");
}

TEST(EthSwitchTest, Tuntap) {
  TuntapTransport t = ParseAs<TuntapTransport>("eth0=tuntap");
  EXPECT_EQ(t.device, "");
  EXPECT_FALSE(t.mac.has_value());
  EXPECT_FALSE(t.gate.has_value());

  t = ParseAs<TuntapTransport>("eth0=tuntap,tap0");
  EXPECT_EQ(t.device, "tap0");

  t = ParseAs<TuntapTransport>("eth0=tuntap,,,192.168.0.254");
  EXPECT_EQ(t.device, "");
  EXPECT_FALSE(t.mac.has_value());
  EXPECT_EQ(t.gate, Ip({192, 168, 0, 254}));

  t = ParseAs<TuntapTransport>("eth0=tuntap,tap1,fe:fd:0:0:0:1,10.0.0.1");
  EXPECT_EQ(t.device, "tap1");
  EXPECT_EQ(t.mac, Mac({0xfe, 0xfd, 0, 0, 0, 1}));
  EXPECT_EQ(t.gate, Ip({10, 0, 0, 1}));

  t = ParseAs<TuntapTransport>("eth0=tuntap,");  // empty field: default
  EXPECT_EQ(t.device, "");

  ExpectError("eth0=tuntap,tap0,,,x", "extra garbage on specification: 'x'");
  ExpectError("eth0=tuntap,tap0,,1.2.3.4,",
              "extra garbage on specification: ''");
  ExpectError("eth0=tuntap,a/b", "bad tap device name 'a/b'");
  ExpectError("eth0=tuntap,abcdefghijklmnop", "bad tap device name");
  ExpectError("eth0=tuntap,tap0,zz:fd:0:0:0:1", "bad ethernet address");
  ExpectError("eth0=tuntap,tap0,ff:ff:ff:ff:ff:ff",
              "multicast ethernet address");
  ExpectError("eth0=tuntap,,,192.168.0", "bad gateway address '192.168.0'");
}

TEST(EthSwitchTest, Ethertap) {
  EthertapTransport t = ParseAs<EthertapTransport>(
      "eth0=ethertap,tap0,fe:fd:0:0:0:1,192.168.0.254");
  EXPECT_EQ(t.device, "tap0");
  EXPECT_EQ(t.mac, Mac({0xfe, 0xfd, 0, 0, 0, 1}));
  EXPECT_EQ(t.gate, Ip({192, 168, 0, 254}));

  t = ParseAs<EthertapTransport>("eth8=ethertap,tap9");
  EXPECT_EQ(t.device, "tap9");
  EXPECT_FALSE(t.mac.has_value());
  EXPECT_FALSE(t.gate.has_value());

  ExpectError("eth0=ethertap", "missing tap device name");
  ExpectError("eth0=ethertap,", "missing tap device name");
  ExpectError("eth0=ethertap,,fe:fd:0:0:0:1", "missing tap device name");
  ExpectError("eth0=ethertap,tap0,,,x", "extra garbage");
  ExpectError("eth0=ethertap,tap0,,300.1.1.1", "bad gateway address");
}

TEST(EthSwitchTest, Daemon) {
  DaemonTransport t = ParseAs<DaemonTransport>("eth0=daemon");
  EXPECT_FALSE(t.mac.has_value());
  EXPECT_EQ(t.socket_type, "unix");
  EXPECT_EQ(t.control_socket, "/var/run/uml-utilities/uml_switch.ctl");

  t = ParseAs<DaemonTransport>("eth3=daemon,,unix,/srv/uml/switch.ctl");
  EXPECT_EQ(t.control_socket, "/srv/uml/switch.ctl");

  EthSwitch out;
  t = ParseAs<DaemonTransport>(
      "eth4=daemon,fe:fd:01:02:03:04,unix,/srv/uml/switch.ctl", &out);
  EXPECT_EQ(t.mac, Mac({0xfe, 0xfd, 1, 2, 3, 4}));
  EXPECT_THAT(out.warnings, IsEmpty());

  // The HOWTO's old data-socket field is ignored with a warning.
  t = ParseAs<DaemonTransport>("eth0=daemon,,unix,/c.ctl,/d.data", &out);
  EXPECT_EQ(t.control_socket, "/c.ctl");
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_THAT(out.warnings[0], HasSubstr("ignoring data socket"));
  EXPECT_THAT(out.warnings[0], HasSubstr("/d.data"));

  ExpectError("eth0=daemon,,tcp", "unknown socket type 'tcp'");
  ExpectError("eth0=daemon,fe:fd", "bad ethernet address");
}

TEST(EthSwitchTest, GloballyAdministeredMacWarns) {
  EthSwitch out;
  ParseAs<DaemonTransport>("eth0=daemon,00:11:22:33:44:55", &out);
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_THAT(out.warnings[0], HasSubstr("globally valid ethernet address"));
}

TEST(EthSwitchTest, Mcast) {
  McastTransport t = ParseAs<McastTransport>("eth1=mcast");
  EXPECT_FALSE(t.mac.has_value());
  EXPECT_EQ(t.group, Ip({239, 192, 168, 1}));
  EXPECT_EQ(t.port, 1102);
  EXPECT_EQ(t.ttl, 1);

  t = ParseAs<McastTransport>("eth1=mcast,fe:fd:0:0:0:2,224.1.2.3,5000,32");
  EXPECT_EQ(t.mac, Mac({0xfe, 0xfd, 0, 0, 0, 2}));
  EXPECT_EQ(t.group, Ip({224, 1, 2, 3}));
  EXPECT_EQ(t.port, 5000);
  EXPECT_EQ(t.ttl, 32);

  t = ParseAs<McastTransport>("eth1=mcast,,,,0");
  EXPECT_EQ(t.group, Ip({239, 192, 168, 1}));
  EXPECT_EQ(t.ttl, 0);
  t = ParseAs<McastTransport>("eth1=mcast,,,,255");
  EXPECT_EQ(t.ttl, 255);

  ExpectError("eth0=mcast,,239.1.1,x", "bad multicast port 'x'");
  absl::StatusOr<EthSwitch> parsed = ParseEthSwitch("eth0=mcast,,239.1.1,x");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()),
              StartsWith("eth0=mcast,,239.1.1,x: bad multicast port 'x'"));
  ExpectError("eth0=mcast,,,0", "bad multicast port '0'");
  ExpectError("eth0=mcast,,,65536", "bad multicast port '65536'");
  ExpectError("eth0=mcast,,,0x10", "bad multicast port '0x10'");
  ExpectError("eth0=mcast,,,,256", "bad multicast ttl '256'");
  ExpectError("eth0=mcast,,,,-1", "bad multicast ttl");
  ExpectError("eth0=mcast,,239.1.1", "bad multicast address '239.1.1'");
  ExpectError("eth0=mcast,,192.168.0.1", "bad multicast address");
  ExpectError("eth0=mcast,,240.0.0.1", "bad multicast address");
  ExpectError("eth0=mcast,,,,,", "extra garbage");
}

TEST(EthSwitchTest, Ucast) {
  UcastTransport t = ParseAs<UcastTransport>("eth2=ucast,,127.0.0.1,5555,5556");
  EXPECT_FALSE(t.mac.has_value());
  EXPECT_EQ(t.remote, Ip({127, 0, 0, 1}));
  EXPECT_EQ(t.local_port, 5555);
  EXPECT_EQ(t.remote_port, 5556);

  t = ParseAs<UcastTransport>("eth2=ucast,fe:fd:0:0:0:3,10.1.2.3");
  EXPECT_EQ(t.mac, Mac({0xfe, 0xfd, 0, 0, 0, 3}));
  EXPECT_EQ(t.local_port, 1102);
  EXPECT_EQ(t.remote_port, 1102);

  ExpectError("eth2=ucast", "missing remote address");
  ExpectError("eth2=ucast,,", "missing remote address");
  ExpectError("eth2=ucast,,host.example", "bad remote address 'host.example'");
  ExpectError("eth2=ucast,,127.0.0.1,x", "bad listen port 'x'");
  ExpectError("eth2=ucast,,127.0.0.1,1,0", "bad remote port '0'");
  ExpectError("eth2=ucast,,127.0.0.1,1,2,3", "extra garbage");
}

TEST(EthSwitchTest, Slirp) {
  SlirpTransport t = ParseAs<SlirpTransport>("eth5=slirp");
  EXPECT_FALSE(t.mac.has_value());
  EXPECT_THAT(t.argv, ElementsAre("slirp"));

  t = ParseAs<SlirpTransport>("eth5=slirp,");
  EXPECT_THAT(t.argv, ElementsAre("slirp"));

  t = ParseAs<SlirpTransport>("eth0=slirp,fe:fd:0:0:0:5,/usr/bin/slirp");
  EXPECT_EQ(t.mac, Mac({0xfe, 0xfd, 0, 0, 0, 5}));
  EXPECT_THAT(t.argv, ElementsAre("/usr/bin/slirp"));

  t = ParseAs<SlirpTransport>("eth0=slirp,,/usr/bin/slirp,-P,dns_10.0.2.3");
  EXPECT_THAT(t.argv, ElementsAre("/usr/bin/slirp", "-P", "dns 10.0.2.3"));

  ExpectError("eth0=slirp,,", "missing slirp command");
  ExpectError("eth0=slirp,bad", "bad ethernet address");
}

TEST(EthSwitchTest, Slip) {
  SlipTransport t = ParseAs<SlipTransport>("eth0=slip,192.168.0.251");
  EXPECT_EQ(t.gate, Ip({192, 168, 0, 251}));
  t = ParseAs<SlipTransport>("eth0=slip");
  EXPECT_FALSE(t.gate.has_value());
  ExpectError("eth0=slip,1.2.3", "bad gateway address");
  ExpectError("eth0=slip,1.2.3.4,x", "extra garbage");
}

TEST(EthSwitchTest, Vde) {
  VdeTransport t = ParseAs<VdeTransport>("eth6=vde,/srv/uml/nonexistent.vde");
  EXPECT_EQ(t.switch_path, "/srv/uml/nonexistent.vde");
  EXPECT_FALSE(t.mac.has_value());
  EXPECT_EQ(t.port, 0u);
  EXPECT_EQ(t.group, "");
  EXPECT_EQ(t.mode, 0u);
  EXPECT_EQ(t.description, "");

  t = ParseAs<VdeTransport>("eth6=vde");
  EXPECT_EQ(t.switch_path, "");

  t = ParseAs<VdeTransport>(
      "eth6=vde,/tmp/sw,fe:fd:0:0:0:6,3,users,0770,my machine");
  EXPECT_EQ(t.switch_path, "/tmp/sw");
  EXPECT_EQ(t.mac, Mac({0xfe, 0xfd, 0, 0, 0, 6}));
  EXPECT_EQ(t.port, 3u);
  EXPECT_EQ(t.group, "users");
  EXPECT_EQ(t.mode, 0770u);
  EXPECT_EQ(t.description, "my machine");

  t = ParseAs<VdeTransport>("eth6=vde,,,,,770");  // octal without the 0
  EXPECT_EQ(t.mode, 0770u);

  EthSwitch out;
  ParseAs<VdeTransport>("eth6=vde,/s,,,,,d,extra", &out);
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_THAT(out.warnings[0], HasSubstr("ignoring extra data 'extra'"));

  ExpectError("eth6=vde,/s,,x", "bad port 'x'");
  ExpectError("eth6=vde,/s,,,,8", "bad mode '8'");
  ExpectError("eth6=vde,/s,,,,17777", "bad mode");
  ExpectError("eth6=vde,/s,zz", "bad ethernet address");
}

TEST(EthSwitchTest, Pcap) {
  PcapTransport t = ParseAs<PcapTransport>("eth7=pcap");
  EXPECT_EQ(t.host_interface, "eth0");
  EXPECT_EQ(t.filter, "");
  EXPECT_TRUE(t.promisc);
  EXPECT_FALSE(t.optimize);
  EXPECT_FALSE(t.mac.has_value());

  t = ParseAs<PcapTransport>("eth7=pcap,lo");
  EXPECT_EQ(t.host_interface, "lo");

  t = ParseAs<PcapTransport>("eth1=pcap,eth0,!tcp");
  EXPECT_EQ(t.filter, "!tcp");

  t = ParseAs<PcapTransport>(
      "eth1=pcap,eth1,tcp port 80,nopromisc,optimize,fe:fd:0:0:0:7");
  EXPECT_EQ(t.host_interface, "eth1");
  EXPECT_EQ(t.filter, "tcp port 80");
  EXPECT_FALSE(t.promisc);
  EXPECT_TRUE(t.optimize);
  EXPECT_EQ(t.mac, Mac({0xfe, 0xfd, 0, 0, 0, 7}));

  t = ParseAs<PcapTransport>("eth1=pcap,,,optimize,nopromisc");
  EXPECT_EQ(t.host_interface, "eth0");
  EXPECT_FALSE(t.promisc);
  EXPECT_TRUE(t.optimize);
  t = ParseAs<PcapTransport>("eth1=pcap,,,nooptimize,promisc");
  EXPECT_TRUE(t.promisc);
  EXPECT_FALSE(t.optimize);

  ExpectError("eth1=pcap,,,fast", "bad option 'fast'");
  ExpectError("eth1=pcap,,,,fast", "bad option 'fast'");
  ExpectError("eth1=pcap,a/b", "bad host interface");
  ExpectError("eth1=pcap,,,,,xx", "bad ethernet address");
  ExpectError("eth1=pcap,,,,,,x", "extra garbage");
}

TEST(EthSwitchTest, TransportNames) {
  EXPECT_EQ(EthTransportName(TuntapTransport{}), "tuntap");
  EXPECT_EQ(EthTransportName(EthertapTransport{}), "ethertap");
  EXPECT_EQ(EthTransportName(DaemonTransport{}), "daemon");
  EXPECT_EQ(EthTransportName(McastTransport{}), "mcast");
  EXPECT_EQ(EthTransportName(UcastTransport{}), "ucast");
  EXPECT_EQ(EthTransportName(SlirpTransport{}), "slirp");
  EXPECT_EQ(EthTransportName(SlipTransport{}), "slip");
  EXPECT_EQ(EthTransportName(VdeTransport{}), "vde");
  EXPECT_EQ(EthTransportName(PcapTransport{}), "pcap");
}

// --- vec ---------------------------------------------------------------------

VecSpec ParseVec(const std::string& arg) {
  absl::StatusOr<VecSpec> parsed = ParseVecSwitch(arg);
  EXPECT_TRUE(parsed.ok()) << arg << ": " << parsed.status();
  return parsed.ok() ? *parsed : VecSpec{};
}

void ExpectVecError(const std::string& arg, const std::string& why) {
  absl::StatusOr<VecSpec> parsed = ParseVecSwitch(arg);
  ASSERT_FALSE(parsed.ok()) << arg;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()), StartsWith(arg + ": "));
  EXPECT_THAT(parsed.status().message(), HasSubstr(why)) << arg;
}

TEST(VecSwitchTest, Tap) {
  VecSpec v = ParseVec("vec0:transport=tap,ifname=umlreftap1,depth=64");
  EXPECT_EQ(v.index, 0);
  EXPECT_EQ(v.transport, VecTransportType::kTap);
  EXPECT_EQ(v.options.at("transport"), "tap");
  EXPECT_EQ(v.options.at("ifname"), "umlreftap1");
  EXPECT_EQ(v.options.at("depth"), "64");
  EXPECT_EQ(v.config, "transport=tap,ifname=umlreftap1,depth=64");
  EXPECT_EQ(v.switch_text, "vec0:transport=tap,ifname=umlreftap1,depth=64");
}

TEST(VecSwitchTest, EveryTransport) {
  EXPECT_EQ(ParseVec("vec1:transport=gre,src=127.0.0.1,dst=127.0.0.1,"
                     "rx_key=1,tx_key=1")
                .transport,
            VecTransportType::kGre);
  EXPECT_EQ(ParseVec("vec1:transport=hybrid,ifname=tap0").transport,
            VecTransportType::kHybrid);
  EXPECT_EQ(ParseVec("vec1:transport=raw,ifname=eth0,vec=0,gro=1").transport,
            VecTransportType::kRaw);
  EXPECT_EQ(ParseVec("vec1:transport=l2tpv3,src=10.0.0.1,dst=10.0.0.2,"
                     "udp=1,srcport=1701,dstport=1701,rx_session=5,"
                     "tx_session=6,cookie64=1,rx_cookie=18446744073709551615,"
                     "tx_cookie=0,counter=1,pin_counter=0")
                .transport,
            VecTransportType::kL2tpv3);
  EXPECT_EQ(ParseVec("vec1:transport=bess,dst=/tmp/bess.sock").transport,
            VecTransportType::kBess);
  EXPECT_EQ(ParseVec("vec1:transport=fd,fd=3").transport,
            VecTransportType::kFd);
  VecSpec v = ParseVec(
      "vec0x1f:transport=tap,ifname=t,mac=fe:fd:0:0:0:1,mtu=1500,headroom=0,"
      "bpffile=/x.bpf,bpfflash=1,v6=0,sequence=1,pin_sequence=0");
  EXPECT_EQ(v.index, 31);
  EXPECT_EQ(v.options.size(), 10u);
}

TEST(VecSwitchTest, TransportNames) {
  EXPECT_EQ(VecTransportName(VecTransportType::kTap), "tap");
  EXPECT_EQ(VecTransportName(VecTransportType::kHybrid), "hybrid");
  EXPECT_EQ(VecTransportName(VecTransportType::kRaw), "raw");
  EXPECT_EQ(VecTransportName(VecTransportType::kGre), "gre");
  EXPECT_EQ(VecTransportName(VecTransportType::kL2tpv3), "l2tpv3");
  EXPECT_EQ(VecTransportName(VecTransportType::kBess), "bess");
  EXPECT_EQ(VecTransportName(VecTransportType::kFd), "fd");
}

TEST(VecSwitchTest, DeviceNumberErrors) {
  ExpectVecError("vec0=transport=tap", "Expected ':' after device number");
  ExpectVecError("vec", "Expected ':' after device number");
  ExpectVecError("vec:transport=tap,ifname=t", "Bad device number");
  ExpectVecError("vecx:transport=tap,ifname=t", "Bad device number");
  ExpectVecError("vec1x:transport=tap,ifname=t", "Bad device number");
  ExpectVecError("vec256:transport=tap,ifname=t", "Device number out of range");
}

TEST(VecSwitchTest, OptionErrors) {
  ExpectVecError("vec0:", "missing transport=");
  ExpectVecError("vec0:ifname=tap0", "missing transport=");
  ExpectVecError("vec0:transport=vde", "bad value 'vde' for 'transport'");
  ExpectVecError("vec0:transport=tap", "transport=tap needs ifname=");
  ExpectVecError("vec0:transport=hybrid", "needs ifname=");
  ExpectVecError("vec0:transport=raw", "needs ifname=");
  ExpectVecError("vec0:transport=tap,ifname=", "bad value '' for 'ifname'");
  ExpectVecError("vec0:transport=gre,dst=1.2.3.4", "needs src=");
  ExpectVecError("vec0:transport=l2tpv3,src=1.2.3.4", "needs dst=");
  ExpectVecError("vec0:transport=bess", "needs dst=");
  ExpectVecError("vec0:transport=fd", "needs fd=");
  ExpectVecError("vec0:transport=fd,fd=x", "bad value 'x' for 'fd'");
  ExpectVecError("vec0:transport=tap,ifname=t,colour=blue",
                 "unknown option 'colour'");
  ExpectVecError("vec0:transport=tap,ifname=t,depth=0",
                 "bad value '0' for 'depth'");
  ExpectVecError("vec0:transport=tap,ifname=t,depth=x",
                 "bad value 'x' for 'depth'");
  ExpectVecError("vec0:transport=tap,ifname=t,mtu=20", "for 'mtu'");
  ExpectVecError("vec0:transport=tap,ifname=t,gro=2",
                 "bad value '2' for 'gro': expected 0 or 1");
  ExpectVecError("vec0:transport=tap,ifname=t,mac=ff:ff:ff:ff:ff:ff",
                 "multicast");
  ExpectVecError("vec0:transport=gre,src=a,dst=b,rx_key=4294967296",
                 "for 'rx_key'");
  ExpectVecError("vec0:transport=gre,src=a,dst=b,srcport=0", "for 'srcport'");
  ExpectVecError("vec0:transport=tap,ifname=t,ifname=u",
                 "option 'ifname' given twice");
  ExpectVecError("vec0:transport=tap,ifname=t,gro", "expected <key>=<value>");
  ExpectVecError("vec0:transport=tap,,ifname=t", "expected <key>=<value>");
  ExpectVecError("vec0:transport=tap,ifname=t=u", "expected <key>=<value>");
  ExpectVecError("vec0:=tap", "expected <key>=<value>");
  ExpectVecError("vec0:transport=tap,ifname=t,bpffile=", "for 'bpffile'");
}

}  // namespace
}  // namespace kuml
