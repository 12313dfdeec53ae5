// mconsole commands on a real Machine (KVM) running the counter payload:
// stop really parks the vCPU (the counter in guest memory freezes), go
// resumes it, other commands keep working while stopped, sysrq's break+key
// reaches the guest's UART and its answer comes back, a flood of requests
// through the legacy socket does not stop the guest, halt ends the machine.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "devices/chan/fd_channel.h"
#include "devices/virtio/console_channel_port.h"
#include "devices/virtio/console_device.h"
#include "disk/raw_file_backend.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "machine/disk_factory.h"
#include "mconsole/command_core.h"
#include "mconsole/legacy_server.h"
#include "mconsole/machine_control.h"
#include "tests/payload_runner.h"
#include "vmm/cpu/host_kvm.h"
#include "vmm/kvm/kvm.h"

namespace kuml::mconsole {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kCounterAddr = 0x300000;

PluggableDevice Pluggable(VirtioDeviceFactory make) {
  PluggableDevice device;
  device.make = std::move(make);
  return device;
}

class MachineControlKvmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<Kvm> kvm = Kvm::Open();
    ASSERT_TRUE(kvm.ok()) << kvm.status();
    MachineConfig config;
    config.kernel_path = PayloadPath("counter");
    config.spare_virtio_slots = 2;
    auto machine = Machine::Create(*kvm, DetectKvmFlavor(), config);
    ASSERT_TRUE(machine.ok()) << machine.status();
    machine_ = std::move(*machine);
    MachineControlOptions options;
    options.version.release = "payload";
    options.sysrq_limit = absl::Seconds(30);  // emulated guests are slow
    control_ = std::make_unique<MachineControl>(options);
    core_ = std::make_unique<CommandCore>(control_.get());
    control_->Attach(machine_.get());
    runner_ = std::thread([this] { stop_ = machine_->Run(); });
    // Wait for the guest to count.
    absl::Time limit = absl::Now() + absl::Seconds(60);
    while (Counter() < 1000 && absl::Now() < limit) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    ASSERT_GE(Counter(), 1000u) << "the payload never started counting";
  }
  void TearDown() override {
    if (machine_ != nullptr) {
      machine_->RequestStop(StopReason::kHalt, "test over");
    }
    if (runner_.joinable()) runner_.join();
    if (control_ != nullptr) control_->Detach();
  }

  uint32_t Counter() {
    uint32_t v = 0;
    (void)machine_->memory().Read(kCounterAddr, &v, sizeof(v));
    return v;
  }
  Reply Run(absl::string_view command) {
    Outcome o = core_->Execute(command);
    o.Finish();
    return o.reply;
  }

  std::unique_ptr<Machine> machine_;
  std::unique_ptr<MachineControl> control_;
  std::unique_ptr<CommandCore> core_;
  std::thread runner_;
  MachineStop stop_;
};

TEST_F(MachineControlKvmTest, StopParksTheGuestAndGoResumesIt) {
  absl::Time t0 = absl::Now();
  Reply r = Run("stop");
  absl::Duration stop_latency = absl::Now() - t0;
  ASSERT_EQ(r.err, 0) << r.text;
  EXPECT_EQ(r.text, "stopped");
  EXPECT_TRUE(machine_->paused());
  std::printf("stop-to-parked: %s\n",
              absl::FormatDuration(stop_latency).c_str());

  uint32_t a = Counter();
  absl::SleepFor(absl::Milliseconds(500));
  uint32_t b = Counter();
  EXPECT_EQ(a, b) << "the counter advanced while stopped";

  EXPECT_EQ(Run("stop").text, "Already stopped");
  EXPECT_THAT(Run("version").text, HasSubstr("payload"));
  EXPECT_EQ(Counter(), b);

  r = Run("go");
  EXPECT_EQ(r.err, 0) << r.text;
  absl::Time limit = absl::Now() + absl::Seconds(30);
  while (Counter() == b && absl::Now() < limit) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_GT(Counter(), b) << "the counter did not move after go";
  EXPECT_EQ(Run("go").text, "Not stopped");

  // Again, to show the gate re-arms.
  ASSERT_EQ(Run("stop").err, 0);
  a = Counter();
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(Counter(), a);
  ASSERT_EQ(Run("go").err, 0);
}

TEST_F(MachineControlKvmTest, SysrqIsABreakAndAKeyOnTheSerialLine) {
  Reply r = Run("sysrq h");
  ASSERT_EQ(r.err, 0) << r.text;
  EXPECT_THAT(r.text, HasSubstr("counter: break then 'h'"));
}

// Machine::PlugVirtio/UnplugVirtio on a running machine: the spare slots
// announced at boot fill and empty (the payload never looks at them, so
// this is the VMM's side; the guest's is mconsole_guest_test's hot-plug).
TEST_F(MachineControlKvmTest, SpareSlotsFillAndEmptyWhileTheGuestRuns) {
  EXPECT_THAT(machine_->kernel_cmdline(),
              HasSubstr(absl::StrCat("virtio_mmio.device=4K@0x",
                                     absl::Hex(VirtioMmioSlots::kBase + 0x1000),
                                     ":", VirtioMmioSlots::kFirstIrq + 1)));
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/hot.img");
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  ASSERT_EQ(::truncate(path.c_str(), 1 << 20), 0);
  auto disk = [&]() -> std::shared_ptr<BlockBackend> {
    auto raw = RawFileBackend::Open(path, /*read_only=*/false);
    EXPECT_TRUE(raw.ok()) << raw.status();
    return std::move(*raw);
  };
  // A virtio-blk on `backend` into the first free spare slot.
  auto plug = [&](std::shared_ptr<BlockBackend> backend) {
    return machine_->PlugVirtio(DiskDevice(backend, "hot"));
  };
  std::shared_ptr<BlockBackend> b0 = disk();
  absl::StatusOr<uint32_t> s0 = plug(b0);
  ASSERT_TRUE(s0.ok()) << s0.status();
  EXPECT_EQ(*s0, 0u);  // no boot devices: the spares are slots 0 and 1
  std::shared_ptr<BlockBackend> b1 = disk();
  absl::StatusOr<uint32_t> s1 = plug(b1);
  ASSERT_TRUE(s1.ok()) << s1.status();
  EXPECT_EQ(*s1, 1u);
  std::shared_ptr<BlockBackend> b2 = disk();
  EXPECT_TRUE(absl::IsResourceExhausted(plug(b2).status()));
  // stop flushes hot-plugged disks too.
  ASSERT_EQ(Run("stop").err, 0);
  ASSERT_EQ(Run("go").err, 0);
  EXPECT_TRUE(machine_->UnplugVirtio(0).ok());
  EXPECT_TRUE(absl::IsNotFound(machine_->UnplugVirtio(0)));
  EXPECT_TRUE(absl::IsNotFound(machine_->UnplugVirtio(7)));
  EXPECT_EQ(b0.use_count(), 1) << "the machine still holds the backend";
  std::shared_ptr<BlockBackend> b3 = disk();
  absl::StatusOr<uint32_t> again = plug(b3);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, 0u);
  const uint32_t before = Counter();
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_GT(Counter(), before) << "the guest stopped counting";
  // A stopping machine takes nothing.
  machine_->RequestStop(StopReason::kHalt, "test over");
  runner_.join();
  std::shared_ptr<BlockBackend> b4 = disk();
  EXPECT_FALSE(plug(b4).ok());
}

// The factory form (net and line hot-plug): it runs on the machine's loop
// with the machine's context, its error comes back and takes no slot, and
// the device's host side (here a line's channel, owned by its port) goes
// when the slot is emptied.
TEST_F(MachineControlKvmTest, PlugVirtioFactoryRunsOnTheLoopAndOwnsItsDevice) {
  bool saw_context = false;
  absl::StatusOr<uint32_t> failed = machine_->PlugVirtio(
      Pluggable([&](const VirtioDeviceContext& context)
                    -> absl::StatusOr<std::unique_ptr<VirtioDevice>> {
        saw_context = context.loop != nullptr && context.memory != nullptr;
        return absl::InvalidArgumentError("eth9=bogus: no such transport");
      }));
  EXPECT_TRUE(absl::IsInvalidArgument(failed.status())) << failed.status();
  EXPECT_TRUE(saw_context);

  absl::StatusOr<std::unique_ptr<FdChannel>> null_line =
      FdChannel::Create(FdChannel::Options());
  ASSERT_TRUE(null_line.ok()) << null_line.status();
  std::shared_ptr<Channel> channel = std::move(*null_line);
  std::weak_ptr<Channel> watch = channel;
  absl::StatusOr<uint32_t> slot = machine_->PlugVirtio(
      Pluggable([channel](const VirtioDeviceContext& context)
                    -> absl::StatusOr<std::unique_ptr<VirtioDevice>> {
        VirtioConsole::PortConfig port;
        port.name = "ssl1";
        port.handler =
            std::make_shared<ConsoleChannelPort>(context.loop, channel);
        std::vector<VirtioConsole::PortConfig> ports;
        ports.push_back(std::move(port));
        return std::unique_ptr<VirtioDevice>(
            new VirtioConsole(std::move(ports)));
      }));
  channel.reset();
  ASSERT_TRUE(slot.ok()) << slot.status();
  EXPECT_EQ(*slot, 0u) << "the failed factory took a slot";
  EXPECT_FALSE(watch.expired()) << "the plugged port lost its channel";
  ASSERT_TRUE(machine_->UnplugVirtio(*slot).ok());
  EXPECT_TRUE(watch.expired()) << "the channel outlived its device";
}

// sysrq while stopped (the HOWTO's backup recipe: stop, sysrq s, copy, go):
// the guest runs for the key and its answer, then is stopped again. Before,
// kuml refused ("The guest is stopped").
TEST_F(MachineControlKvmTest, SysrqWhileStoppedRunsTheGuestForTheKeyOnly) {
  ASSERT_EQ(Run("stop").err, 0);
  Reply r = Run("sysrq x");
  EXPECT_EQ(r.err, 0) << r.text;
  EXPECT_THAT(r.text, HasSubstr("counter: break then 'x'"));
  EXPECT_TRUE(machine_->paused()) << "not stopped again after the key";
  const uint32_t a = Counter();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(Counter(), a) << "the guest ran on after sysrq";
  EXPECT_EQ(Run("stop").text, "Already stopped");
  ASSERT_EQ(Run("go").err, 0);
}

// UML answers stop as soon as its socket exists; so does kuml: a stop before
// the guest has started holds it before its first instruction, go lets it
// run. Before, kuml answered "The guest is between boots".
TEST(MachineControlBeforeBootTest, StopBeforeTheFirstInstruction) {
  MachineControlOptions options;
  options.version.release = "payload";
  MachineControl control(options);
  CommandCore core(&control);
  auto run = [&core](absl::string_view command) {
    Outcome o = core.Execute(command);
    o.Finish();
    return o.reply;
  };
  EXPECT_EQ(run("go").text, "Not stopped");
  Reply r = run("stop");
  EXPECT_EQ(r.err, 0) << r.text;
  EXPECT_EQ(r.text, "stopped");
  EXPECT_EQ(run("stop").text, "Already stopped");

  absl::StatusOr<Kvm> kvm = Kvm::Open();
  ASSERT_TRUE(kvm.ok()) << kvm.status();
  MachineConfig config;
  config.kernel_path = PayloadPath("counter");
  auto machine = Machine::Create(*kvm, DetectKvmFlavor(), config);
  ASSERT_TRUE(machine.ok()) << machine.status();
  control.Attach(machine->get());
  MachineStop stop;
  std::thread runner([&] { stop = (*machine)->Run(); });
  absl::SleepFor(absl::Seconds(1));
  auto counter = [&] {
    uint32_t v = 0;
    (void)(*machine)->memory().Read(kCounterAddr, &v, sizeof(v));
    return v;
  };
  EXPECT_EQ(counter(), 0u) << "the guest ran while stopped";
  EXPECT_TRUE((*machine)->paused());
  EXPECT_EQ(run("go").err, 0);
  absl::Time limit = absl::Now() + absl::Seconds(60);
  while (counter() == 0 && absl::Now() < limit) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_GT(counter(), 0u) << "the guest did not start after go";
  (*machine)->RequestStop(StopReason::kHalt, "test over");
  runner.join();
  control.Detach();
}

TEST_F(MachineControlKvmTest, HaltEndsTheMachine) {
  Outcome o = core_->Execute("halt");
  EXPECT_EQ(o.reply.err, 0);
  o.Finish();
  runner_.join();
  EXPECT_EQ(stop_.reason, StopReason::kHalt);
  EXPECT_TRUE(control_->halt_requested());
}

TEST_F(MachineControlKvmTest, HaltWhileStoppedEndsTheMachine) {
  ASSERT_EQ(Run("stop").err, 0);
  Outcome o = core_->Execute("halt");
  o.Finish();
  runner_.join();
  EXPECT_EQ(stop_.reason, StopReason::kHalt);
}

TEST_F(MachineControlKvmTest, RebootAfterStopAndGoEndsThisBoot) {
  ASSERT_EQ(Run("stop").err, 0);
  ASSERT_EQ(Run("go").err, 0);
  ASSERT_EQ(Run("sysrq x").err, 0);
  Outcome o = core_->Execute("reboot");
  EXPECT_EQ(o.reply.err, 0);
  o.Finish();
  runner_.join();
  EXPECT_EQ(stop_.reason, StopReason::kReset) << stop_.detail;
}

TEST_F(MachineControlKvmTest, RequestFloodDoesNotStallTheGuest) {
  std::string path = absl::StrCat("/tmp/kuml-mc-flood-", getpid());
  auto server = LegacyServer::Start(path, core_.get());
  ASSERT_TRUE(server.ok()) << server.status();
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un self{};
  self.sun_family = AF_UNIX;
  std::string name = absl::StrCat("flood-", getpid());
  memcpy(self.sun_path + 1, name.data(), name.size());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&self),
                 sizeof(sa_family_t) + 1 + name.size()),
            0);
  sockaddr_un to{};
  to.sun_family = AF_UNIX;
  memcpy(to.sun_path, path.data(), path.size());
  std::string request = EncodeRequest("version");
  uint32_t before = Counter();
  int replies = 0;
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(sendto(fd, request.data(), request.size(), 0,
                     reinterpret_cast<sockaddr*>(&to), sizeof(to)),
              static_cast<ssize_t>(request.size()));
    char buf[600];
    if (recv(fd, buf, sizeof(buf), 0) > 0) ++replies;
  }
  uint32_t after = Counter();
  close(fd);
  EXPECT_EQ(replies, 2000);
  EXPECT_GT(after, before) << "the guest did not run during the flood";
  std::printf("guest counted %u during 2000 version requests\n",
              after - before);
}

}  // namespace
}  // namespace kuml::mconsole
