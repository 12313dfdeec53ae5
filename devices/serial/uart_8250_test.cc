#include "devices/serial/uart_8250.h"

#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

// Register offsets and bits as Linux's serial_reg.h names them, spelled out
// here so the test does not share the device's constants.
constexpr uint64_t RX = 0, TX = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2,
                   LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;
constexpr uint8_t IER_RDI = 0x01, IER_THRI = 0x02, IER_RLSI = 0x04,
                  IER_MSI = 0x08;
constexpr uint8_t IIR_NO_INT = 0x01, IIR_ID = 0x0e;
constexpr uint8_t LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20,
                  LSR_TEMT = 0x40;
constexpr uint8_t MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04,
                  MCR_OUT2 = 0x08, MCR_LOOP = 0x10;
constexpr uint8_t FCR_ENABLE = 0x01, FCR_CLEAR_RCVR = 0x02,
                  FCR_CLEAR_XMIT = 0x04, FCR7_64BYTE = 0x20;
constexpr uint8_t LCR_DLAB = 0x80, LCR_WLEN8 = 0x03, LCR_CONF_MODE_A = 0x80,
                  LCR_CONF_MODE_B = 0xbf;
constexpr uint8_t IER_UUE = 0x40;

// Records every level the device drives, like KVM_IRQ_LINE would see it.
class RecordingLine : public InterruptLine {
 public:
  void SetLevel(bool high) override {
    absl::MutexLock lock(&mu_);
    levels_.push_back(high);
  }
  std::vector<bool> levels() {
    absl::MutexLock lock(&mu_);
    return levels_;
  }
  bool high() {
    absl::MutexLock lock(&mu_);
    return !levels_.empty() && levels_.back();
  }
  int rising_edges() {
    absl::MutexLock lock(&mu_);
    int edges = 0;
    bool prev = false;
    for (bool l : levels_) {
      if (l && !prev) ++edges;
      prev = l;
    }
    return edges;
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    levels_.clear();
  }

 private:
  absl::Mutex mu_;
  std::vector<bool> levels_;
};

class UartTest : public ::testing::Test {
 protected:
  UartTest()
      : uart_(&line_, [this](absl::Span<const uint8_t> bytes) {
          absl::MutexLock lock(&out_mu_);
          out_.append(bytes.begin(), bytes.end());
          return bytes.size();
        }) {}

  uint8_t In(uint64_t reg) {
    uint8_t v = 0xee;
    uart_.Read(reg, &v, 1);
    return v;
  }
  void Out(uint64_t reg, uint8_t v) { uart_.Write(reg, &v, 1); }
  std::string output() {
    absl::MutexLock lock(&out_mu_);
    return out_;
  }
  size_t Give(const std::string& s) {
    return uart_.ReceiveInput(absl::MakeConstSpan(
        reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
  // Reads everything waiting, as the 8250 driver's rx loop does.
  std::string Drain() {
    std::string got;
    for (int i = 0; i < 4096 && (In(LSR) & LSR_DR); ++i) got += In(RX);
    return got;
  }

  // Linux 6.1 drivers/tty/serial/8250/8250_port.c autoconfig() for a port
  // without UPF_SKIP_TEST, with CONFIG_SERIAL_8250_16550A_VARIANTS: the
  // register sequence, re-typed here, and the type it concludes.
  std::string ProbeLikeLinux() {
    uint8_t scratch = In(IER);
    Out(IER, 0);
    uint8_t scratch2 = In(IER) & 0x0f;
    Out(IER, 0x0f);
    uint8_t scratch3 = In(IER) & 0x0f;
    Out(IER, scratch);
    if (scratch2 != 0 || scratch3 != 0x0f) return "none (IER test)";

    uint8_t save_mcr = In(MCR);
    uint8_t save_lcr = In(LCR);
    Out(MCR, MCR_LOOP | 0x0a);
    uint8_t status1 = In(MSR) & 0xf0;
    Out(MCR, save_mcr);
    if (status1 != 0x90) return "none (loopback test)";

    Out(LCR, LCR_CONF_MODE_B);
    Out(2 /* EFR */, 0);
    Out(LCR, 0);
    Out(FCR, FCR_ENABLE);
    std::string type;
    switch (In(IIR) >> 6) {
      case 0:
        type = "8250/16450";
        break;
      case 1:
        type = "unknown";
        break;
      case 2:
        type = "16550";
        break;
      case 3:
        type = Autoconfig16550a();
        break;
    }
    Out(LCR, save_lcr);
    Out(MCR, save_mcr);
    Out(FCR, FCR_ENABLE | FCR_CLEAR_RCVR | FCR_CLEAR_XMIT);
    Out(FCR, 0);
    In(RX);
    Out(IER, 0);
    return type;
  }

  std::string Autoconfig16550a() {
    Out(LCR, LCR_CONF_MODE_A);
    if (In(2 /* EFR */) == 0) return "EFR-v1 (16650/FSL64/Motorola)";
    Out(LCR, LCR_CONF_MODE_B);
    if (In(2 /* EFR */) == 0) return "EFR-v2 (16650V2/16C752)";

    Out(LCR, 0);
    uint8_t status1 = In(MCR);
    Out(LCR, 0xe0);
    uint8_t status2 = In(2 /* EXCR1 */);
    if (!((status2 ^ status1) & MCR_LOOP)) {
      Out(LCR, 0);
      Out(MCR, status1 ^ MCR_LOOP);
      Out(LCR, 0xe0);
      status2 = In(2);
      Out(LCR, 0);
      Out(MCR, status1);
      if ((status2 ^ status1) & MCR_LOOP) return "NS16550A";
    }

    Out(LCR, 0);
    Out(FCR, FCR_ENABLE | FCR7_64BYTE);
    status1 = In(IIR) >> 5;
    Out(FCR, FCR_ENABLE);
    Out(LCR, LCR_CONF_MODE_A);
    Out(FCR, FCR_ENABLE | FCR7_64BYTE);
    status2 = In(IIR) >> 5;
    Out(FCR, FCR_ENABLE);
    Out(LCR, 0);
    if (status1 == 6 && status2 == 7) return "16750";

    uint8_t iersave = In(IER);
    Out(IER, iersave & ~IER_UUE);
    if (!(In(IER) & IER_UUE)) {
      Out(IER, iersave | IER_UUE);
      if (In(IER) & IER_UUE) return "XScale";
    }
    Out(IER, iersave);

    if (SizeFifo() == 64) return "U6_16550A";
    return "16550A";
  }

  int SizeFifo() {
    uint8_t old_lcr = In(LCR);
    Out(LCR, 0);
    uint8_t old_fcr = In(FCR);  // (reads IIR, as the driver does)
    uint8_t old_mcr = In(MCR);
    Out(FCR, FCR_ENABLE | FCR_CLEAR_RCVR | FCR_CLEAR_XMIT);
    Out(MCR, MCR_LOOP);
    Out(LCR, LCR_CONF_MODE_A);
    uint16_t old_dl = In(DLL) | (In(DLM) << 8);
    Out(DLL, 1);
    Out(DLM, 0);
    Out(LCR, LCR_WLEN8);
    for (int count = 0; count < 256; ++count) Out(TX, count);
    int count = 0;
    for (; (In(LSR) & LSR_DR) && count < 256; ++count) In(RX);
    Out(FCR, old_fcr);
    Out(MCR, old_mcr);
    Out(LCR, LCR_CONF_MODE_A);
    Out(DLL, old_dl & 0xff);
    Out(DLM, old_dl >> 8);
    Out(LCR, old_lcr);
    return count;
  }

  RecordingLine line_;
  absl::Mutex out_mu_;
  std::string out_;
  Uart8250 uart_;
};

TEST_F(UartTest, LinuxAutoconfigFindsA16550A) {
  EXPECT_EQ(ProbeLikeLinux(), "16550A");
  // The probe must leave no trace: no output, nothing received, no IRQ.
  EXPECT_EQ(output(), "");
  EXPECT_EQ(In(LSR), LSR_THRE | LSR_TEMT);
  EXPECT_FALSE(line_.high());
  // And it is repeatable (the driver probes again on resume / rescan).
  EXPECT_EQ(ProbeLikeLinux(), "16550A");
}

TEST_F(UartTest, FifoHoldsSixteenBytesInLoopback) { EXPECT_EQ(SizeFifo(), 16); }

TEST_F(UartTest, ResetState) {
  EXPECT_EQ(In(IER), 0);
  EXPECT_EQ(In(IIR), IIR_NO_INT);
  EXPECT_EQ(In(LCR), 0);
  EXPECT_EQ(In(MCR), 0);
  EXPECT_EQ(In(LSR), LSR_THRE | LSR_TEMT);
  EXPECT_EQ(In(MSR) & 0xf0, 0xb0);  // CTS | DSR | DCD
  EXPECT_EQ(In(SCR), 0);
}

TEST_F(UartTest, IerKeepsOnlyFourBits) {
  Out(IER, 0xff);
  EXPECT_EQ(In(IER), 0x0f);
  Out(IER, 0x05);
  EXPECT_EQ(In(IER), 0x05);
}

TEST_F(UartTest, ScratchRegister) {
  for (int v : {0x00, 0x55, 0xaa, 0xff}) {
    Out(SCR, v);
    EXPECT_EQ(In(SCR), v);
  }
}

TEST_F(UartTest, DivisorLatchIsBehindDlab) {
  Out(LCR, LCR_DLAB | LCR_WLEN8);
  Out(DLL, 0x01);
  Out(DLM, 0x02);
  EXPECT_EQ(In(DLL), 0x01);
  EXPECT_EQ(In(DLM), 0x02);
  Out(LCR, LCR_WLEN8);
  EXPECT_EQ(In(IER), 0);  // not the divisor
  Out(IER, IER_RDI);
  Out(LCR, LCR_DLAB | LCR_WLEN8);
  EXPECT_EQ(In(DLM), 0x02);  // IER write did not touch DLM
  EXPECT_EQ(In(LCR), LCR_DLAB | LCR_WLEN8);
  Out(LCR, LCR_WLEN8);
  EXPECT_EQ(In(IER), IER_RDI);
  // Neither divisor write went out as data.
  EXPECT_EQ(output(), "");
}

TEST_F(UartTest, FcrEnablesFifosAndIirSaysSo) {
  EXPECT_EQ(In(IIR) & 0xc0, 0);
  Out(FCR, FCR_ENABLE);
  EXPECT_EQ(In(IIR), 0xc0 | IIR_NO_INT);
  Out(FCR, FCR_ENABLE | 0xc0);  // trigger level 14
  EXPECT_EQ(In(IIR), 0xc0 | IIR_NO_INT);
  Out(FCR, 0);
  EXPECT_EQ(In(IIR), IIR_NO_INT);
}

TEST_F(UartTest, FcrClearsReceiveFifo) {
  Out(FCR, FCR_ENABLE);
  EXPECT_EQ(Give("abc"), 3u);
  Out(FCR, FCR_ENABLE | FCR_CLEAR_RCVR);
  EXPECT_FALSE(In(LSR) & LSR_DR);
  EXPECT_EQ(Give("xy"), 2u);
  Out(FCR, 0);  // switching FIFOs off empties them too
  EXPECT_FALSE(In(LSR) & LSR_DR);
}

TEST_F(UartTest, LoopbackMirrorsMcrInMsr) {
  Out(MCR, MCR_LOOP | MCR_RTS | MCR_OUT2);
  EXPECT_EQ(In(MSR) & 0xf0, 0x90);  // CTS | DCD
  Out(MCR, MCR_LOOP | MCR_DTR | MCR_OUT1);
  EXPECT_EQ(In(MSR) & 0xf0, 0x60);  // DSR | RI
  Out(MCR, MCR_LOOP);
  EXPECT_EQ(In(MSR) & 0xf0, 0x00);
  Out(MCR, 0);
  EXPECT_EQ(In(MSR) & 0xf0, 0xb0);
}

TEST_F(UartTest, MsrDeltaBitsAndModemStatusInterrupt) {
  In(MSR);
  Out(IER, IER_MSI);
  EXPECT_EQ(In(IIR), IIR_NO_INT);
  Out(MCR, MCR_LOOP | MCR_OUT1);  // CTS DSR DCD drop, RI rises
  uint8_t iir = In(IIR);
  EXPECT_EQ(iir & IIR_ID, 0x00);
  EXPECT_FALSE(iir & IIR_NO_INT);
  uint8_t msr = In(MSR);
  EXPECT_EQ(msr & 0x0b, 0x0b);   // DCTS DDSR DDCD
  EXPECT_EQ(msr & 0x04, 0);      // TERI only on RI's trailing edge
  EXPECT_EQ(In(MSR) & 0x0f, 0);  // read clears the deltas
  EXPECT_EQ(In(IIR), IIR_NO_INT);
  Out(MCR, MCR_LOOP);  // RI falls
  EXPECT_EQ(In(MSR) & 0x0f, 0x04);
}

TEST_F(UartTest, LoopbackEchoesAndOverrunsAtSixteen) {
  Out(FCR, FCR_ENABLE);
  Out(MCR, MCR_LOOP);
  std::string sent;
  for (int i = 0; i < 20; ++i) {
    Out(TX, 'a' + i);
    sent += static_cast<char>('a' + i);
  }
  EXPECT_EQ(output(), "");  // nothing reaches the host in loopback
  uint8_t lsr = In(LSR);
  EXPECT_TRUE(lsr & LSR_DR);
  EXPECT_TRUE(lsr & LSR_OE);
  EXPECT_FALSE(In(LSR) & LSR_OE);  // cleared by the read
  EXPECT_EQ(Drain(), sent.substr(0, 16));
}

TEST_F(UartTest, LoopbackWithoutFifoHoldsOneByte) {
  Out(MCR, MCR_LOOP);
  Out(TX, 'x');
  Out(TX, 'y');
  EXPECT_TRUE(In(LSR) & LSR_OE);
  EXPECT_EQ(Drain(), "x");
}

TEST_F(UartTest, TransmitGoesToSinkInOrder) {
  std::string msg = "Linux version 6.1\r\n";
  for (char c : msg) {
    ASSERT_TRUE(In(LSR) & LSR_THRE);
    Out(TX, c);
  }
  EXPECT_EQ(output(), msg);
  EXPECT_EQ(In(LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
}

TEST_F(UartTest, WideAccessIsSplitIntoBytes) {
  uint8_t two[2] = {'h', 'i'};
  uart_.Write(TX, two, 1);
  Out(SCR, 0x5a);
  uint8_t eight[8];
  uart_.Read(0, eight, 8);
  EXPECT_EQ(eight[SCR], 0x5a);
  EXPECT_EQ(eight[LSR] & LSR_THRE, LSR_THRE);
  EXPECT_EQ(output(), "h");
}

TEST_F(UartTest, HostileOffsetsAndSizesAreHarmless) {
  uint8_t buf[8];
  std::fill(std::begin(buf), std::end(buf), 0xcc);
  uart_.Read(6, buf, 8);  // runs past the last register
  EXPECT_EQ(buf[1], In(SCR));
  for (int i = 2; i < 8; ++i) EXPECT_EQ(buf[i], 0) << i;
  uart_.Read(UINT64_MAX, buf, 8);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(buf[i], 0) << i;
  uart_.Read(UINT64_MAX - 3, buf, 8);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(buf[i], 0) << i;
  uint8_t junk[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  uart_.Write(8, junk, 8);
  uart_.Write(UINT64_MAX - 1, junk, 8);
  uart_.Write(UINT64_MAX, junk, 8);
  EXPECT_EQ(output(), "");
  EXPECT_EQ(In(SCR), 0);
  // Writes to the read-only registers change nothing.
  Out(LSR, 0xff);
  Out(MSR, 0xff);
  EXPECT_EQ(In(LSR), LSR_THRE | LSR_TEMT);
  EXPECT_EQ(In(MSR) & 0xf0, 0xb0);
}

TEST_F(UartTest, RandomRegisterTrafficNeverBreaksInvariants) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 200000; ++i) {
    uint64_t reg = rng() % 10;
    uint8_t value = rng();
    if (rng() % 2) {
      Out(reg, value);
    } else {
      In(reg);
    }
    if (rng() % 64 == 0) {
      std::string s(rng() % 40, 'z');
      size_t room = uart_.InputRoom();
      EXPECT_EQ(Give(s), std::min(room, s.size()));
    }
  }
  // Whatever the guest did, a sane reprogramming brings the port back.
  Out(LCR, LCR_WLEN8);
  Out(MCR, 0);
  Out(FCR, FCR_ENABLE | FCR_CLEAR_RCVR);
  Out(IER, 0);
  In(LSR);
  In(MSR);
  EXPECT_EQ(In(IIR), 0xc0 | IIR_NO_INT);
  EXPECT_EQ(ProbeLikeLinux(), "16550A");
}

class UartInterruptTest : public UartTest {
 protected:
  void SetUp() override {
    Out(LCR, LCR_WLEN8);
    Out(FCR, FCR_ENABLE);
    Out(MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
    line_.Clear();
  }
};

TEST_F(UartInterruptTest, ThreInterruptOnEnableClearedByIirRead) {
  Out(IER, IER_THRI);
  EXPECT_TRUE(line_.high());
  EXPECT_EQ(In(IIR), 0xc0 | 0x02);
  EXPECT_FALSE(line_.high());  // reading IIR acknowledged it
  EXPECT_EQ(In(IIR), 0xc0 | IIR_NO_INT);
}

TEST_F(UartInterruptTest, ThreIsReassertedAfterIerToggle) {
  // Linux's startup test for UARTs that fail to re-assert THRE.
  Out(IER, IER_THRI);
  uint8_t iir1 = In(IIR);
  Out(IER, 0);
  Out(IER, IER_THRI);
  uint8_t iir = In(IIR);
  Out(IER, 0);
  EXPECT_FALSE(iir1 & IIR_NO_INT);
  EXPECT_FALSE(iir & IIR_NO_INT);
  // And the TXEN test: THRI -> LSR shows TEMT and IIR an interrupt.
  Out(IER, IER_THRI);
  uint8_t lsr = In(LSR);
  iir = In(IIR);
  Out(IER, 0);
  EXPECT_TRUE(lsr & LSR_TEMT);
  EXPECT_FALSE(iir & IIR_NO_INT);
}

TEST_F(UartInterruptTest, ThrWriteClearsThenRearmsThre) {
  Out(IER, IER_THRI);
  line_.Clear();
  Out(TX, 'a');
  // Low while transmitting, high again once THR is empty: a new edge.
  EXPECT_EQ(line_.levels(), (std::vector<bool>{false, true}));
  EXPECT_EQ(In(IIR) & IIR_ID, 0x02);
  EXPECT_EQ(output(), "a");
}

TEST_F(UartInterruptTest, NoThreInterruptWhenDisabled) {
  Out(TX, 'a');
  EXPECT_TRUE(line_.levels().empty());
  EXPECT_EQ(In(IIR), 0xc0 | IIR_NO_INT);
}

TEST_F(UartInterruptTest, ReceivedDataRaisesAndDrainLowers) {
  Out(IER, IER_RDI);
  EXPECT_FALSE(line_.high());
  EXPECT_EQ(Give("hello"), 5u);
  EXPECT_TRUE(line_.high());
  EXPECT_EQ(In(IIR), 0xc0 | 0x04);
  EXPECT_EQ(In(IIR), 0xc0 | 0x04);  // reading IIR does not clear RDI
  EXPECT_EQ(Drain(), "hello");
  EXPECT_FALSE(line_.high());
  EXPECT_EQ(In(IIR), 0xc0 | IIR_NO_INT);
  EXPECT_EQ(line_.rising_edges(), 1);
}

TEST_F(UartInterruptTest, InputWithoutRdiRaisesNothing) {
  EXPECT_EQ(Give("x"), 1u);
  EXPECT_TRUE(line_.levels().empty());
  EXPECT_TRUE(In(LSR) & LSR_DR);
  Out(IER, IER_RDI);  // enabling later raises it
  EXPECT_TRUE(line_.high());
}

TEST_F(UartInterruptTest, PrioritiesLineStatusThenDataThenThre) {
  // Overrun through loopback, then back to normal with data still queued.
  Out(MCR, MCR_LOOP | MCR_OUT2);
  for (int i = 0; i < 17; ++i) Out(TX, 'a' + i);
  Out(MCR, MCR_OUT2);
  Out(IER, IER_RDI | IER_THRI | IER_RLSI | IER_MSI);
  EXPECT_TRUE(line_.high());
  EXPECT_EQ(In(IIR) & IIR_ID, 0x06);  // receiver line status
  In(LSR);                            // clears OE
  EXPECT_EQ(In(IIR) & IIR_ID, 0x04);  // received data
  Drain();
  EXPECT_EQ(In(IIR) & IIR_ID, 0x02);  // THR empty (and now acknowledged)
  // Leaving loopback changed the modem lines: modem status is last.
  EXPECT_EQ(In(IIR) & (IIR_ID | IIR_NO_INT), 0x00);
  In(MSR);
  EXPECT_EQ(In(IIR), 0xc0 | IIR_NO_INT);
  EXPECT_FALSE(line_.high());
}

TEST_F(UartInterruptTest, Out2GatesTheLine) {
  Out(MCR, MCR_DTR | MCR_RTS);  // OUT2 off
  Out(IER, IER_RDI | IER_THRI);
  Give("q");
  EXPECT_FALSE(In(IIR) & IIR_NO_INT);  // pending inside the UART ...
  EXPECT_FALSE(line_.high());          // ... but not on the wire
  Out(MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
  EXPECT_TRUE(line_.high());
  Out(MCR, MCR_LOOP | MCR_OUT2);  // loopback disconnects it again
  EXPECT_FALSE(line_.high());
}

TEST_F(UartInterruptTest, RoomAndRoomCallback) {
  int calls = 0;
  uart_.SetRoomCallback([&] { ++calls; });
  EXPECT_EQ(uart_.InputRoom(), Uart8250::kFifoSize);
  std::string big(40, 'b');
  for (size_t i = 0; i < big.size(); ++i) big[i] = 'A' + i % 26;
  EXPECT_EQ(Give(big), Uart8250::kFifoSize);  // takes what fits, no overrun
  EXPECT_EQ(uart_.InputRoom(), 0u);
  EXPECT_EQ(Give(big), 0u);
  EXPECT_FALSE(In(LSR) & LSR_OE);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(In(RX), 'A');
  EXPECT_EQ(calls, 1);  // room went 0 -> 1
  EXPECT_EQ(In(RX), 'B');
  EXPECT_EQ(calls, 1);  // only on the transition
  EXPECT_EQ(uart_.InputRoom(), 2u);
  EXPECT_EQ(Drain(), big.substr(2, 14));
  EXPECT_EQ(calls, 1);
}

TEST_F(UartInterruptTest, NoFifoMeansRoomForOne) {
  Out(FCR, 0);
  EXPECT_EQ(uart_.InputRoom(), 1u);
  EXPECT_EQ(Give("xyz"), 1u);
  EXPECT_EQ(uart_.InputRoom(), 0u);
  EXPECT_EQ(Drain(), "x");
}

TEST_F(UartInterruptTest, LoopbackRefusesHostInputAndCallsBackAfter) {
  int calls = 0;
  uart_.SetRoomCallback([&] { ++calls; });
  Out(MCR, MCR_LOOP);
  EXPECT_EQ(uart_.InputRoom(), 0u);
  EXPECT_EQ(Give("no"), 0u);
  Out(MCR, MCR_OUT2);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(uart_.InputRoom(), Uart8250::kFifoSize);
}

TEST_F(UartInterruptTest, HostSupplyingMoreThanFifoLosesNothing) {
  std::string all;
  for (int i = 0; i < 1000; ++i) all += static_cast<char>(i * 7);
  Out(IER, IER_RDI);
  std::string got;
  size_t offered = 0;
  bool room = true;
  uart_.SetRoomCallback([&] { room = true; });
  while (got.size() < all.size()) {
    if (room && offered < all.size()) {
      offered += Give(all.substr(offered));
      room = uart_.InputRoom() > 0;
    }
    if (line_.high()) got += Drain();  // the guest's interrupt handler
  }
  EXPECT_EQ(got, all);
}

// A host side that takes nothing (a telnet client that never reads, a pts
// nobody reads): THR writes return at once, the bytes wait in the UART,
// and once kTransmitBuffer are held the transmitter reads busy, so the
// guest's writers to this line wait -- the vCPU never does. When the host
// side takes again, everything arrives in order and THR-empty comes back
// with its interrupt. Before, the sink was called on the vCPU thread and a
// blocked one stopped the whole guest.
TEST(UartThreadTest, FullHostSideHoldsTheLineNotTheVcpu) {
  RecordingLine line;
  absl::Mutex mu;
  bool taking = false;
  std::string out;
  Uart8250 uart(&line, [&](absl::Span<const uint8_t> b) -> size_t {
    absl::MutexLock lock(&mu);
    if (!taking) return 0;
    out.append(b.begin(), b.end());
    return b.size();
  });
  uint8_t v = 0x08;  // MCR.OUT2: interrupts reach the line
  uart.Write(MCR, &v, 1);
  v = IER_THRI;
  uart.Write(IER, &v, 1);
  auto lsr = [&] {
    uint8_t r = 0;
    uart.Read(LSR, &r, 1);
    return r & (LSR_THRE | LSR_TEMT);
  };
  std::string sent;
  for (size_t i = 0; i < Uart8250::kTransmitBuffer; ++i) {
    ASSERT_EQ(lsr(), LSR_THRE | LSR_TEMT) << "busy after " << i << " bytes";
    uint8_t c = 'a' + i % 26;
    sent += static_cast<char>(c);
    uart.Write(TX, &c, 1);  // returns: nothing blocks
  }
  EXPECT_EQ(lsr(), 0) << "the transmitter should read busy";
  EXPECT_FALSE(line.high()) << "no THR-empty interrupt while busy";
  // A driver that writes anyway (Linux's console after its 10 ms wait) is
  // heard up to the hard limit; beyond it bytes are dropped and counted.
  for (size_t i = Uart8250::kTransmitBuffer;
       i < Uart8250::kTransmitHardLimit + 10; ++i) {
    uint8_t c = 'A' + i % 26;
    if (i < Uart8250::kTransmitHardLimit) sent += static_cast<char>(c);
    uart.Write(TX, &c, 1);
  }
  EXPECT_EQ(uart.transmit_dropped(), 10u);
  {
    absl::MutexLock lock(&mu);
    taking = true;
  }
  uart.TransmitRoom();
  EXPECT_EQ(lsr(), LSR_THRE | LSR_TEMT);
  EXPECT_TRUE(line.high()) << "THR-empty interrupt once the line drains";
  absl::MutexLock lock(&mu);
  EXPECT_TRUE(out == sent);
}

TEST(UartThreadTest, ConcurrentWritersKeepEachStreamInOrder) {
  RecordingLine line;
  absl::Mutex mu;
  std::string out;
  Uart8250 uart(&line, [&](absl::Span<const uint8_t> b) {
    absl::MutexLock lock(&mu);
    out.append(b.begin(), b.end());
    return b.size();
  });
  constexpr int kEach = 5000;
  auto writer = [&](char base) {
    for (int i = 0; i < kEach; ++i) {
      uint8_t c = base + i % 10;
      uart.Write(TX, &c, 1);
    }
  };
  std::thread a(writer, 'a'), b(writer, 'A');
  std::thread reader([&] {
    uint8_t v;
    for (int i = 0; i < 20000; ++i) uart.Read(i % 8, &v, 1);
  });
  a.join();
  b.join();
  reader.join();
  std::string lower, upper;
  for (char c : out) (c >= 'a' ? lower : upper) += c;
  ASSERT_EQ(lower.size(), static_cast<size_t>(kEach));
  ASSERT_EQ(upper.size(), static_cast<size_t>(kEach));
  for (int i = 0; i < kEach; ++i) {
    ASSERT_EQ(lower[i], 'a' + i % 10);
    ASSERT_EQ(upper[i], 'A' + i % 10);
  }
}

}  // namespace
}  // namespace kuml

namespace kuml {
namespace {

// Magic SysRq over the line: a break (NUL with LSR.BI, line-status
// interrupt) followed by the key, read the way serial8250_rx_chars does.
TEST_F(UartInterruptTest, BreakThenKeyAsLinuxReadsIt) {
  constexpr uint8_t LSR_BI = 0x10;
  Out(IER, IER_RDI | IER_RLSI);
  ASSERT_TRUE(uart_.ReceiveBreak('h'));
  EXPECT_TRUE(line_.high());
  EXPECT_EQ(In(IIR), 0xc0 | 0x06);  // receiver line status first
  uint8_t lsr = In(LSR);
  EXPECT_EQ(lsr & (LSR_DR | LSR_BI), LSR_DR | LSR_BI);
  EXPECT_EQ(In(LSR) & LSR_BI, LSR_BI);  // tied to the head character
  EXPECT_EQ(In(RX), 0);                 // the break's NUL
  lsr = In(LSR);
  EXPECT_EQ(lsr & (LSR_DR | LSR_BI), LSR_DR);
  EXPECT_EQ(In(IIR), 0xc0 | 0x04);
  EXPECT_EQ(In(RX), 'h');
  EXPECT_FALSE(line_.high());
}

TEST_F(UartInterruptTest, BreakNeedsRoomForBoth) {
  EXPECT_EQ(Give(std::string(15, 'x')), 15u);
  EXPECT_FALSE(uart_.ReceiveBreak('h'));  // one slot left: nothing queued
  EXPECT_EQ(uart_.InputRoom(), 1u);
  EXPECT_EQ(Drain(), std::string(15, 'x'));
  EXPECT_TRUE(uart_.ReceiveBreak('h'));
  EXPECT_EQ(Drain(), std::string("\0h", 2));
  EXPECT_EQ(In(LSR) & 0x10, 0);
}

}  // namespace
}  // namespace kuml
