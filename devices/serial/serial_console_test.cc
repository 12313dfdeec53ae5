// The console path end to end on real fds: host pipe -> FdChannel ->
// InputPump (driven by a poll loop standing in for the event loop) -> UART
// receive FIFO -> a guest thread that drains on interrupts; and UART THR ->
// LoopOutput -> FdChannel -> a pipe with a slow reader.
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "devices/chan/fd_channel.h"
#include "devices/chan/input_pump.h"
#include "devices/chan/loop_output.h"
#include "devices/serial/uart_8250.h"
#include "gtest/gtest.h"
#include "util/unique_fd.h"
#include "vmm/event_loop.h"

namespace kuml {
namespace {

constexpr uint64_t RX = 0, IER = 1, FCR = 2, LCR = 3, MCR = 4, LSR = 5;

class WaitableLine : public InterruptLine {
 public:
  void SetLevel(bool high) override {
    absl::MutexLock lock(&mu_);
    high_ = high;
  }
  // What the guest's CPU does: waits for the interrupt.
  void WaitHigh() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&high_));
  }

 private:
  absl::Mutex mu_;
  bool high_ = false;
};

void Pipe(UniqueFd* r, UniqueFd* w) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  r->Reset(fds[0]);
  w->Reset(fds[1]);
}

uint8_t In(Uart8250& uart, uint64_t reg) {
  uint8_t v;
  uart.Read(reg, &v, 1);
  return v;
}
void Out(Uart8250& uart, uint64_t reg, uint8_t v) { uart.Write(reg, &v, 1); }

TEST(SerialConsoleTest, HostInputLargerThanFifoArrivesWhole) {
  UniqueFd host_r, host_w;
  Pipe(&host_r, &host_w);
  FdChannel::Options options;
  options.in_fd = host_r.get();
  auto channel = FdChannel::Create(options);
  ASSERT_TRUE(channel.ok()) << channel.status();

  WaitableLine line;
  Uart8250 uart(&line, nullptr);
  // The driver's startup: 8N1, FIFOs on, OUT2 (IRQ enabled), RX interrupt.
  Out(uart, LCR, 0x03);
  Out(uart, FCR, 0x01 | 0x02);
  Out(uart, MCR, 0x0b);
  Out(uart, IER, 0x01);

  UniqueFd wake(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  ASSERT_TRUE(wake.valid());
  uart.SetRoomCallback([&] {
    uint64_t one = 1;
    ASSERT_EQ(write(wake.get(), &one, sizeof(one)), 8);
  });

  std::string data;
  for (int i = 0; i < 64 * 1024; ++i)
    data += static_cast<char>(i * 31 + i / 256);

  std::thread host([&] {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = write(host_w.get(), data.data() + off,
                        std::min<size_t>(data.size() - off, 10000));
      ASSERT_GT(n, 0);
      off += n;
    }
    host_w.Reset();  // EOF
  });

  InputPump pump(channel->get(), &uart);
  InputPump::Next stopped_with = InputPump::Next::kWatch;
  int pauses = 0;
  std::thread loop([&] {
    bool watching = true;
    for (;;) {
      struct pollfd fds[2] = {
          {watching ? (*channel)->input_fd() : -1, POLLIN, 0},
          {wake.get(), POLLIN, 0}};
      ASSERT_GE(poll(fds, 2, -1), 0);
      if (fds[1].revents) {
        uint64_t count;
        ASSERT_EQ(read(wake.get(), &count, sizeof(count)), 8);
      }
      InputPump::Next next = pump.Pump();
      if (next == InputPump::Next::kStop) {
        stopped_with = next;
        return;
      }
      if (next == InputPump::Next::kPause) ++pauses;
      watching = next == InputPump::Next::kWatch;
    }
  });

  // The guest: an interrupt handler that drains the FIFO, a little slowly.
  std::string got;
  while (got.size() < data.size()) {
    line.WaitHigh();
    while (In(uart, LSR) & 0x01) got += static_cast<char>(In(uart, RX));
    if (got.size() % 4096 < 16) absl::SleepFor(absl::Microseconds(200));
  }
  host.join();
  loop.join();
  EXPECT_EQ(stopped_with, InputPump::Next::kStop);
  EXPECT_TRUE(pump.status().ok()) << pump.status();
  EXPECT_GT(pauses, 0);  // the FIFO did fill up and push back
  ASSERT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
  EXPECT_FALSE(In(uart, LSR) & 0x02);  // never an overrun
}

TEST(SerialConsoleTest, GuestOutputReachesSlowHostReaderInOrder) {
  UniqueFd host_r, host_w;
  Pipe(&host_r, &host_w);
  ASSERT_GE(fcntl(host_w.get(), F_SETPIPE_SZ, 4096), 0);
  FdChannel::Options options;
  options.out_fd = host_w.get();
  auto channel = FdChannel::Create(options);
  ASSERT_TRUE(channel.ok()) << channel.status();
  Channel* chan = channel->get();
  // As the Machine wires it: the UART offers to a LoopOutput on the event
  // loop, which calls TransmitRoom() when the pipe has room again.
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok()) << loop.status();
  std::thread loop_thread([&] { (*loop)->Run(); });
  Uart8250* uart_ptr = nullptr;
  LoopOutput output(loop->get(), chan, [&] { uart_ptr->TransmitRoom(); });
  WaitableLine line;
  Uart8250 uart(&line, [&output](absl::Span<const uint8_t> bytes) {
    return output.Offer(bytes);
  });
  uart_ptr = &uart;

  std::string sent;
  for (int i = 0; i < 50000; ++i) sent += static_cast<char>('!' + i % 90);
  std::string received;
  std::thread reader([&] {
    char buf[512];
    while (received.size() < sent.size()) {
      absl::SleepFor(absl::Microseconds(100));
      ssize_t n = read(host_r.get(), buf, sizeof(buf));
      ASSERT_GT(n, 0);
      received.append(buf, n);
    }
  });
  for (char c : sent) {
    while (!(In(uart, LSR) & 0x20)) {
    }
    Out(uart, 0, c);
  }
  reader.join();
  (*loop)->Stop();
  loop_thread.join();
  EXPECT_TRUE(received == sent);
}

}  // namespace
}  // namespace kuml
