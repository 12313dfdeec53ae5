// VirtioNet: a virtio-net device (virtio 1.x spec 5.1) whose wire is a
// NetTransport (tap, uml_switch port, UDP multicast, libslirp, ...).
//
// Queues: 0 receive, 1 transmit, kQueueSize entries each; no control queue,
// one queue pair. Offered features: VERSION_1, MAC, STATUS (link always up),
// MRG_RXBUF, RING_INDIRECT_DESC, RING_EVENT_IDX; when the transport carries
// vnet headers (a tap) also CSUM, GUEST_CSUM, HOST_TSO4/6/ECN and
// GUEST_TSO4/6/ECN -- the guest then hands the host unsegmented 64 KiB TCP
// frames with partial checksums and receives them the same way, which is
// what makes a tap fast. Other transports carry plain ethernet frames, so
// the guest finishes checksums and segments itself.
//
// Transmit: each chain is one frame (header + data) in its readable part.
// Chains shorter than a header plus an ethernet header, or longer than
// header + kMaxFrameBytes, are returned unsent (counted as tx_malformed).
// The frame goes to the transport straight from guest memory (scatter-
// gather), without the header unless the transport takes it.
//
// Receive: frames are read from the transport's fd on the event loop into a
// bounce buffer, then copied into the guest's receive buffers: with
// MRG_RXBUF into as many chains as it takes (num_buffers says how many),
// without it into one chain, and a frame that does not fit the chain is
// dropped (the chain goes back with length 0, which Linux counts as a
// length error). When the guest has posted no buffers the frame waits and
// the fd is no longer polled, so back-pressure reaches the host socket; the
// guest's next receive-queue notification resumes it. Frames carrying this
// device's own MAC as source (a multicast group echoing what we sent) are
// dropped. While the driver has not activated the device, arriving frames
// are read and dropped, as a NIC with its link down would.
//
// Every descriptor the guest supplies is checked by Virtqueue::Pop(); this
// class only uses the validated segments and never trusts a length it did
// not compute.
//
// Threads: the receive path runs on the event loop thread (fd readable) and
// wherever receive-queue notifications come from; transmit wherever
// transmit-queue notifications come from. Each direction has its own lock.
// The event loop must not be running callbacks when the device is destroyed
// (Machine destroys devices after its loop stopped).
#ifndef KUML_DEVICES_VIRTIO_NET_DEVICE_H_
#define KUML_DEVICES_VIRTIO_NET_DEVICE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "devices/net/net_transport.h"
#include "devices/virtio/descriptor_chain.h"
#include "devices/virtio/virtio_device.h"
#include "vmm/event_loop.h"

namespace kuml {

class VirtioNet : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr uint16_t kRxQueue = 0;
  static constexpr uint16_t kTxQueue = 1;
  static constexpr size_t kConfigBytes = 8;  // mac[6], status
  // Frames read per wake-up before going back to the loop (fairness
  // between devices and the vCPU notifications served on the same loop).
  static constexpr int kRxBatch = 64;

  using Mac = std::array<uint8_t, 6>;

  struct Stats {
    uint64_t rx_frames = 0;   // delivered to the guest
    uint64_t rx_bytes = 0;    // of those, without the virtio header
    uint64_t rx_dropped = 0;  // inactive device, did not fit, own echo
    uint64_t tx_frames = 0;   // handed to the transport
    uint64_t tx_bytes = 0;
    uint64_t tx_malformed = 0;  // chains too short or too long
    uint64_t tx_errors = 0;     // transport refused (see last_error)
  };

  // Registers the transport's fd with `loop` (which must outlive the
  // device). The transport may be shared with the device of the next boot.
  static absl::StatusOr<std::unique_ptr<VirtioNet>> Create(
      std::shared_ptr<NetTransport> transport, const Mac& mac, EventLoop* loop);
  ~VirtioNet() override;

  const Mac& mac() const { return mac_; }
  NetTransport* transport() const { return transport_.get(); }
  Stats stats() const;
  std::string last_error() const;

  // VirtioDevice:
  uint32_t device_type() const override;
  uint64_t device_features() const override { return features_; }
  uint16_t num_queues() const override { return 2; }
  uint16_t queue_max_size(uint16_t) const override { return kQueueSize; }
  void ReadConfig(uint64_t offset, uint8_t* data, uint32_t size) override;
  void WriteConfig(uint64_t offset, const uint8_t* data,
                   uint32_t size) override;
  absl::Status Activate(VirtioActivation activation) override;
  void QueueNotify(uint16_t index) override;
  void Reset() override;

 private:
  VirtioNet(std::shared_ptr<NetTransport> transport, const Mac& mac,
            EventLoop* loop);

  // Event loop: the transport's fd is readable.
  void OnReadable();
  // Reads and delivers frames until the transport is empty, the guest has
  // no buffers or the batch is done.
  void ReceiveFrames() ABSL_EXCLUSIVE_LOCKS_REQUIRED(rx_mu_);
  // Copies the pending frame into guest buffers. False when the guest ran
  // out of buffers before it was done (the frame stays pending).
  bool DeliverPending() ABSL_EXCLUSIVE_LOCKS_REQUIRED(rx_mu_);
  void ClearPending() ABSL_EXCLUSIVE_LOCKS_REQUIRED(rx_mu_);
  void SetPolling(bool on) ABSL_EXCLUSIVE_LOCKS_REQUIRED(rx_mu_);
  void SignalRx() ABSL_EXCLUSIVE_LOCKS_REQUIRED(rx_mu_);

  void TransmitFrames() ABSL_EXCLUSIVE_LOCKS_REQUIRED(tx_mu_);
  void TransmitChain(const DescriptorChain& chain)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(tx_mu_);

  void NoteError(std::string message) ABSL_LOCKS_EXCLUDED(error_mu_);

  const std::shared_ptr<NetTransport> transport_;
  const Mac mac_;
  EventLoop* const loop_;
  const bool vnet_;
  const uint64_t features_;
  std::array<uint8_t, kConfigBytes> config_{};

  // Counters of each direction live under that direction's lock.
  mutable absl::Mutex rx_mu_ ABSL_ACQUIRED_BEFORE(tx_mu_);
  Stats rx_stats_ ABSL_GUARDED_BY(rx_mu_);
  bool rx_active_ ABSL_GUARDED_BY(rx_mu_) = false;
  Virtqueue* rx_queue_ ABSL_GUARDED_BY(rx_mu_) = nullptr;
  VirtioInterrupt* rx_interrupt_ ABSL_GUARDED_BY(rx_mu_) = nullptr;
  bool mergeable_ ABSL_GUARDED_BY(rx_mu_) = false;
  bool guest_csum_ ABSL_GUARDED_BY(rx_mu_) = false;
  bool polling_ ABSL_GUARDED_BY(rx_mu_) = true;
  bool rx_reported_broken_ ABSL_GUARDED_BY(rx_mu_) = false;
  // Header + frame as read from the transport; pending_ bytes of it wait
  // for guest buffers (0: none).
  std::vector<uint8_t> rx_buffer_ ABSL_GUARDED_BY(rx_mu_);
  size_t pending_ ABSL_GUARDED_BY(rx_mu_) = 0;
  // MRG_RXBUF: chains already filled with the first part of the pending
  // frame, and how much went into each.
  std::vector<std::pair<uint16_t, uint32_t>> rx_used_ ABSL_GUARDED_BY(rx_mu_);
  absl::optional<DescriptorChain> rx_first_ ABSL_GUARDED_BY(rx_mu_);
  size_t rx_written_ ABSL_GUARDED_BY(rx_mu_) = 0;
  bool rx_signal_ ABSL_GUARDED_BY(rx_mu_) = false;

  mutable absl::Mutex tx_mu_ ABSL_ACQUIRED_BEFORE(error_mu_);
  Stats tx_stats_ ABSL_GUARDED_BY(tx_mu_);
  bool tx_active_ ABSL_GUARDED_BY(tx_mu_) = false;
  Virtqueue* tx_queue_ ABSL_GUARDED_BY(tx_mu_) = nullptr;
  VirtioInterrupt* tx_interrupt_ ABSL_GUARDED_BY(tx_mu_) = nullptr;
  bool tx_reported_broken_ ABSL_GUARDED_BY(tx_mu_) = false;
  std::vector<iovec> tx_iov_ ABSL_GUARDED_BY(tx_mu_);
  std::vector<uint8_t> tx_bounce_ ABSL_GUARDED_BY(tx_mu_);

  mutable absl::Mutex error_mu_;
  std::string last_error_ ABSL_GUARDED_BY(error_mu_);
};

}  // namespace kuml

#endif  // KUML_DEVICES_VIRTIO_NET_DEVICE_H_
