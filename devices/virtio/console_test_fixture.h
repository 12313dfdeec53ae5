// A test fixture that plays Linux's virtio_console driver against a
// VirtioConsole through the real virtio-mmio transport (no KVM): queue
// setup, the control handshake, transmit and receive buffers.
#ifndef KUML_DEVICES_VIRTIO_CONSOLE_TEST_FIXTURE_H_
#define KUML_DEVICES_VIRTIO_CONSOLE_TEST_FIXTURE_H_

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "devices/virtio/console_device.h"
#include "devices/virtio/mmio_transport.h"
#include "devices/virtio/test_driver.h"
#include "devices/virtio/virtio_spec.h"
#include "gtest/gtest.h"
#include "vmm/guest_memory.h"

namespace kuml {

struct Message {
  uint32_t id;
  uint16_t event;
  uint16_t value;
  std::string extra;
};

class ConsoleDriverFixture : public ::testing::Test {
 protected:
  static constexpr uint64_t kFeatures =
      kVirtioFVersion1 | kVirtioConsoleFMultiport | kVirtioFRingEventIdx |
      kVirtioFRingIndirectDesc;
  static constexpr uint16_t kQueue = 16;

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
      queues_.push_back(
          std::make_unique<TestQueue>(mem_.get(), &alloc_, kQueue));
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
      EXPECT_TRUE(
          mem_->Read(control_buffers_[used->id], raw.data(), raw.size()).ok());
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

}  // namespace kuml

#endif  // KUML_DEVICES_VIRTIO_CONSOLE_TEST_FIXTURE_H_
