#include "devices/serial/uart_8250.h"

#include <algorithm>
#include <utility>

namespace kuml {
namespace {

// Bit names follow Linux's include/uapi/linux/serial_reg.h.
constexpr uint8_t kIerRdi = 0x01;   // received data available
constexpr uint8_t kIerThri = 0x02;  // transmitter holding register empty
constexpr uint8_t kIerRlsi = 0x04;  // receiver line status
constexpr uint8_t kIerMsi = 0x08;   // modem status
constexpr uint8_t kIerMask = 0x0f;  // the 16550A has only these four

constexpr uint8_t kIirNoInt = 0x01;
constexpr uint8_t kIirMsi = 0x00;
constexpr uint8_t kIirThri = 0x02;
constexpr uint8_t kIirRdi = 0x04;
constexpr uint8_t kIirRlsi = 0x06;
constexpr uint8_t kIirFifosEnabled = 0xc0;

constexpr uint8_t kFcrEnable = 0x01;
constexpr uint8_t kFcrClearRx = 0x02;
// Bits kept: enable, DMA mode, receive trigger level. Clear bits self-reset.
constexpr uint8_t kFcrStored = 0xc9;

constexpr uint8_t kLcrDlab = 0x80;

constexpr uint8_t kMcrDtr = 0x01;
constexpr uint8_t kMcrRts = 0x02;
constexpr uint8_t kMcrOut1 = 0x04;
constexpr uint8_t kMcrOut2 = 0x08;
constexpr uint8_t kMcrLoop = 0x10;
constexpr uint8_t kMcrMask = 0x1f;

constexpr uint8_t kLsrDr = 0x01;
constexpr uint8_t kLsrOe = 0x02;
constexpr uint8_t kLsrBi = 0x10;
constexpr uint8_t kLsrThre = 0x20;
constexpr uint8_t kLsrTemt = 0x40;

constexpr uint8_t kMsrDcts = 0x01;
constexpr uint8_t kMsrDdsr = 0x02;
constexpr uint8_t kMsrTeri = 0x04;
constexpr uint8_t kMsrDdcd = 0x08;
constexpr uint8_t kMsrCts = 0x10;
constexpr uint8_t kMsrDsr = 0x20;
constexpr uint8_t kMsrRi = 0x40;
constexpr uint8_t kMsrDcd = 0x80;

// Outside loopback the "modem" is always there and ready.
constexpr uint8_t kMsrLinesConnected = kMsrCts | kMsrDsr | kMsrDcd;

}  // namespace

Uart8250::Uart8250(InterruptLine* irq, OutputSink output)
    : irq_(irq), output_(std::move(output)) {
  absl::MutexLock lock(&mu_);
  msr_lines_ = ModemStatusLinesLocked();
  room_was_zero_ = HostRoomLocked() == 0;
}

void Uart8250::Read(uint64_t offset, uint8_t* data, uint32_t size) {
  for (uint32_t i = 0; i < size; ++i) {
    data[i] = offset < kRegisterCount && i < kRegisterCount - offset
                  ? ReadByte(offset + i)
                  : 0;
  }
}

void Uart8250::Write(uint64_t offset, const uint8_t* data, uint32_t size) {
  for (uint32_t i = 0; i < size; ++i) {
    if (offset < kRegisterCount && i < kRegisterCount - offset) {
      WriteByte(offset + i, data[i]);
    }
  }
}

uint8_t Uart8250::ReadByte(uint64_t offset) {
  After after;
  uint8_t value;
  {
    absl::MutexLock lock(&mu_);
    value = ReadLocked(offset);
    after.room_freed = NoteRoomLocked();
  }
  Finish(after);
  return value;
}

void Uart8250::WriteByte(uint64_t offset, uint8_t value) {
  if (offset == kRbrThrDll) {
    WriteThr(value);  // also handles DLL (it must check DLAB under the lock)
    return;
  }
  After after;
  {
    absl::MutexLock lock(&mu_);
    WriteLocked(offset, value);
    after.room_freed = NoteRoomLocked();
  }
  Finish(after);
}

void Uart8250::WriteThr(uint8_t value) {
  absl::MutexLock tx_lock(&tx_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (lcr_ & kLcrDlab) {
      dll_ = value;
      return;
    }
    if (loopback()) {
      // Transmitted and received at once; host input room stays zero.
      ReceiveByteLocked(value);
      thre_pending_ = true;
      UpdateInterruptLocked();
      NoteRoomLocked();
      return;
    }
    thre_pending_ = false;
    UpdateInterruptLocked();
  }
  {
    absl::MutexLock lock(&observer_mu_);
    if (observer_) observer_(absl::MakeConstSpan(&value, 1));
  }
  // Outside the state lock (the sink takes the channel's locks); behind
  // earlier held bytes, so output stays in order.
  size_t taken = 0;
  if (!output_) {
    taken = 1;
  } else if (held_.empty()) {
    taken = output_(absl::MakeConstSpan(&value, 1));
  }
  absl::MutexLock lock(&mu_);
  if (taken == 0) {
    if (held_.size() < kTransmitHardLimit) {
      held_.push_back(static_cast<char>(value));
    } else {
      ++dropped_;
    }
  }
  UpdateTransmitterLocked();
}

void Uart8250::UpdateTransmitterLocked() {
  transmitting_ = held_.size() >= kTransmitBuffer;
  if (!transmitting_) thre_pending_ = true;  // the write "completed"
  UpdateInterruptLocked();
}

void Uart8250::TransmitRoom() {
  absl::MutexLock tx_lock(&tx_mu_);
  if (held_.empty() || !output_) return;
  const size_t taken = output_(absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(held_.data()), held_.size()));
  held_.erase(0, taken);
  absl::MutexLock lock(&mu_);
  const bool was_busy = transmitting_;
  transmitting_ = held_.size() >= kTransmitBuffer;
  if (was_busy && !transmitting_) {
    thre_pending_ = true;  // the guest may write again: tell it
    UpdateInterruptLocked();
  }
}

void Uart8250::SetTransmitObserver(TransmitObserver observer) {
  absl::MutexLock lock(&observer_mu_);
  observer_ = std::move(observer);
}

uint64_t Uart8250::transmit_dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

uint8_t Uart8250::ReadLocked(uint64_t offset) {
  switch (offset) {
    case kRbrThrDll: {
      if (lcr_ & kLcrDlab) return dll_;
      if (rx_count_ > 0) {
        last_rx_ = rx_[rx_head_];
        rx_break_[rx_head_] = false;
        rx_head_ = (rx_head_ + 1) % kFifoSize;
        --rx_count_;
        UpdateInterruptLocked();
      }
      // An empty FIFO reads as the last byte received, as on the chip.
      return last_rx_;
    }
    case kIerDlm:
      return (lcr_ & kLcrDlab) ? dlm_ : ier_;
    case kIirFcr: {
      uint8_t id = InterruptIdLocked();
      if (id == kIirThri) {
        // Reading IIR acknowledges a THRE interrupt it reports.
        thre_pending_ = false;
        UpdateInterruptLocked();
      }
      return id | ((fcr_ & kFcrEnable) ? kIirFifosEnabled : 0);
    }
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr: {
      uint8_t lsr = LsrLocked();
      overrun_ = false;  // error bits clear on read
      UpdateInterruptLocked();
      return lsr;
    }
    case kMsr: {
      uint8_t msr = msr_lines_ | msr_delta_;
      msr_delta_ = 0;
      UpdateInterruptLocked();
      return msr;
    }
    case kScr:
      return scr_;
    default:
      return 0;
  }
}

void Uart8250::WriteLocked(uint64_t offset, uint8_t value) {
  switch (offset) {
    case kRbrThrDll:  // only reached with DLAB set (see WriteThr)
      dll_ = value;
      break;
    case kIerDlm:
      if (lcr_ & kLcrDlab) {
        dlm_ = value;
      } else {
        uint8_t changed = (ier_ ^ value) & kIerMask;
        ier_ = value & kIerMask;
        // Enabling THRI while THR is empty raises a THRE interrupt (Linux's
        // startup checks that it is re-asserted after IER 0 -> THRI).
        if (changed & kIerThri) {
          thre_pending_ = (ier_ & kIerThri) && !transmitting_;
        }
        UpdateInterruptLocked();
      }
      break;
    case kIirFcr:
      WriteFcrLocked(value);
      break;
    case kLcr:
      lcr_ = value;
      break;
    case kMcr:
      WriteMcrLocked(value);
      break;
    case kScr:
      scr_ = value;
      break;
    default:  // LSR and MSR: read-only here
      break;
  }
}

void Uart8250::WriteFcrLocked(uint8_t value) {
  // Switching the FIFOs on or off empties them, as does the clear bit.
  if (((fcr_ ^ value) & kFcrEnable) || (value & kFcrClearRx)) {
    ClearRxLocked();
  }
  // (kFcrClearTx needs nothing: there is no transmit FIFO to empty.)
  fcr_ = value & kFcrStored;
  UpdateInterruptLocked();
}

void Uart8250::WriteMcrLocked(uint8_t value) {
  mcr_ = value & kMcrMask;
  UpdateModemStatusLocked();
  UpdateInterruptLocked();
}

bool Uart8250::loopback() const { return mcr_ & kMcrLoop; }

size_t Uart8250::CapacityLocked() const {
  return (fcr_ & kFcrEnable) ? kFifoSize : 1;
}

size_t Uart8250::HostRoomLocked() const {
  if (loopback()) return 0;  // the receiver listens to the transmitter
  size_t capacity = CapacityLocked();
  return rx_count_ >= capacity ? 0 : capacity - rx_count_;
}

void Uart8250::ClearRxLocked() {
  rx_head_ = 0;
  rx_count_ = 0;
}

void Uart8250::ReceiveByteLocked(uint8_t value) {
  if (rx_count_ >= CapacityLocked()) {
    overrun_ = true;  // the new byte is lost, as on the chip
    return;
  }
  rx_[(rx_head_ + rx_count_) % kFifoSize] = value;
  rx_break_[(rx_head_ + rx_count_) % kFifoSize] = false;
  ++rx_count_;
}

bool Uart8250::BreakAtHeadLocked() const {
  return rx_count_ > 0 && rx_break_[rx_head_];
}

uint8_t Uart8250::ModemStatusLinesLocked() const {
  if (!loopback()) return kMsrLinesConnected;
  // Loopback wiring: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.
  uint8_t lines = 0;
  if (mcr_ & kMcrRts) lines |= kMsrCts;
  if (mcr_ & kMcrDtr) lines |= kMsrDsr;
  if (mcr_ & kMcrOut1) lines |= kMsrRi;
  if (mcr_ & kMcrOut2) lines |= kMsrDcd;
  return lines;
}

void Uart8250::UpdateModemStatusLocked() {
  uint8_t lines = ModemStatusLinesLocked();
  uint8_t changed = lines ^ msr_lines_;
  if (changed & kMsrCts) msr_delta_ |= kMsrDcts;
  if (changed & kMsrDsr) msr_delta_ |= kMsrDdsr;
  if (changed & kMsrDcd) msr_delta_ |= kMsrDdcd;
  // Trailing edge of RI only.
  if ((msr_lines_ & kMsrRi) && !(lines & kMsrRi)) msr_delta_ |= kMsrTeri;
  msr_lines_ = lines;
}

uint8_t Uart8250::LsrLocked() const {
  uint8_t lsr = 0;
  if (rx_count_ > 0) lsr |= kLsrDr;
  if (overrun_) lsr |= kLsrOe;
  if (BreakAtHeadLocked()) lsr |= kLsrBi;
  if (!transmitting_) lsr |= kLsrThre | kLsrTemt;
  return lsr;
}

uint8_t Uart8250::InterruptIdLocked() const {
  if ((ier_ & kIerRlsi) && (overrun_ || BreakAtHeadLocked())) return kIirRlsi;
  if ((ier_ & kIerRdi) && rx_count_ > 0) return kIirRdi;
  if ((ier_ & kIerThri) && thre_pending_) return kIirThri;
  if ((ier_ & kIerMsi) && msr_delta_ != 0) return kIirMsi;
  return kIirNoInt;
}

void Uart8250::UpdateInterruptLocked() {
  // On a PC, OUT2 gates the UART's INTR onto the ISA IRQ line, and loopback
  // forces OUT2 inactive at the pin.
  bool level =
      InterruptIdLocked() != kIirNoInt && (mcr_ & kMcrOut2) && !loopback();
  if (level == irq_level_) return;
  irq_level_ = level;
  irq_->SetLevel(level);
}

bool Uart8250::NoteRoomLocked() {
  bool zero = HostRoomLocked() == 0;
  bool freed = room_was_zero_ && !zero;
  room_was_zero_ = zero;
  return freed;
}

void Uart8250::Finish(const After& after) {
  if (!after.room_freed) return;
  std::function<void()> callback;
  {
    absl::MutexLock lock(&mu_);
    callback = room_callback_;
  }
  if (callback) callback();
}

size_t Uart8250::InputRoom() {
  absl::MutexLock lock(&mu_);
  return HostRoomLocked();
}

size_t Uart8250::ReceiveInput(absl::Span<const uint8_t> bytes) {
  absl::MutexLock lock(&mu_);
  size_t taken = std::min(HostRoomLocked(), bytes.size());
  for (size_t i = 0; i < taken; ++i) ReceiveByteLocked(bytes[i]);
  if (taken > 0) UpdateInterruptLocked();
  NoteRoomLocked();
  return taken;
}

bool Uart8250::ReceiveBreak(uint8_t key) {
  absl::MutexLock lock(&mu_);
  const size_t needed = key != 0 ? 2 : 1;
  if (HostRoomLocked() < needed) return false;
  ReceiveByteLocked(0);
  rx_break_[(rx_head_ + rx_count_ - 1) % kFifoSize] = true;
  if (key != 0) ReceiveByteLocked(key);
  UpdateInterruptLocked();
  NoteRoomLocked();
  return true;
}

void Uart8250::SetRoomCallback(std::function<void()> callback) {
  absl::MutexLock lock(&mu_);
  room_callback_ = std::move(callback);
}

}  // namespace kuml
