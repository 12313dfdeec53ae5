// VirtioConsole driven from the guest's side through the real virtio-mmio
// transport, the way Linux's virtio_console driver uses it (no KVM).
#include "devices/virtio/console_device.h"

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "devices/virtio/mmio_transport.h"
#include "devices/virtio/test_driver.h"
#include "devices/virtio/virtio_spec.h"
#include "gtest/gtest.h"
#include "vmm/guest_memory.h"

namespace kuml {
namespace {

constexpr uint64_t kFeatures = kVirtioFVersion1 | kVirtioConsoleFMultiport |
                               kVirtioFRingEventIdx | kVirtioFRingIndirectDesc;
constexpr uint16_t kQueue = 16;

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

struct Message {
  uint32_t id;
  uint16_t event;
  uint16_t value;
  std::string extra;
};

class VirtioConsoleTest : public ::testing::Test {
 protected:
  void Start(std::vector<VirtioConsole::PortConfig> ports) {
    auto m = GuestMemory::Create(16 << 20);
    ASSERT_TRUE(m.ok());
    mem_ = std::move(*m);
    auto dev = std::make_unique<VirtioConsole>(std::move(ports));
    console_ = dev.get();
    transport_ =
        std::make_unique<MmioTransport>(std::move(dev), mem_.get(), &irq_);
    driver_ = std::make_unique<MmioTestDriver>(transport_.get());
    std::vector<TestQueue*> queues;
    for (uint16_t i = 0; i < console_->num_queues(); ++i) {
      queues_.push_back(std::make_unique<TestQueue>(mem_.get(), &alloc_, kQueue));
      queues.push_back(queues_.back().get());
    }
    ASSERT_TRUE(driver_->Initialize(kFeatures, queues).ok());
  }

  static uint16_t Rx(uint32_t port) { return port == 0 ? 0 : 2 + 2 * port; }
  static uint16_t Tx(uint32_t port) { return port == 0 ? 1 : 3 + 2 * port; }

  uint64_t Put(const std::string& bytes) {
    uint64_t gpa = alloc_.Alloc(std::max<size_t>(bytes.size(), 1), 8);
    EXPECT_TRUE(mem_->Write(gpa, bytes.data(), bytes.size()).ok());
    return gpa;
  }

  // Posts a device-writable buffer of `len` bytes on queue `q`.
  uint64_t PostReceive(uint16_t q, uint32_t len) {
    uint64_t gpa = Put(std::string(len, '\0'));
    queues_[q]->Publish(queues_[q]->AddChain({{gpa, len, true}}));
    driver_->Notify(q);
    return gpa;
  }
  uint16_t Send(uint16_t q, const std::string& bytes) {
    uint16_t head = queues_[q]->AddChain(
        {{Put(bytes), static_cast<uint32_t>(bytes.size()), false}});
    queues_[q]->Publish(head);
    driver_->Notify(q);
    return head;
  }
  void SendControl(uint32_t id, uint16_t event, uint16_t value) {
    VirtioConsoleControl c{id, event, value};
    Send(3, std::string(reinterpret_cast<char*>(&c), sizeof c));
  }
  // Posts `n` control buffers and collects every message the device sent.
  std::vector<Message> ReadControl(int n = 4) {
    std::vector<Message> out;
    // Buffers left over from an earlier call are used first. (TestQueue
    // hands out descriptors round-robin: a test posts at most 16 in all.)
    for (int i = 0; i < n; ++i) {
      uint64_t gpa = Put(std::string(256, '\0'));
      uint16_t head = queues_[2]->AddChain({{gpa, 256, true}});
      queues_[2]->Publish(head);
      control_buffers_[head] = gpa;
    }
    driver_->Notify(2);
    for (;;) {
      auto used = queues_[2]->PopUsed();
      if (!used) break;
      std::string raw(used->len, '\0');
      EXPECT_TRUE(mem_->Read(control_buffers_[used->id], raw.data(), raw.size())
                      .ok());
      Message m{};
      if (raw.size() >= 8) {
        std::memcpy(&m.id, raw.data(), 4);
        std::memcpy(&m.event, raw.data() + 4, 2);
        std::memcpy(&m.value, raw.data() + 6, 2);
        m.extra = raw.substr(8);
      }
      out.push_back(m);
    }
    return out;
  }
  // DEVICE_READY, PORT_READY for every port: Linux's probe.
  std::vector<Message> Handshake() {
    SendControl(kVirtioConsoleBadId, kVirtioConsoleDeviceReady, 1);
    std::vector<Message> adds = ReadControl();
    for (const Message& m : adds) {
      EXPECT_EQ(m.event, kVirtioConsolePortAdd);
      SendControl(m.id, kVirtioConsolePortReady, 1);
    }
    return ReadControl(4);
  }
  std::string ReadGuest(uint64_t gpa, uint32_t len) {
    std::string s(len, '\0');
    EXPECT_TRUE(mem_->Read(gpa, s.data(), len).ok());
    return s;
  }

  std::unique_ptr<GuestMemory> mem_;
  GuestAllocator alloc_;
  FakeInterruptLine irq_;
  VirtioConsole* console_ = nullptr;
  std::unique_ptr<MmioTransport> transport_;
  std::unique_ptr<MmioTestDriver> driver_;
  std::vector<std::unique_ptr<TestQueue>> queues_;
  std::map<uint16_t, uint64_t> control_buffers_;  // head -> buffer
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
  EXPECT_EQ(m[0].event, kVirtioConsoleConsolePort);
  EXPECT_EQ(m[0].value, 1);
  EXPECT_EQ(m[1].event, kVirtioConsolePortName);
  EXPECT_EQ(m[1].extra, "con1");
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
  Send(3, "abc");                                   // too short
  SendControl(99, kVirtioConsolePortReady, 1);      // no such port
  SendControl(99, kVirtioConsolePortOpen, 1);
  SendControl(0, 0x7777, 1);                        // unknown event
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
