// kuml's virtio-net device and a real UML guest (Debian's user-mode-linux,
// ptrace-based, no KVM) on the same real uml_switch: UML pings an address
// that lives behind kuml's device -- a namespace's kernel stack drives the
// device from the guest side (NetTestGuest + GuestPump), the device's wire
// is the daemon transport. Needs root, uml_switch and the real UML.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "devices/net/testing/child_process.h"
#include "devices/net/testing/stack_tap.h"
#include "devices/virtio/net_test_guest.h"
#include "devices/virtio/virtio_spec.h"
#include "frontend/net_switch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "machine/open_net_transport.h"

namespace kuml {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The real UML kernel, through tests/uml/linux (a shim for hosts with a large
// XSAVE area) from the runfiles.
std::string RealUml() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  return srcdir != nullptr ? absl::StrCat(srcdir, "/kuml/tests/uml/linux")
                           : "linux.uml";
}

TEST(UmlInterop, UmlGuestPingsKumlDeviceThroughARealUmlSwitch) {
  char dir_template[] = "/tmp/kuml-uml-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string ctl = dir + "/switch.ctl";
  auto sw = ChildProcess::Start({"uml_switch", "-unix", ctl},
                                dir + "/uml_switch.log");
  ASSERT_TRUE(sw.ok()) << sw.status();
  ASSERT_TRUE(WaitUntil([&] { return AcceptsConnections(ctl); }, 5000));

  // kuml's side: the device on a daemon port, a kernel stack behind it.
  auto parsed = ParseEthSwitch(absl::StrCat("eth0=daemon,,unix,", ctl));
  ASSERT_TRUE(parsed.ok());
  auto wire = OpenNetTransport(parsed->spec);
  ASSERT_TRUE(wire.ok()) << wire.status();
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  std::thread loop_thread([&] { (*loop)->Run(); });
  NetTestGuest::Options options;
  options.features = kVirtioFVersion1 | kVirtioFRingEventIdx | kVirtioNetFMac |
                     kVirtioNetFMrgRxbuf;
  auto guest =
      NetTestGuest::Create(std::shared_ptr<NetTransport>(*std::move(wire)),
                           {0xfe, 0xfd, 10, 77, 0, 1}, loop->get(), options);
  ASSERT_TRUE(guest.ok()) << guest.status();
  auto stack = MakeStackTap("10.77.0.1/24", "kd", /*vnet_header=*/true);
  ASSERT_TRUE(stack.ok()) << stack.status();
  auto pump = std::make_unique<GuestPump>(stack->wire.get(), guest->get());

  // The UML guest: host's / over hostfs, a script as init.
  const std::string script = dir + "/init.sh";
  std::ofstream(script) << "#!/bin/sh\n"
                           "PATH=/usr/sbin:/sbin:/usr/bin:/bin\n"
                           "ip link set eth0 up\n"
                           "ip addr add 10.77.0.2/24 dev eth0\n"
                           "ping -c 3 -i 0.3 -W 5 10.77.0.1\n"
                           "echo UML-PING-RESULT $?\n"
                           "poweroff -f\n";
  ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
  const std::string log = dir + "/uml.log";
  auto uml = ChildProcess::Start(
      {RealUml(), "mem=128M", "root=/dev/root", "rootfstype=hostfs",
       "rootflags=/", "rw", absl::StrCat("init=", script),
       absl::StrCat("uml_dir=", dir), "con0=fd:0,fd:1", "con=null",
       absl::StrCat("eth0=daemon,,unix,", ctl)},
      log);
  ASSERT_TRUE(uml.ok()) << uml.status();
  auto status = (*uml)->Wait(240000);
  EXPECT_TRUE(status.ok()) << "UML did not finish; log:\n" << ReadFile(log);
  const std::string out = ReadFile(log);
  EXPECT_THAT(out, ::testing::HasSubstr("UML-PING-RESULT 0")) << out;
  EXPECT_GT((*guest)->device()->stats().rx_frames, 0u);
  EXPECT_GT((*guest)->device()->stats().tx_frames, 0u);

  pump.reset();
  (*loop)->Stop();
  loop_thread.join();
  guest->reset();
  std::system(absl::StrCat("rm -rf ", dir).c_str());
}

}  // namespace
}  // namespace kuml
