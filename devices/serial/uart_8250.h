// Uart8250: a 16550A-compatible serial port (8 registers of port I/O), the
// guest's boot console ttyS0 (and later the ssl lines).
//
// Modelled closely enough for Linux's 8250 driver to probe it as a 16550A:
// IER with four writable bits, scratch register, divisor latch behind
// LCR.DLAB, FIFO control (IIR bits 7:6 read 11 while FIFOs are enabled),
// MCR loopback (MSR mirrors MCR, transmitted bytes come back as input, and
// the 16-byte receive FIFO overruns like the real one, which the driver's
// FIFO-size probe counts), LSR (DR, OE, THRE, TEMT), IIR priorities
// (line status > received data > THR empty > modem status) and the THRE
// interrupt rule (pending while IER.THRI is set and THR is empty; cleared by
// an IIR read that reports it or by a THR write; re-armed when a THR write
// completes or THRI is newly enabled). MSR reports CTS|DSR|DCD outside
// loopback. Not modelled: line-status errors other than overrun, break,
// the character-timeout interrupt (data waiting always reads as "received
// data available"), baud timing.
//
// Interrupt output: as on a PC, the INTR pin reaches the interrupt line only
// while MCR.OUT2 is set, and never in loopback. The line is driven on every
// change of that gated output (SetLevel(true) / SetLevel(false)), so an
// edge-triggered IOAPIC pin sees one rising edge per new interrupt condition.
//
// Output: every THR write outside loopback is offered to the output sink,
// which never blocks: it takes what the host side can take now. What it
// does not take waits in the UART's transmit buffer, in order, and is
// offered again when the sink's owner calls TransmitRoom(). While the
// buffer holds kTransmitBuffer bytes or more, LSR shows the transmitter
// busy (THRE and TEMT clear, no THR-empty interrupt): the guest's writers
// to this line wait, as on a slow real line, and the rest of the guest runs
// on -- a host reader that stops reading (a telnet client, a pts nobody
// reads, a full pipe) can never stall a vCPU. A driver that writes THR while
// the transmitter is busy (Linux's console gives up waiting after 10 ms) is
// still heard, up to kTransmitHardLimit bytes held; beyond that bytes are
// dropped and counted (transmit_dropped()), so a stuck reader cannot make
// the VMM's memory grow.
//
// Input: the host side (InputSink) fills the receive FIFO: 16 bytes while
// FIFOs are enabled, 1 (the holding register) while they are not, like the
// chip; 0 in loopback, where the receiver is disconnected from the line.
// ReceiveInput never overruns: it takes what fits and the host keeps the
// rest (see input_pump.h); the room callback says when to offer more.
//
// Threads and locks: register accesses come from vCPU threads, input from
// the event loop. All state is under one mutex. The InterruptLine is called
// with that mutex held (so level changes reach it in order): it must not
// call back into this device. The output sink runs without the state mutex
// (only a transmit mutex that orders THR writes): it may read registers but
// must not write THR. The room callback runs with no lock held.
//
// Break: ReceiveBreak() queues a NUL marked as a break condition, and LSR.BI
// reads set (with a receiver-line-status interrupt) while that character is
// at the head of the FIFO, as on the chip. Linux's 8250 driver drops the
// NUL and, on its console port with CONFIG_MAGIC_SYSRQ_SERIAL, takes the
// next character as a magic SysRq key (mconsole `sysrq`).
#ifndef KUML_DEVICES_SERIAL_UART_8250_H_
#define KUML_DEVICES_SERIAL_UART_8250_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "devices/chan/input_sink.h"
#include "vmm/bus_device.h"
#include "vmm/interrupt_line.h"

namespace kuml {

class Uart8250 : public BusDevice, public InputSink {
 public:
  static constexpr uint64_t kRegisterCount = 8;  // bus range length
  static constexpr size_t kFifoSize = 16;        // a 16550A's FIFO depth

  // Register offsets.
  enum Register : uint64_t {
    kRbrThrDll = 0,  // RBR (read) / THR (write); DLL while LCR.DLAB
    kIerDlm = 1,     // IER; DLM while LCR.DLAB
    kIirFcr = 2,     // IIR (read) / FCR (write)
    kLcr = 3,
    kMcr = 4,
    kLsr = 5,
    kMsr = 6,
    kScr = 7,
  };

  // Transmit bytes held for a slow host side before LSR says busy, and the
  // most ever held.
  static constexpr size_t kTransmitBuffer = 4096;
  static constexpr size_t kTransmitHardLimit = 64 * 1024;

  // Takes transmitted bytes, in order, without blocking; returns how many it
  // took (0 .. bytes.size()). When it took fewer, its owner calls
  // TransmitRoom() once it can take more.
  using OutputSink = std::function<size_t(absl::Span<const uint8_t>)>;
  // Sees every byte the guest transmits, once, as it is written (mconsole's
  // sysrq capture). Runs on vCPU threads: must not block.
  using TransmitObserver = std::function<void(absl::Span<const uint8_t>)>;

  // `irq` is not owned and must outlive the device. `output` may be empty
  // (output discarded).
  Uart8250(InterruptLine* irq, OutputSink output);

  Uart8250(const Uart8250&) = delete;
  Uart8250& operator=(const Uart8250&) = delete;

  // BusDevice. Accesses wider than a byte are split into byte accesses at
  // consecutive offsets, as the ISA bus does; offsets past 7 read as zero.
  void Read(uint64_t offset, uint8_t* data, uint32_t size) override;
  void Write(uint64_t offset, const uint8_t* data, uint32_t size) override;

  // InputSink.
  size_t InputRoom() override;
  size_t ReceiveInput(absl::Span<const uint8_t> bytes) override;
  void SetRoomCallback(std::function<void()> callback) override;

  // A break on the line, then `key` (0: no key). False, and nothing queued,
  // when the receive FIFO cannot take both now (or in loopback).
  bool ReceiveBreak(uint8_t key);

  // The output sink can take more: offers the held bytes again. Any thread
  // but a vCPU thread inside a register access.
  void TransmitRoom();
  // Replaces the observer (empty: none). Thread-safe.
  void SetTransmitObserver(TransmitObserver observer);
  // Bytes the guest transmitted past kTransmitHardLimit, dropped.
  uint64_t transmit_dropped() const;

 private:
  // What a register access did that must happen after the state lock is
  // dropped.
  struct After {
    bool room_freed = false;
  };

  uint8_t ReadByte(uint64_t offset);
  void WriteByte(uint64_t offset, uint8_t value);
  void WriteThr(uint8_t value);
  // After the sink was offered held_ (tx_mu_ and mu_ held): LSR and the
  // THR-empty interrupt follow how much is still held.
  void UpdateTransmitterLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(tx_mu_, mu_);

  uint8_t ReadLocked(uint64_t offset) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteLocked(uint64_t offset, uint8_t value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteFcrLocked(uint8_t value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteMcrLocked(uint8_t value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  bool loopback() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  size_t CapacityLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  size_t HostRoomLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ClearRxLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Pushes one received byte; sets LSR.OE and drops it when the FIFO is
  // full (only loopback can get here with a full FIFO).
  void ReceiveByteLocked(uint8_t value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint8_t ModemStatusLinesLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UpdateModemStatusLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint8_t LsrLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool BreakAtHeadLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The IIR interrupt-identification value (without the FIFO bits).
  uint8_t InterruptIdLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UpdateInterruptLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records whether the host room is zero; true when it just went from zero
  // to non-zero (the room callback is due).
  bool NoteRoomLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Finish(const After& after);

  InterruptLine* const irq_;
  const OutputSink output_;

  // Orders THR writes and every sink call; taken before mu_, never after.
  absl::Mutex tx_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Transmitted bytes the sink has not taken yet, oldest first.
  std::string held_ ABSL_GUARDED_BY(tx_mu_);
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Mutex observer_mu_;
  TransmitObserver observer_ ABSL_GUARDED_BY(observer_mu_);
  mutable absl::Mutex mu_;

  std::array<uint8_t, kFifoSize> rx_ ABSL_GUARDED_BY(mu_) = {};
  // Per FIFO entry: received as a break condition.
  std::array<bool, kFifoSize> rx_break_ ABSL_GUARDED_BY(mu_) = {};
  size_t rx_head_ ABSL_GUARDED_BY(mu_) = 0;
  size_t rx_count_ ABSL_GUARDED_BY(mu_) = 0;
  uint8_t last_rx_ ABSL_GUARDED_BY(mu_) = 0;  // RBR read when empty

  uint8_t dll_ ABSL_GUARDED_BY(mu_) = 0x0c;  // 9600 baud from 1.8432 MHz
  uint8_t dlm_ ABSL_GUARDED_BY(mu_) = 0;
  uint8_t ier_ ABSL_GUARDED_BY(mu_) = 0;
  uint8_t fcr_ ABSL_GUARDED_BY(mu_) = 0;  // as last written (bits 0, 6, 7)
  uint8_t lcr_ ABSL_GUARDED_BY(mu_) = 0;
  uint8_t mcr_ ABSL_GUARDED_BY(mu_) = 0;
  uint8_t scr_ ABSL_GUARDED_BY(mu_) = 0;
  bool overrun_ ABSL_GUARDED_BY(mu_) = false;  // LSR.OE until LSR is read
  // The host side is behind: LSR says busy (held_ at kTransmitBuffer+).
  bool transmitting_ ABSL_GUARDED_BY(mu_) = false;
  bool thre_pending_ ABSL_GUARDED_BY(mu_) = false;
  uint8_t msr_lines_ ABSL_GUARDED_BY(mu_) = 0;   // MSR bits 7:4 now
  uint8_t msr_delta_ ABSL_GUARDED_BY(mu_) = 0;   // MSR bits 3:0
  bool irq_level_ ABSL_GUARDED_BY(mu_) = false;  // what the line was told
  bool room_was_zero_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> room_callback_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kuml

#endif  // KUML_DEVICES_SERIAL_UART_8250_H_
