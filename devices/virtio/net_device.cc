#include "devices/virtio/net_device.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "devices/virtio/virtio_spec.h"

namespace kuml {
namespace {

constexpr size_t kHdr = kVirtioNetHdrBytes;
constexpr size_t kEthHeaderBytes = 14;
// Chains with more segments than this are linearized before sending
// (writev/sendmsg take at most IOV_MAX = 1024 pieces).
constexpr size_t kMaxTxSegments = 64;
constexpr size_t kNumBuffersOffset = offsetof(VirtioNetHdr, num_buffers);
constexpr size_t kCfgStatus = 6;

uint64_t OfferedFeatures(bool vnet) {
  uint64_t f = kVirtioFVersion1 | kVirtioFRingIndirectDesc |
               kVirtioFRingEventIdx | kVirtioNetFMac | kVirtioNetFStatus |
               kVirtioNetFMrgRxbuf;
  if (vnet) {
    f |= kVirtioNetFCsum | kVirtioNetFGuestCsum | kVirtioNetFHostTso4 |
         kVirtioNetFHostTso6 | kVirtioNetFHostEcn | kVirtioNetFGuestTso4 |
         kVirtioNetFGuestTso6 | kVirtioNetFGuestEcn;
  }
  return f;
}

}  // namespace

absl::StatusOr<std::unique_ptr<VirtioNet>> VirtioNet::Create(
    std::shared_ptr<NetTransport> transport, const Mac& mac, EventLoop* loop) {
  std::unique_ptr<VirtioNet> device(
      new VirtioNet(std::move(transport), mac, loop));
  VirtioNet* raw = device.get();
  absl::Status s = loop->Add(device->transport_->poll_fd(), EPOLLIN,
                             [raw](uint32_t) { raw->OnReadable(); });
  if (!s.ok()) return s;
  return device;
}

VirtioNet::VirtioNet(std::shared_ptr<NetTransport> transport, const Mac& mac,
                     EventLoop* loop)
    : transport_(std::move(transport)),
      mac_(mac),
      loop_(loop),
      vnet_(transport_->vnet_header()),
      features_(OfferedFeatures(vnet_)) {
  std::memcpy(config_.data(), mac_.data(), mac_.size());
  const uint16_t status = kVirtioNetSLinkUp;
  std::memcpy(config_.data() + kCfgStatus, &status, sizeof status);
  rx_buffer_.resize(kHdr + kMaxFrameBytes);
}

VirtioNet::~VirtioNet() { loop_->Remove(transport_->poll_fd()); }

uint32_t VirtioNet::device_type() const { return kVirtioIdNet; }

VirtioNet::Stats VirtioNet::stats() const {
  absl::MutexLock rx(&rx_mu_);
  absl::MutexLock tx(&tx_mu_);
  Stats s = rx_stats_;
  s.tx_frames = tx_stats_.tx_frames;
  s.tx_bytes = tx_stats_.tx_bytes;
  s.tx_malformed = tx_stats_.tx_malformed;
  s.tx_errors = tx_stats_.tx_errors;
  return s;
}

std::string VirtioNet::last_error() const {
  absl::MutexLock lock(&error_mu_);
  return last_error_;
}

void VirtioNet::NoteError(std::string message) {
  absl::MutexLock lock(&error_mu_);
  last_error_ = std::move(message);
}

void VirtioNet::ReadConfig(uint64_t offset, uint8_t* data, uint32_t size) {
  std::memset(data, 0, size);
  if (offset >= config_.size()) return;
  const uint64_t n = std::min<uint64_t>(size, config_.size() - offset);
  std::memcpy(data, config_.data() + offset, n);
}

void VirtioNet::WriteConfig(uint64_t, const uint8_t*, uint32_t) {
  // mac is writable only for legacy drivers without CTRL_MAC_ADDR; a
  // virtio 1.x driver never writes it, so every field stays read-only.
}

absl::Status VirtioNet::Activate(VirtioActivation activation) {
  if (activation.queues.size() != 2 || !activation.queues[kRxQueue]->ready() ||
      !activation.queues[kTxQueue]->ready()) {
    return absl::FailedPreconditionError(
        "virtio-net: the receive and transmit queues were not both set up");
  }
  const uint64_t f = activation.features;
  GuestOffloads offloads;
  offloads.csum = (f & kVirtioNetFGuestCsum) != 0;
  offloads.tso4 = (f & kVirtioNetFGuestTso4) != 0;
  offloads.tso6 = (f & kVirtioNetFGuestTso6) != 0;
  offloads.ecn = (f & kVirtioNetFGuestEcn) != 0;
  absl::Status s = transport_->SetGuestOffloads(offloads);
  if (!s.ok()) return s;

  absl::MutexLock rx(&rx_mu_);
  absl::MutexLock tx(&tx_mu_);
  rx_queue_ = activation.queues[kRxQueue];
  tx_queue_ = activation.queues[kTxQueue];
  rx_interrupt_ = tx_interrupt_ = activation.interrupt;
  mergeable_ = (f & kVirtioNetFMrgRxbuf) != 0;
  guest_csum_ = offloads.csum;
  rx_reported_broken_ = tx_reported_broken_ = false;
  ClearPending();
  rx_active_ = tx_active_ = true;
  SetPolling(true);
  return absl::OkStatus();
}

void VirtioNet::Reset() {
  absl::MutexLock rx(&rx_mu_);
  absl::MutexLock tx(&tx_mu_);
  rx_active_ = tx_active_ = false;
  rx_queue_ = tx_queue_ = nullptr;
  rx_interrupt_ = tx_interrupt_ = nullptr;
  // A frame half-copied into buffers the driver has taken back is lost.
  ClearPending();
  // Keep reading (and dropping) so the host side does not fill up.
  SetPolling(true);
  // The driver may have turned GUEST_CSUM/TSO off for the next activation.
  transport_->SetGuestOffloads(GuestOffloads{}).IgnoreError();
}

void VirtioNet::QueueNotify(uint16_t index) {
  if (index == kRxQueue) {
    absl::MutexLock lock(&rx_mu_);
    if (!rx_active_) return;
    // New buffers: finish the waiting frame, then read more.
    ReceiveFrames();
  } else if (index == kTxQueue) {
    absl::MutexLock lock(&tx_mu_);
    if (!tx_active_) return;
    TransmitFrames();
  }
}

// ---- receive ----------------------------------------------------------------

void VirtioNet::SetPolling(bool on) {
  if (polling_ == on) return;
  polling_ = on;
  (void)loop_->Modify(transport_->poll_fd(), on ? EPOLLIN : 0);
}

void VirtioNet::OnReadable() {
  absl::MutexLock lock(&rx_mu_);
  if (rx_active_) {
    ReceiveFrames();
    return;
  }
  for (int i = 0; i < kRxBatch; ++i) {
    absl::StatusOr<size_t> n = transport_->Receive(absl::MakeSpan(rx_buffer_));
    if (!n.ok() || *n == 0) break;
    ++rx_stats_.rx_dropped;
  }
}

void VirtioNet::ReceiveFrames() {
  const size_t offset = vnet_ ? 0 : kHdr;
  for (int i = 0; i < kRxBatch; ++i) {
    if (pending_ == 0) {
      absl::StatusOr<size_t> n =
          transport_->Receive(absl::MakeSpan(rx_buffer_).subspan(offset));
      if (!n.ok()) {
        NoteError(std::string(n.status().message()));
        break;
      }
      if (*n == 0) break;
      const size_t frame = vnet_ ? (*n < kHdr ? 0 : *n - kHdr) : *n;
      // Runts, and our own frames echoed back by a multicast group.
      if (frame < kEthHeaderBytes ||
          std::memcmp(rx_buffer_.data() + kHdr + 6, mac_.data(), 6) == 0) {
        ++rx_stats_.rx_dropped;
        continue;
      }
      VirtioNetHdr hdr{};
      if (vnet_) std::memcpy(&hdr, rx_buffer_.data(), kHdr);
      // Without GUEST_CSUM the guest may not be told about checksums at
      // all; the tap was told to hand over finished frames only.
      if (!guest_csum_) hdr = VirtioNetHdr{};
      hdr.num_buffers = 1;
      std::memcpy(rx_buffer_.data(), &hdr, kHdr);
      ClearPending();
      pending_ = kHdr + frame;
    }
    if (!DeliverPending()) {
      // Out of guest buffers: stop reading until the guest adds some.
      SetPolling(false);
      break;
    }
  }
  if (pending_ == 0) SetPolling(true);
  SignalRx();
}

bool VirtioNet::DeliverPending() {
  while (rx_written_ < pending_) {
    absl::optional<DescriptorChain> chain = rx_queue_->Pop();
    if (!chain.has_value()) return false;
    const size_t left = pending_ - rx_written_;
    if (!mergeable_ && chain->writable_bytes() < left) {
      // Does not fit the one buffer it may use: drop it, return the buffer.
      rx_queue_->AddUsed(chain->head(), 0);
      rx_signal_ = true;
      ++rx_stats_.rx_dropped;
      pending_ = 0;
      return true;
    }
    const uint64_t n = chain->CopyToWritable(
        0, absl::MakeConstSpan(rx_buffer_.data() + rx_written_, left));
    if (n == 0) {
      // A chain with nothing writable is no receive buffer.
      rx_queue_->AddUsed(chain->head(), 0);
      rx_signal_ = true;
      continue;
    }
    // The chains stay ours until the whole frame is in; the first one's
    // header then gets the buffer count.
    const uint16_t head = chain->head();
    if (rx_used_.empty()) rx_first_.emplace(*std::move(chain));
    rx_used_.emplace_back(head, static_cast<uint32_t>(n));
    rx_written_ += n;
  }
  if (rx_used_.size() > 1) {
    const uint16_t count = static_cast<uint16_t>(rx_used_.size());
    rx_first_->CopyToWritable(
        kNumBuffersOffset,
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(&count), 2));
  }
  for (const auto& [head, len] : rx_used_) rx_queue_->AddUsed(head, len);
  ++rx_stats_.rx_frames;
  rx_stats_.rx_bytes += pending_ - kHdr;
  rx_signal_ = true;
  ClearPending();
  return true;
}

void VirtioNet::ClearPending() {
  pending_ = 0;
  rx_written_ = 0;
  rx_used_.clear();
  rx_first_.reset();
}

void VirtioNet::SignalRx() {
  if (rx_queue_->broken() && !rx_reported_broken_) {
    rx_reported_broken_ = true;
    rx_interrupt_->SignalNeedsReset(rx_queue_->last_error());
  }
  if (!rx_signal_) return;
  rx_signal_ = false;
  if (rx_queue_->NeedsInterrupt()) rx_interrupt_->SignalUsedBuffers();
}

// ---- transmit ---------------------------------------------------------------

void VirtioNet::TransmitFrames() {
  bool sent = false;
  while (absl::optional<DescriptorChain> chain = tx_queue_->Pop()) {
    TransmitChain(*chain);
    tx_queue_->AddUsed(chain->head(), 0);
    sent = true;
  }
  if (tx_queue_->broken() && !tx_reported_broken_) {
    tx_reported_broken_ = true;
    tx_interrupt_->SignalNeedsReset(tx_queue_->last_error());
  }
  if (sent && tx_queue_->NeedsInterrupt()) tx_interrupt_->SignalUsedBuffers();
}

void VirtioNet::TransmitChain(const DescriptorChain& chain) {
  const uint64_t total = chain.readable_bytes();
  if (total < kHdr + kEthHeaderBytes || total > kHdr + kMaxFrameBytes) {
    ++tx_stats_.tx_malformed;
    return;
  }
  // The transport gets the header only if it understands it.
  const uint64_t skip = vnet_ ? 0 : kHdr;
  const uint64_t len = total - skip;
  tx_iov_.clear();
  absl::Status s;
  if (chain.readable().size() <= kMaxTxSegments) {
    s = chain.ForEachReadable(
        skip, len, [this](absl::Span<const uint8_t> piece) {
          tx_iov_.push_back({const_cast<uint8_t*>(piece.data()), piece.size()});
          return absl::OkStatus();
        });
  } else {
    tx_bounce_.resize(len);
    chain.CopyFromReadable(skip, absl::MakeSpan(tx_bounce_));
    tx_iov_.push_back({tx_bounce_.data(), len});
  }
  if (s.ok()) s = transport_->Send(absl::MakeConstSpan(tx_iov_));
  if (!s.ok()) {
    ++tx_stats_.tx_errors;
    NoteError(std::string(s.message()));
    return;
  }
  ++tx_stats_.tx_frames;
  tx_stats_.tx_bytes += total - kHdr;
}

}  // namespace kuml
