#include "devices/virtio/net_test_guest.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "devices/virtio/virtio_spec.h"

namespace kuml {
namespace {

constexpr uint64_t kTxSlotBytes = 72 * 1024;  // header + largest frame
constexpr uint64_t kGuestRam = 64ull << 20;

}  // namespace

EventFdInterruptLine::EventFdInterruptLine()
    : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

void EventFdInterruptLine::SetLevel(bool high) {
  if (!high) return;
  uint64_t one = 1;
  (void)!::write(fd_.get(), &one, sizeof one);
}

NetTestGuest::NetTestGuest(std::unique_ptr<GuestMemory> memory,
                           const Options& options)
    : memory_(std::move(memory)), options_(options) {}

absl::StatusOr<std::unique_ptr<NetTestGuest>> NetTestGuest::Create(
    std::shared_ptr<NetTransport> transport, const VirtioNet::Mac& mac,
    EventLoop* loop, const Options& options) {
  absl::StatusOr<std::unique_ptr<GuestMemory>> memory =
      GuestMemory::Create(kGuestRam);
  if (!memory.ok()) return memory.status();
  std::unique_ptr<NetTestGuest> g(
      new NetTestGuest(*std::move(memory), options));
  absl::StatusOr<std::unique_ptr<VirtioNet>> device =
      VirtioNet::Create(std::move(transport), mac, loop);
  if (!device.ok()) return device.status();
  g->device_ = device->get();
  g->transport_ = std::make_unique<MmioTransport>(*std::move(device),
                                                  g->memory_.get(), &g->irq_);
  g->driver_ = MmioTestDriver(g->transport_.get());
  g->rx_ = std::make_unique<TestQueue>(g->memory_.get(), &g->alloc_,
                                       options.queue_size);
  g->tx_ = std::make_unique<TestQueue>(g->memory_.get(), &g->alloc_,
                                       options.queue_size);
  g->rx_area_ = g->alloc_.Alloc(
      uint64_t{options.rx_buffer_bytes} * options.queue_size, 4096);
  g->tx_area_ = g->alloc_.Alloc(kTxSlotBytes * options.queue_size, 4096);
  absl::Status s =
      g->driver_.Initialize(options.features, {g->rx_.get(), g->tx_.get()});
  if (!s.ok()) return s;
  g->negotiated_ = options.features & g->device_->device_features();
  return g;
}

void NetTestGuest::StockRx() {
  bool added = false;
  while (rx_posted_ < options_.queue_size) {
    // One-descriptor chains complete in order, so descriptor i always
    // holds buffer i.
    const uint16_t head = rx_->AddChain({{0, 0, true}});
    rx_->WriteDesc(head, rx_area_ + uint64_t{head} * options_.rx_buffer_bytes,
                   options_.rx_buffer_bytes, kVirtqDescFWrite, 0);
    rx_->Publish(head);
    ++rx_posted_;
    added = true;
  }
  if (added) driver_.Notify(VirtioNet::kRxQueue);
}

bool NetTestGuest::Send(const std::string& packet) {
  while (absl::optional<VirtqUsedElem> done = tx_->PopUsed()) --tx_in_flight_;
  if (tx_in_flight_ == options_.queue_size || packet.size() > kTxSlotBytes) {
    return false;
  }
  const uint64_t gpa = tx_area_ + kTxSlotBytes * tx_next_;
  memory_->Write(gpa, packet.data(), packet.size()).IgnoreError();
  const uint16_t head =
      tx_->AddChain({{gpa, static_cast<uint32_t>(packet.size()), false}});
  tx_next_ = (tx_next_ + 1) % options_.queue_size;
  ++tx_in_flight_;
  tx_->Publish(head);
  driver_.Notify(VirtioNet::kTxQueue);
  return true;
}

std::vector<std::string> NetTestGuest::Receive() {
  std::vector<std::string> frames;
  while (absl::optional<VirtqUsedElem> used = rx_->PopUsed()) {
    --rx_posted_;
    std::string data(used->len, '\0');
    memory_
        ->Read(rx_area_ + uint64_t{used->id} * options_.rx_buffer_bytes,
               data.data(), data.size())
        .IgnoreError();
    if (partial_left_ > 0) {
      partial_ += data;
      if (--partial_left_ == 0) frames.push_back(std::move(partial_));
      continue;
    }
    uint16_t buffers = 1;
    if ((negotiated_ & kVirtioNetFMrgRxbuf) && data.size() >= 12) {
      std::memcpy(&buffers, data.data() + 10, 2);
    }
    if (buffers > 1) {
      partial_ = std::move(data);
      partial_left_ = buffers - 1;
    } else {
      frames.push_back(std::move(data));
    }
  }
  StockRx();
  return frames;
}

uint32_t NetTestGuest::AckInterrupt() {
  uint64_t count;
  (void)!::read(irq_.fd(), &count, sizeof count);
  return driver_.AckInterrupt();
}

GuestPump::GuestPump(NetTransport* tap, NetTestGuest* guest)
    : tap_(tap), guest_(guest) {
  thread_ = std::thread([this] { Run(); });
}

GuestPump::~GuestPump() {
  stop_ = true;
  thread_.join();
}

void GuestPump::Run() {
  guest_->StockRx();
  std::vector<uint8_t> buf(kMaxFrameBytes + kVirtioNetHdrBytes);
  while (!stop_) {
    pollfd fds[2] = {{tap_->poll_fd(), POLLIN, 0},
                     {guest_->irq_fd(), POLLIN, 0}};
    ::poll(fds, 2, 20);
    if (fds[1].revents) guest_->AckInterrupt();
    for (;;) {
      absl::StatusOr<size_t> n = tap_->Receive(absl::MakeSpan(buf));
      if (!n.ok() || *n == 0) break;
      guest_->Send(std::string(reinterpret_cast<char*>(buf.data()), *n));
    }
    for (const std::string& packet : guest_->Receive()) {
      iovec v{const_cast<char*>(packet.data()), packet.size()};
      tap_->Send(absl::MakeConstSpan(&v, 1)).IgnoreError();
    }
  }
}

}  // namespace kuml
