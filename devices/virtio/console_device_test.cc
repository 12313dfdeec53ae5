// VirtioConsole driven from the guest's side through the real virtio-mmio
// transport, the way Linux's virtio_console driver uses it (no KVM).
#include "devices/virtio/console_device.h"

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "devices/virtio/console_test_fixture.h"
#include "devices/virtio/virtio_spec.h"
#include "gtest/gtest.h"
#include "vmm/guest_memory.h"

namespace kuml {
namespace {

using VirtioConsoleTest = ConsoleDriverFixture;

// A handler that keeps what it is given, taking at most `limit` bytes per
// call (to play a full host side).
class Recorder : public ConsolePortHandler {
 public:
  void Bind(VirtioConsole* console, uint32_t port) override {
    console_ = console;
    port_ = port;
  }
  size_t OnGuestOutput(absl::Span<const uint8_t> data) override {
    absl::MutexLock lock(&mu_);
    size_t n = std::min(data.size(), limit_);
    limit_ -= n;
    out_.append(reinterpret_cast<const char*>(data.data()), n);
    return n;
  }
  void OnGuestOpen(bool open) override {
    absl::MutexLock lock(&mu_);
    opens_.push_back(open);
  }
  std::string out() {
    absl::MutexLock lock(&mu_);
    return out_;
  }
  std::vector<bool> opens() {
    absl::MutexLock lock(&mu_);
    return opens_;
  }
  void Allow(size_t bytes) {
    {
      absl::MutexLock lock(&mu_);
      limit_ = bytes;
    }
    console_->ResumeOutput(port_);
  }
  void set_limit(size_t n) {
    absl::MutexLock lock(&mu_);
    limit_ = n;
  }
  VirtioConsole* console_ = nullptr;
  uint32_t port_ = 0;

 private:
  absl::Mutex mu_;
  size_t limit_ = SIZE_MAX;
  std::string out_;
  std::vector<bool> opens_;
};

TEST_F(VirtioConsoleTest, FeaturesConfigAndQueues) {
  Start({{"con1", true, nullptr}, {"ssl0", false, nullptr}});
  EXPECT_EQ(driver_->Read32(0x008), kVirtioIdConsole);
  EXPECT_EQ(driver_->DeviceFeatures() & kVirtioConsoleFMultiport,
            kVirtioConsoleFMultiport);
  EXPECT_EQ(driver_->ReadConfig32(4), 2u);  // max_nr_ports
  EXPECT_EQ(console_->num_queues(), 6);
}

TEST_F(VirtioConsoleTest, AnnouncesPortsNamesAndConsoles) {
  Start({{"con1", true, nullptr},
         {"ssl0", false, nullptr},
         {"org.kuml.agent", false, nullptr}});
  SendControl(kVirtioConsoleBadId, kVirtioConsoleDeviceReady, 1);
  std::vector<Message> adds = ReadControl();
  ASSERT_EQ(adds.size(), 3u);
  for (uint32_t p = 0; p < 3; ++p) {
    EXPECT_EQ(adds[p].id, p);
    EXPECT_EQ(adds[p].event, kVirtioConsolePortAdd);
  }
  SendControl(0, kVirtioConsolePortReady, 1);
  std::vector<Message> m = ReadControl();
  ASSERT_EQ(m.size(), 3u);
  // The name before CONSOLE_PORT: kuml's kernel picks tty<n> from it.
  EXPECT_EQ(m[0].event, kVirtioConsolePortName);
  EXPECT_EQ(m[0].extra, "con1");
  EXPECT_EQ(m[1].event, kVirtioConsoleConsolePort);
  EXPECT_EQ(m[1].value, 1);
  EXPECT_EQ(m[2].event, kVirtioConsolePortOpen);
  EXPECT_EQ(m[2].value, 1);
  SendControl(2, kVirtioConsolePortReady, 1);
  m = ReadControl();
  ASSERT_EQ(m.size(), 2u);  // a plain port: no CONSOLE_PORT
  EXPECT_EQ(m[0].id, 2u);
  EXPECT_EQ(m[0].extra, "org.kuml.agent");
  EXPECT_TRUE(irq_.level());
}

TEST_F(VirtioConsoleTest, GuestOutputReachesTheHandlerInOrder) {
  auto con = std::make_shared<Recorder>();
  auto ssl = std::make_shared<Recorder>();
  Start({{"con1", true, con}, {"ssl0", false, ssl}});
  Handshake();
  Send(Tx(0), "hello ");
  Send(Tx(1), "serial");
  Send(Tx(0), "world");
  EXPECT_EQ(con->out(), "hello world");
  EXPECT_EQ(ssl->out(), "serial");
  EXPECT_TRUE(queues_[Tx(0)]->PopUsed().has_value());
  EXPECT_EQ(console_->stats(0).bytes_out, 11u);
}

TEST_F(VirtioConsoleTest, FullHostSideBackPressuresTheGuest) {
  auto rec = std::make_shared<Recorder>();
  Start({{"ssl0", false, rec}});
  Handshake();
  rec->set_limit(3);
  uint16_t head = Send(Tx(0), "abcdefgh");
  EXPECT_EQ(rec->out(), "abc");
  // The guest's buffer is kept, not returned: it cannot send more.
  EXPECT_FALSE(queues_[Tx(0)]->PopUsed().has_value());
  Send(Tx(0), "ijk");
  EXPECT_EQ(rec->out(), "abc");
  rec->Allow(100);
  EXPECT_EQ(rec->out(), "abcdefghijk");
  auto used = queues_[Tx(0)]->PopUsed();
  ASSERT_TRUE(used.has_value());
  EXPECT_EQ(used->id, head);
  EXPECT_EQ(used->len, 0u);
  EXPECT_TRUE(queues_[Tx(0)]->PopUsed().has_value());
}

TEST_F(VirtioConsoleTest, InputWaitsForTheGuestToOpenThePort) {
  auto rec = std::make_shared<Recorder>();
  Start({{"ssl0", false, rec}});
  int room_calls = 0;
  console_->Input(0)->SetRoomCallback([&] { ++room_calls; });
  Handshake();
  uint64_t gpa = PostReceive(Rx(0), 64);
  // Linux drops data for a port no program has open: hold it instead.
  EXPECT_EQ(console_->Input(0)->InputRoom(), 0u);
  const std::string in = "ls\r";
  EXPECT_EQ(console_->Input(0)->ReceiveInput(absl::MakeConstSpan(
                reinterpret_cast<const uint8_t*>(in.data()), in.size())),
            0u);
  SendControl(0, kVirtioConsolePortOpen, 1);
  EXPECT_EQ(room_calls, 1);
  EXPECT_EQ(rec->opens(), std::vector<bool>{true});
  EXPECT_EQ(console_->Input(0)->InputRoom(), 64u);
  EXPECT_EQ(console_->Input(0)->ReceiveInput(absl::MakeConstSpan(
                reinterpret_cast<const uint8_t*>(in.data()), in.size())),
            3u);
  auto used = queues_[Rx(0)]->PopUsed();
  ASSERT_TRUE(used.has_value());
  EXPECT_EQ(used->len, 3u);
  EXPECT_EQ(ReadGuest(gpa, 3), "ls\r");
  // No buffer left: room is zero until the guest posts one, then the
  // callback says so.
  EXPECT_EQ(console_->Input(0)->InputRoom(), 0u);
  PostReceive(Rx(0), 8);
  EXPECT_EQ(room_calls, 2);
  // Input longer than the buffers is taken in part, never dropped.
  const std::string big(20, 'x');
  EXPECT_EQ(console_->Input(0)->ReceiveInput(absl::MakeConstSpan(
                reinterpret_cast<const uint8_t*>(big.data()), big.size())),
            8u);
  SendControl(0, kVirtioConsolePortOpen, 0);
  EXPECT_EQ(rec->opens(), (std::vector<bool>{true, false}));
}

TEST_F(VirtioConsoleTest, HostileControlMessagesAreIgnored) {
  auto rec = std::make_shared<Recorder>();
  Start({{"ssl0", false, rec}});
  Send(3, "abc");                               // too short
  SendControl(99, kVirtioConsolePortReady, 1);  // no such port
  SendControl(99, kVirtioConsolePortOpen, 1);
  SendControl(0, 0x7777, 1);  // unknown event
  SendControl(kVirtioConsoleBadId, kVirtioConsoleDeviceReady, 0);  // failed
  EXPECT_TRUE(ReadControl().empty());
  EXPECT_EQ(rec->opens().size(), 0u);
  // Every buffer came back.
  int used = 0;
  while (queues_[3]->PopUsed()) ++used;
  EXPECT_EQ(used, 5);
  // And the device still works.
  EXPECT_EQ(Handshake().size(), 2u);
}

// A guest that repeats the handshake's requests and never posts a control
// receive buffer: the device's answers wait, but only one of each. Before,
// every request queued its answers anew (3 M kicks: +329 MB RSS in 2 s).
TEST_F(VirtioConsoleTest, RepeatedReadyRequestsDoNotGrowTheBacklog) {
  Start({{"con1", true, nullptr}, {"ssl0", false, nullptr}});
  for (int i = 0; i < 5000; ++i) {
    SendControl(kVirtioConsoleBadId, kVirtioConsoleDeviceReady, 1);
    SendControl(i % 2, kVirtioConsolePortReady, 1);
  }
  // PORT_ADD x2, and for each port PORT_NAME and PORT_OPEN (port 0 is also
  // a console: CONSOLE_PORT).
  EXPECT_EQ(console_->control_backlog(), 7u);
  std::vector<Message> got = ReadControl(12);
  EXPECT_EQ(got.size(), 7u);
  EXPECT_EQ(console_->control_backlog(), 0u);
  int adds = 0;
  for (const Message& m : got) adds += m.event == kVirtioConsolePortAdd;
  EXPECT_EQ(adds, 2);
}

TEST_F(VirtioConsoleTest, ResetForgetsEverythingAndStartsOver) {
  auto rec = std::make_shared<Recorder>();
  Start({{"ssl0", false, rec}});
  Handshake();
  SendControl(0, kVirtioConsolePortOpen, 1);
  rec->set_limit(0);
  Send(Tx(0), "held");
  driver_->SetStatus(0);  // reset while output is held
  EXPECT_FALSE(console_->stats(0).guest_open);
  EXPECT_EQ(console_->Input(0)->InputRoom(), 0u);
  rec->Allow(100);  // nothing left to resume
  EXPECT_EQ(rec->out(), "");
}

}  // namespace
}  // namespace kuml
