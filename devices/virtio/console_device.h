// VirtioConsole: a virtio-console device (virtio 1.x spec 5.3) with
// VIRTIO_CONSOLE_F_MULTIPORT, carrying several independent lines ("ports")
// to the guest.
//
// Each port has a name, sent with VIRTIO_CONSOLE_PORT_NAME, so the guest
// finds it in /sys/class/virtio-ports/vport<D>p<P>/name ("con1", "ssl0",
// "org.kuml.agent" ...), and is either
//  * a console port: Linux makes it an hvc tty. hvc ttys are numbered in
//    the order their ports are announced (hvc0, hvc1, ...), and Linux has
//    only 8 of them (HVC_ALLOC_TTY_ADAPTERS in drivers/tty/hvc), shared by
//    every virtio-console device: a 9th console port gets no tty; or
//  * a plain port: the character device /dev/vport<D>p<P> (no termios).
//
// The host side of a port is a ConsolePortHandler: an in-process peer (a
// guest agent's protocol) or, through ConsoleChannelPort, a host channel.
// Guest output is offered to the handler, which may take less than offered
// (its host side is full): the device then keeps the guest's buffer -- the
// guest is back-pressured, nothing is dropped -- until the handler calls
// ResumeOutput(). Guest input goes through the port's InputSink (Input()):
// its room is what the guest has posted in the port's receive queue, and
// zero while the guest has not opened the port (Linux discards data for a
// port nobody has open).
//
// Queues (spec 5.3.2): 0/1 port 0 receive/transmit, 2/3 control
// receive/transmit, then 2 + 2p / 3 + 2p for port p >= 1. Control flow
// (spec 5.3.6.2): the driver sends DEVICE_READY, we send PORT_ADD for every
// port, it answers PORT_READY per port, and we send CONSOLE_PORT (console
// ports), PORT_NAME and PORT_OPEN(1) (the host side is always connected;
// a port: channel without a client just holds the output). The driver's
// PORT_OPEN says when a guest program opened or closed a plain port;
// console ports are open from the start.
//
// Threads: QueueNotify on any thread (the event loop's ioeventfd handler in
// the Machine); handler calls happen without the device lock, so a handler
// may call back into Input()/ResumeOutput() from inside them. A hostile
// driver (bad chains, bogus control messages, unknown port ids) gets its
// buffers back and never reaches a handler with out-of-range data.
#ifndef KUML_DEVICES_VIRTIO_CONSOLE_DEVICE_H_
#define KUML_DEVICES_VIRTIO_CONSOLE_DEVICE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/optional.h"
#include "absl/types/span.h"
#include "devices/chan/input_sink.h"
#include "devices/virtio/descriptor_chain.h"
#include "devices/virtio/virtio_device.h"

namespace kuml {

class VirtioConsole;

// The host side of one port.
class ConsolePortHandler {
 public:
  virtual ~ConsolePortHandler() = default;
  // Called once by the device's constructor, before anything else: the
  // device and port number to use for Input() and ResumeOutput().
  virtual void Bind(VirtioConsole* console, uint32_t port) {}
  // Bytes the guest wrote. Returns how many were taken, in order; fewer
  // than offered means "full": call console->ResumeOutput(port) when more
  // can be taken. Never called concurrently for one port. Must not block:
  // it may run on a vCPU thread (see NotifyInVcpu).
  virtual size_t OnGuestOutput(absl::Span<const uint8_t> data) = 0;
  // A guest program opened (true) or closed (false) the port.
  virtual void OnGuestOpen(bool open) {}
};

class VirtioConsole : public VirtioDevice {
 public:
  static constexpr uint16_t kControlQueueSize = 32;
  // Linux fills every port's receive queue with one page per entry, so the
  // size is guest memory: 16 pages a port.
  static constexpr uint16_t kReceiveQueueSize = 16;
  static constexpr uint16_t kTransmitQueueSize = 64;
  // Ports per device (virtio_console.c VIRTCONS_MAX_PORTS is 0x8000; this
  // is kuml's bound: 16 consoles + 64 serial lines + a few agents).
  static constexpr uint32_t kMaxPorts = 128;
  static constexpr size_t kMaxNameBytes = 255;
  static constexpr size_t kConfigBytes = 12;

  struct PortConfig {
    std::string name;  // empty: no PORT_NAME
    bool console = false;
    // Null: output discarded, no input. Shared so that a caller can keep a
    // handler across reboots (a new device per boot) or hand it over.
    std::shared_ptr<ConsolePortHandler> handler;
  };

  // What went through a port (tests, benchmarks).
  struct PortStats {
    uint64_t bytes_out = 0;  // guest -> host, taken by the handler
    uint64_t bytes_in = 0;   // host -> guest
    bool guest_open = false;
  };

  // 1..kMaxPorts ports, names at most kMaxNameBytes (checked by the caller;
  // longer names are cut).
  explicit VirtioConsole(std::vector<PortConfig> ports);
  ~VirtioConsole() override;

  uint32_t port_count() const { return static_cast<uint32_t>(ports_.size()); }
  // The port's input, for the host side to feed. Valid for the device's
  // life.
  InputSink* Input(uint32_t port);
  // The handler can take output again (see OnGuestOutput).
  void ResumeOutput(uint32_t port);
  PortStats stats(uint32_t port) const;
  // Control messages waiting for the guest to post control buffers (tests):
  // at most four per port, whatever the guest sends.
  size_t control_backlog() const;

  // VirtioDevice:
  uint32_t device_type() const override;
  uint64_t device_features() const override;
  uint16_t num_queues() const override;
  uint16_t queue_max_size(uint16_t index) const override;
  void ReadConfig(uint64_t offset, uint8_t* data, uint32_t size) override;
  void WriteConfig(uint64_t offset, const uint8_t* data,
                   uint32_t size) override;
  absl::Status Activate(VirtioActivation activation) override;
  void QueueNotify(uint16_t index) override;
  // Transmit queues (data and control): Linux's driver spins until the host
  // returns each buffer, so serving them on the kicking vCPU saves a thread
  // hand-off per write. Their handling never blocks.
  bool NotifyInVcpu(uint16_t index) const override { return index % 2 == 1; }
  void Reset() override;

 private:
  class PortInput;
  struct Port {
    PortConfig config;
    std::unique_ptr<PortInput> input;
    // Guarded by the device's mu_.
    bool guest_open = false;
    absl::optional<DescriptorChain> rx_chain;  // popped for InputRoom
    bool room_zero = true;                     // room callback due
    std::function<void()> room_callback;
    absl::optional<DescriptorChain> tx_chain;  // being handed to the handler
    uint64_t tx_offset = 0;
    bool tx_running = false;  // one ProcessOutput at a time per port
    bool tx_again = false;    // a kick arrived while it ran
    PortStats stats;
  };

  static uint16_t ReceiveQueue(uint32_t port);
  static uint16_t TransmitQueue(uint32_t port);

  void ProcessOutput(uint32_t port);
  void ProcessControl();
  // Handles one guest control message; work for outside the lock (handler
  // calls, room callbacks) goes to `after`.
  void HandleControl(const uint8_t* message, size_t len,
                     std::vector<std::function<void()>>* after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendControl(uint32_t id, uint16_t event, uint16_t value,
                   absl::string_view extra = {})
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FlushControl() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SignalIfNeeded(Virtqueue* queue) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CheckBroken(Virtqueue* queue) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queue `index` when active and ready, else null.
  Virtqueue* QueueLocked(uint16_t index) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The room callback of `port`, if it is due now (to run without mu_).
  std::function<void()> RoomReturnedLocked(Port& port)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  size_t InputRoom(uint32_t port);
  size_t ReceiveInput(uint32_t port, absl::Span<const uint8_t> bytes);
  void SetRoomCallback(uint32_t port, std::function<void()> callback);

  std::vector<Port> ports_;  // the vector itself never changes size

  mutable absl::Mutex mu_;
  bool active_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;  // bumped by Reset()
  std::vector<Virtqueue*> queues_ ABSL_GUARDED_BY(mu_);
  VirtioInterrupt* interrupt_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool reported_broken_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::string> control_out_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kuml

#endif  // KUML_DEVICES_VIRTIO_CONSOLE_DEVICE_H_
