#include "devices/virtio/console_device.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "devices/virtio/virtio_spec.h"

namespace kuml {
namespace {

constexpr size_t kControlQueue = 2;  // host -> guest control (c_ivq)
constexpr size_t kControlTx = 3;     // guest -> host control (c_ovq)
// Guest output is copied out in chunks of this size (the guest may change
// its buffer at any time; the handler sees a stable copy).
constexpr size_t kOutputChunk = 4096;

// Config space offsets (spec 5.3.4).
constexpr size_t kCfgMaxNrPorts = 4;

}  // namespace

// The InputSink of one port, forwarding to the device.
class VirtioConsole::PortInput : public InputSink {
 public:
  PortInput(VirtioConsole* console, uint32_t port)
      : console_(console), port_(port) {}
  size_t InputRoom() override { return console_->InputRoom(port_); }
  size_t ReceiveInput(absl::Span<const uint8_t> bytes) override {
    return console_->ReceiveInput(port_, bytes);
  }
  void SetRoomCallback(std::function<void()> callback) override {
    console_->SetRoomCallback(port_, std::move(callback));
  }

 private:
  VirtioConsole* const console_;
  const uint32_t port_;
};

VirtioConsole::VirtioConsole(std::vector<PortConfig> ports) {
  ports.resize(std::min<size_t>(ports.size(), kMaxPorts));
  ports_.resize(ports.size());
  for (uint32_t p = 0; p < ports.size(); ++p) {
    ports_[p].config = std::move(ports[p]);
    if (ports_[p].config.name.size() > kMaxNameBytes) {
      ports_[p].config.name.resize(kMaxNameBytes);
    }
    ports_[p].input = std::make_unique<PortInput>(this, p);
  }
  for (uint32_t p = 0; p < ports_.size(); ++p) {
    if (ports_[p].config.handler) ports_[p].config.handler->Bind(this, p);
  }
}

VirtioConsole::~VirtioConsole() = default;

uint16_t VirtioConsole::ReceiveQueue(uint32_t port) {
  return port == 0 ? 0 : static_cast<uint16_t>(2 + 2 * port);
}
uint16_t VirtioConsole::TransmitQueue(uint32_t port) {
  return port == 0 ? 1 : static_cast<uint16_t>(3 + 2 * port);
}

InputSink* VirtioConsole::Input(uint32_t port) {
  return port < ports_.size() ? ports_[port].input.get() : nullptr;
}

VirtioConsole::PortStats VirtioConsole::stats(uint32_t port) const {
  absl::MutexLock lock(&mu_);
  if (port >= ports_.size()) return PortStats();
  PortStats s = ports_[port].stats;
  s.guest_open = ports_[port].guest_open;
  return s;
}

uint32_t VirtioConsole::device_type() const { return kVirtioIdConsole; }

uint64_t VirtioConsole::device_features() const {
  return kVirtioFVersion1 | kVirtioFRingIndirectDesc | kVirtioFRingEventIdx |
         kVirtioConsoleFMultiport;
}

uint16_t VirtioConsole::num_queues() const {
  return static_cast<uint16_t>(2 * (ports_.size() + 1));
}

uint16_t VirtioConsole::queue_max_size(uint16_t index) const {
  if (index == kControlQueue || index == kControlTx) return kControlQueueSize;
  return index % 2 == 0 ? kReceiveQueueSize : kTransmitQueueSize;
}

void VirtioConsole::ReadConfig(uint64_t offset, uint8_t* data, uint32_t size) {
  // cols, rows (0: unknown; F_SIZE is not offered), max_nr_ports,
  // emerg_wr (write-only, reads 0).
  uint8_t config[kConfigBytes] = {};
  uint32_t max_ports = port_count();
  std::memcpy(config + kCfgMaxNrPorts, &max_ports, sizeof max_ports);
  std::memset(data, 0, size);
  if (offset >= kConfigBytes) return;
  std::memcpy(data, config + offset,
              std::min<uint64_t>(size, kConfigBytes - offset));
}

void VirtioConsole::WriteConfig(uint64_t, const uint8_t*, uint32_t) {
  // emerg_wr needs F_EMERG_WRITE, which is not offered.
}

absl::Status VirtioConsole::Activate(VirtioActivation activation) {
  if (activation.queues.size() != num_queues() ||
      !activation.queues[kControlQueue]->ready() ||
      !activation.queues[kControlTx]->ready()) {
    return absl::FailedPreconditionError(
        "virtio-console: the control queues were not set up");
  }
  if (!(activation.features & kVirtioConsoleFMultiport)) {
    return absl::FailedPreconditionError(
        "virtio-console: the driver did not accept MULTIPORT");
  }
  absl::MutexLock lock(&mu_);
  queues_ = std::move(activation.queues);
  interrupt_ = activation.interrupt;
  reported_broken_ = false;
  active_ = true;
  return absl::OkStatus();
}

void VirtioConsole::Reset() {
  absl::MutexLock lock(&mu_);
  active_ = false;
  ++generation_;
  queues_.clear();
  interrupt_ = nullptr;
  control_out_.clear();
  for (Port& port : ports_) {
    port.guest_open = false;
    port.rx_chain.reset();
    port.room_zero = true;
    port.tx_chain.reset();
    port.tx_offset = 0;
    port.tx_again = false;
  }
}

Virtqueue* VirtioConsole::QueueLocked(uint16_t index) {
  if (!active_ || index >= queues_.size() || !queues_[index]->ready()) {
    return nullptr;
  }
  return queues_[index];
}

void VirtioConsole::SignalIfNeeded(Virtqueue* queue) {
  if (queue->NeedsInterrupt()) interrupt_->SignalUsedBuffers();
}

void VirtioConsole::CheckBroken(Virtqueue* queue) {
  if (queue->broken() && !reported_broken_) {
    reported_broken_ = true;
    interrupt_->SignalNeedsReset(queue->last_error());
  }
}

void VirtioConsole::QueueNotify(uint16_t index) {
  if (index == kControlQueue) {
    absl::MutexLock lock(&mu_);
    FlushControl();
    return;
  }
  if (index == kControlTx) {
    ProcessControl();
    return;
  }
  const uint32_t port = index < 2 ? 0 : (index - 2) / 2;
  if (port >= ports_.size()) return;
  if (index % 2 == 1) {
    ProcessOutput(port);
    return;
  }
  // The guest posted receive buffers: input can flow again.
  std::function<void()> callback;
  {
    absl::MutexLock lock(&mu_);
    callback = RoomReturnedLocked(ports_[port]);
  }
  if (callback) callback();
}

// ---- Control ----

size_t VirtioConsole::control_backlog() const {
  absl::MutexLock lock(&mu_);
  return control_out_.size();
}

void VirtioConsole::SendControl(uint32_t id, uint16_t event, uint16_t value,
                                absl::string_view extra) {
  VirtioConsoleControl header{id, event, value};
  std::string message(reinterpret_cast<const char*>(&header), sizeof header);
  message.append(extra.data(), extra.size());
  // A message still waiting for a guest buffer says it already: a guest
  // that repeats DEVICE_READY or PORT_READY without ever posting buffers
  // must not grow the backlog (at most four distinct messages per port).
  for (const std::string& pending : control_out_) {
    if (pending == message) return;
  }
  control_out_.push_back(std::move(message));
}

void VirtioConsole::FlushControl() {
  Virtqueue* queue = QueueLocked(kControlQueue);
  if (queue == nullptr) return;
  bool used = false;
  while (!control_out_.empty()) {
    absl::optional<DescriptorChain> chain = queue->Pop();
    if (!chain) break;
    const std::string& message = control_out_.front();
    // Linux posts page-sized buffers; a smaller one gets what fits (a name
    // cut short), never a message spread over two buffers.
    uint64_t n = chain->CopyToWritable(
        0, absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(message.data()),
                               message.size()));
    queue->AddUsed(chain->head(), static_cast<uint32_t>(n));
    control_out_.pop_front();
    used = true;
  }
  CheckBroken(queue);
  if (used) SignalIfNeeded(queue);
}

void VirtioConsole::ProcessControl() {
  std::vector<std::function<void()>> after;
  {
    absl::MutexLock lock(&mu_);
    Virtqueue* queue = QueueLocked(kControlTx);
    if (queue == nullptr) return;
    bool used = false;
    while (absl::optional<DescriptorChain> chain = queue->Pop()) {
      uint8_t message[sizeof(VirtioConsoleControl)];
      uint64_t n = chain->CopyFromReadable(0, absl::MakeSpan(message));
      HandleControl(message, n, &after);
      queue->AddUsed(chain->head(), 0);
      used = true;
    }
    CheckBroken(queue);
    if (used) SignalIfNeeded(queue);
    FlushControl();
  }
  for (auto& fn : after) fn();
}

void VirtioConsole::HandleControl(const uint8_t* message, size_t len,
                                  std::vector<std::function<void()>>* after) {
  if (len < sizeof(VirtioConsoleControl)) return;  // malformed: ignored
  VirtioConsoleControl control;
  std::memcpy(&control, message, sizeof control);
  if (control.event == kVirtioConsoleDeviceReady) {
    if (control.value != 1) return;  // the driver failed to set up
    for (uint32_t p = 0; p < ports_.size(); ++p) {
      SendControl(p, kVirtioConsolePortAdd, 0);
    }
    return;
  }
  if (control.id >= ports_.size()) return;  // no such port
  Port& port = ports_[control.id];
  switch (control.event) {
    case kVirtioConsolePortReady:
      if (control.value != 1) return;  // the guest could not add it
      // The name first: kuml's kernel makes console port "con<n>" tty<n>
      // when it becomes a console (guest/patches/0003-*), so it must know
      // the name by then.
      if (!port.config.name.empty()) {
        SendControl(control.id, kVirtioConsolePortName, 0, port.config.name);
      }
      if (port.config.console) {
        SendControl(control.id, kVirtioConsoleConsolePort, 1);
      }
      SendControl(control.id, kVirtioConsolePortOpen, 1);
      return;
    case kVirtioConsolePortOpen: {
      const bool open = control.value != 0;
      if (open == port.guest_open) return;
      port.guest_open = open;
      if (std::shared_ptr<ConsolePortHandler> handler = port.config.handler) {
        after->push_back([handler, open] { handler->OnGuestOpen(open); });
      }
      if (open) {
        if (std::function<void()> cb = RoomReturnedLocked(port)) {
          after->push_back(std::move(cb));
        }
      }
      return;
    }
    default:
      return;  // nothing else is for the device to act on
  }
}

// ---- Guest output ----

void VirtioConsole::ResumeOutput(uint32_t port) {
  if (port < ports_.size()) ProcessOutput(port);
}

void VirtioConsole::ProcessOutput(uint32_t index) {
  Port& port = ports_[index];
  const uint16_t qi = TransmitQueue(index);
  std::vector<uint8_t> chunk;
  absl::MutexLock lock(&mu_);
  if (port.tx_running) {
    port.tx_again = true;
    return;
  }
  port.tx_running = true;
  for (;;) {
    port.tx_again = false;
    Virtqueue* queue = QueueLocked(qi);
    if (queue == nullptr) break;
    if (!port.tx_chain) {
      port.tx_chain = queue->Pop();
      port.tx_offset = 0;
      CheckBroken(queue);
      if (!port.tx_chain) break;
    }
    const uint64_t total = port.tx_chain->readable_bytes();
    const uint64_t len =
        std::min<uint64_t>(total - port.tx_offset, kOutputChunk);
    chunk.resize(len);
    port.tx_chain->CopyFromReadable(port.tx_offset, absl::MakeSpan(chunk));
    size_t taken = len;
    std::shared_ptr<ConsolePortHandler> handler = port.config.handler;
    if (handler != nullptr && len > 0) {
      const uint64_t generation = generation_;
      mu_.Unlock();
      taken = std::min<size_t>(handler->OnGuestOutput(chunk), len);
      mu_.Lock();
      if (generation != generation_) break;  // reset meanwhile: chain gone
      queue = QueueLocked(qi);
      if (queue == nullptr) break;
    }
    port.stats.bytes_out += taken;
    port.tx_offset += taken;
    if (port.tx_offset == total) {
      // Transmit buffers are device-readable only: used length 0.
      queue->AddUsed(port.tx_chain->head(), 0);
      port.tx_chain.reset();
      SignalIfNeeded(queue);
    }
    // The handler is full and will resume us (unless it already asked).
    if (taken < len && !port.tx_again) break;
  }
  port.tx_running = false;
}

// ---- Guest input ----

std::function<void()> VirtioConsole::RoomReturnedLocked(Port& port) {
  if (!port.room_zero || !port.room_callback || !port.guest_open) {
    return nullptr;
  }
  port.room_zero = false;
  return port.room_callback;
}

void VirtioConsole::SetRoomCallback(uint32_t index,
                                    std::function<void()> callback) {
  absl::MutexLock lock(&mu_);
  ports_[index].room_callback = std::move(callback);
}

size_t VirtioConsole::InputRoom(uint32_t index) {
  absl::MutexLock lock(&mu_);
  Port& port = ports_[index];
  Virtqueue* queue = QueueLocked(ReceiveQueue(index));
  if (queue == nullptr || !port.guest_open) {
    port.room_zero = true;
    return 0;
  }
  if (!port.rx_chain) {
    port.rx_chain = queue->Pop();
    CheckBroken(queue);
  }
  size_t room = port.rx_chain ? port.rx_chain->writable_bytes() : 0;
  if (room == 0) {
    if (port.rx_chain) {  // a chain with no writable byte: give it back
      queue->AddUsed(port.rx_chain->head(), 0);
      port.rx_chain.reset();
      SignalIfNeeded(queue);
    }
    port.room_zero = true;
  }
  return room;
}

size_t VirtioConsole::ReceiveInput(uint32_t index,
                                   absl::Span<const uint8_t> bytes) {
  absl::MutexLock lock(&mu_);
  Port& port = ports_[index];
  Virtqueue* queue = QueueLocked(ReceiveQueue(index));
  if (queue == nullptr || !port.guest_open) {
    port.room_zero = true;
    return 0;
  }
  size_t taken = 0;
  while (taken < bytes.size()) {
    if (!port.rx_chain) port.rx_chain = queue->Pop();
    if (!port.rx_chain) break;
    // One chain per hand-over, delivered at once even when not full: a
    // console is interactive.
    uint64_t n = port.rx_chain->CopyToWritable(0, bytes.subspan(taken));
    queue->AddUsed(port.rx_chain->head(), static_cast<uint32_t>(n));
    port.rx_chain.reset();
    taken += n;
  }
  CheckBroken(queue);
  port.stats.bytes_in += taken;
  if (taken < bytes.size()) port.room_zero = true;
  if (taken > 0) SignalIfNeeded(queue);
  return taken;
}

}  // namespace kuml
