// A host reader of con0 that stops reading holds back the guest's console
// output and nothing else: the serial_flood payload keeps counting in
// memory while its ttyS0 output waits, and the output resumes when the
// reader reads again. Two readers: a telnet client (con0=port:) that never
// reads, and a pipe nobody reads (con0=fd:N). Before, the 8250's output was
// written synchronously on the vCPU thread: the vCPU sat in poll() and the
// whole guest stopped (every process, timer and network reply).
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "devices/chan/fd_channel.h"
#include "devices/chan/port_channel.h"
#include "devices/serial/uart_8250.h"
#include "gtest/gtest.h"
#include "machine/machine.h"
#include "tests/payload_runner.h"
#include "util/unique_fd.h"
#include "vmm/cpu/host_kvm.h"
#include "vmm/kvm/kvm.h"

namespace kuml {
namespace {

constexpr uint64_t kCounterAddr = 0x300000;
constexpr uint64_t kSentAddr = 0x300004;

class ConsoleBackpressureTest : public ::testing::Test {
 protected:
  void Boot(Channel* console) {
    absl::StatusOr<Kvm> kvm = Kvm::Open();
    ASSERT_TRUE(kvm.ok()) << kvm.status();
    MachineConfig config;
    config.kernel_path = PayloadPath("serial_flood");
    config.console = console;
    auto machine = Machine::Create(*kvm, DetectKvmFlavor(), config);
    ASSERT_TRUE(machine.ok()) << machine.status();
    machine_ = std::move(*machine);
    runner_ = std::thread([this] { stop_ = machine_->Run(); });
  }
  void TearDown() override {
    if (machine_ != nullptr) {
      machine_->RequestStop(StopReason::kHalt, "test over");
      runner_.join();
      machine_.reset();
    }
  }
  uint32_t Read(uint64_t gpa) {
    return machine_->memory().ReadObject<uint32_t>(gpa).value_or(0);
  }
  // Waits until the guest's output has stopped flowing (the reader's
  // buffers are full) while the guest has produced at least `min_bytes`.
  void WaitForOutputToStall(uint32_t min_bytes) {
    const absl::Time limit = absl::Now() + absl::Seconds(120);
    uint32_t last = Read(kSentAddr);
    absl::Time since = absl::Now();
    while (absl::Now() < limit) {
      absl::SleepFor(absl::Milliseconds(100));
      const uint32_t now = Read(kSentAddr);
      if (now != last) {
        last = now;
        since = absl::Now();
      } else if (now >= min_bytes &&
                 absl::Now() - since > absl::Milliseconds(1000)) {
        return;
      }
    }
    FAIL() << "the guest's output never stalled (sent " << last << ")";
  }
  // The guest keeps running: its counter advances.
  void ExpectGuestRuns() {
    const uint32_t before = Read(kCounterAddr);
    absl::SleepFor(absl::Seconds(1));
    const uint32_t after = Read(kCounterAddr);
    EXPECT_GT(after, before + 1000)
        << "the guest stopped while its console reader did not read";
  }

  // The host sides outlive the machine (declared first, destroyed last;
  // TearDown stops the machine before any member goes).
  std::shared_ptr<PortServer> server_;
  std::unique_ptr<PortChannel> line_;
  UniqueFd read_end_, write_end_;
  std::unique_ptr<FdChannel> pipe_;
  std::unique_ptr<Machine> machine_;
  std::thread runner_;
  MachineStop stop_;
};

TEST_F(ConsoleBackpressureTest, TelnetClientThatNeverReads) {
  auto server = PortServer::Listen(0);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *server;
  auto line = server_->NewLine();
  ASSERT_TRUE(line.ok());
  line_ = *std::move(line);
  UniqueFd client(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int small = 4096;
  setsockopt(client.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(server_->port());
  ASSERT_EQ(
      connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr),
      0);
  ASSERT_TRUE(line_->WaitForClient(absl::Seconds(5)));
  Boot(line_.get());
  WaitForOutputToStall(Uart8250::kTransmitBuffer);
  ExpectGuestRuns();
  // The client reads: the line's output flows again.
  const uint32_t stalled_at = Read(kSentAddr);
  char buf[65536];
  for (int i = 0; i < 50; ++i) {
    (void)!recv(client.get(), buf, sizeof buf, MSG_DONTWAIT);
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_GT(Read(kSentAddr), stalled_at) << "output did not resume";
}

TEST_F(ConsoleBackpressureTest, PipeNobodyReads) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  read_end_.Reset(p[0]);
  write_end_.Reset(p[1]);
  ASSERT_GE(fcntl(write_end_.get(), F_SETPIPE_SZ, 4096), 0);
  FdChannel::Options options;
  options.out_fd = write_end_.get();
  options.raw = false;
  auto channel = FdChannel::Create(options);
  ASSERT_TRUE(channel.ok()) << channel.status();
  pipe_ = *std::move(channel);
  Boot(pipe_.get());
  WaitForOutputToStall(Uart8250::kTransmitBuffer);
  ExpectGuestRuns();
  const uint32_t stalled_at = Read(kSentAddr);
  char buf[65536];
  for (int i = 0; i < 50; ++i) {
    (void)!read(read_end_.get(), buf, sizeof buf);
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_GT(Read(kSentAddr), stalled_at) << "output did not resume";
}

}  // namespace
}  // namespace kuml
