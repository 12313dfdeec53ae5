// NetTestGuest: the guest side of a VirtioNet played by a test or a
// benchmark, without KVM: guest RAM, the virtio-mmio transport, and a
// driver that negotiates like Linux's virtio_net, keeps the receive queue
// stocked with one-descriptor buffers and sends one-descriptor frames.
// Interrupts arrive on an eventfd (irq_fd()) so a pump can poll() on them.
//
// Not thread-safe: one thread drives it (the device itself runs its receive
// path on the event loop given to Create()).
#ifndef KUML_DEVICES_VIRTIO_NET_TEST_GUEST_H_
#define KUML_DEVICES_VIRTIO_NET_TEST_GUEST_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "devices/net/net_transport.h"
#include "devices/virtio/mmio_transport.h"
#include "devices/virtio/net_device.h"
#include "devices/virtio/test_driver.h"
#include "util/unique_fd.h"
#include "vmm/event_loop.h"
#include "vmm/guest_memory.h"
#include "vmm/interrupt_line.h"

namespace kuml {

class EventFdInterruptLine : public InterruptLine {
 public:
  EventFdInterruptLine();
  void SetLevel(bool high) override;
  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
};

class NetTestGuest {
 public:
  struct Options {
    uint64_t features = 0;            // what the driver accepts (& offered)
    uint32_t rx_buffer_bytes = 4096;  // each posted receive buffer
    uint16_t queue_size = 256;
  };

  static absl::StatusOr<std::unique_ptr<NetTestGuest>> Create(
      std::shared_ptr<NetTransport> transport, const VirtioNet::Mac& mac,
      EventLoop* loop, const Options& options);

  VirtioNet* device() const { return device_; }
  MmioTransport* transport() const { return transport_.get(); }
  MmioTestDriver* driver() { return &driver_; }
  GuestMemory* memory() const { return memory_.get(); }
  TestQueue* rx_queue() { return rx_.get(); }
  TestQueue* tx_queue() { return tx_.get(); }
  int irq_fd() const { return irq_.fd(); }
  uint64_t negotiated() const { return negotiated_; }

  // Fills the receive queue with buffers (all slots) and notifies.
  void StockRx();
  // Sends one frame: `packet` is the virtio header + ethernet frame.
  // False when the transmit queue is full.
  bool Send(const std::string& packet);
  // Completed frames (header + frame, buffers merged), in order; restocks.
  std::vector<std::string> Receive();
  // What the interrupt handler does: read and ack InterruptStatus.
  uint32_t AckInterrupt();

 private:
  NetTestGuest(std::unique_ptr<GuestMemory> memory, const Options& options);

  std::unique_ptr<GuestMemory> memory_;
  Options options_;
  GuestAllocator alloc_;
  EventFdInterruptLine irq_;
  std::unique_ptr<TestQueue> rx_;
  std::unique_ptr<TestQueue> tx_;
  std::unique_ptr<MmioTransport> transport_;
  VirtioNet* device_ = nullptr;
  MmioTestDriver driver_{nullptr};
  uint64_t negotiated_ = 0;
  uint64_t rx_area_ = 0, tx_area_ = 0;
  uint16_t rx_posted_ = 0, tx_next_ = 0, tx_in_flight_ = 0;
  // A merged frame whose buffers have not all been used yet.
  std::string partial_;
  uint16_t partial_left_ = 0;
};

// Pumps between a kernel stack's tap (vnet headers on) and a NetTestGuest
// on a thread: the stack's frames become the guest's transmissions and what
// the guest receives goes back into the stack, as a guest kernel would. So
// a namespace's TCP/IP stack drives the device as a guest would.
class GuestPump {
 public:
  GuestPump(NetTransport* tap, NetTestGuest* guest);
  ~GuestPump();

 private:
  void Run();
  NetTransport* tap_;
  NetTestGuest* guest_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace kuml

#endif  // KUML_DEVICES_VIRTIO_NET_TEST_GUEST_H_
