// virtio-console ports on real host channels, with the event loop running
// on its own thread as in the Machine: output back-pressure through a pty
// nobody reads yet, input from a pty, a reader that goes away.
#include "devices/virtio/console_channel_port.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "devices/chan/fd_channel.h"
#include "devices/chan/host_terminal.h"
#include "devices/virtio/console_test_fixture.h"
#include "gtest/gtest.h"
#include "util/unique_fd.h"
#include "vmm/event_loop.h"

namespace kuml {
namespace {

class ConsoleChannelPortTest : public ConsoleDriverFixture {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create();
    ASSERT_TRUE(loop.ok());
    loop_ = std::move(*loop);
    thread_ = std::thread([this] { loop_->Run(); });
  }
  void TearDown() override {
    loop_->Stop();
    thread_.join();
    transport_.reset();  // the ports leave the loop before it goes
  }
  void StartOn(Channel* channel) {
    VirtioConsole::PortConfig port;
    port.name = "ssl0";
    port.handler = std::make_shared<ConsoleChannelPort>(loop_.get(), channel);
    Start({port});
    Handshake();
  }
  // Used chains of queue `q`, waiting up to `wait` for `want` of them.
  int CountUsed(uint16_t q, int want, absl::Duration wait) {
    int used = 0;
    absl::Time end = absl::Now() + wait;
    while (used < want && absl::Now() < end) {
      if (queues_[q]->PopUsed()) {
        ++used;
      } else {
        absl::SleepFor(absl::Milliseconds(5));
      }
    }
    return used;
  }

  std::unique_ptr<EventLoop> loop_;
  std::thread thread_;
};

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + seed) % 251);
  return s;
}

TEST_F(ConsoleChannelPortTest, SlowReaderBackPressuresNeverDrops) {
  auto pts = PtsChannel::Open(true);
  ASSERT_TRUE(pts.ok());
  StartOn(pts->get());
  // 16 x 16 KiB: far more than a pty holds while nobody reads it.
  std::string sent;
  for (int i = 0; i < kQueue; ++i) {
    std::string chunk = Pattern(16384, i);
    Send(Tx(0), chunk);
    sent += chunk;
  }
  int used = CountUsed(Tx(0), kQueue, absl::Milliseconds(300));
  EXPECT_LT(used, kQueue) << "the guest was never held back";
  // Now a reader comes: everything arrives, in order, and the guest gets
  // every buffer back.
  UniqueFd user(open((*pts)->slave_path().c_str(), O_RDONLY | O_NOCTTY));
  std::string got;
  while (got.size() < sent.size()) {
    struct pollfd p = {user.get(), POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) break;
    char buf[65536];
    ssize_t n = read(user.get(), buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, n);
  }
  EXPECT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent) << "output corrupted or reordered";
  used += CountUsed(Tx(0), kQueue - used, absl::Seconds(5));
  EXPECT_EQ(used, kQueue);
}

TEST_F(ConsoleChannelPortTest, InputFromThePtyReachesTheGuest) {
  auto pts = PtsChannel::Open(true);
  ASSERT_TRUE(pts.ok());
  StartOn(pts->get());
  UniqueFd user(open((*pts)->slave_path().c_str(), O_RDWR | O_NOCTTY));
  ASSERT_EQ(write(user.get(), "typed early", 11), 11);  // before any buffer
  uint64_t gpa = PostReceive(Rx(0), 64);
  SendControl(0, kVirtioConsolePortOpen, 1);  // a guest program opens it
  absl::optional<VirtqUsedElem> used;
  for (int i = 0; i < 1000 && !used; ++i) {
    used = queues_[Rx(0)]->PopUsed();
    if (!used) absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_TRUE(used.has_value());
  EXPECT_EQ(ReadGuest(gpa, used->len), "typed early");
}

TEST_F(ConsoleChannelPortTest, ReaderThatLeavesDoesNotStopTheGuest) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  UniqueFd reader(fds[0]);
  FdChannel::Options options;
  options.out_fd = fds[1];
  options.ownership = FdChannel::Ownership::kOwned;
  auto channel = FdChannel::Create(options);
  ASSERT_TRUE(channel.ok());
  StartOn(channel->get());
  Send(Tx(0), "seen");
  EXPECT_EQ(CountUsed(Tx(0), 1, absl::Seconds(5)), 1);
  char buf[8];
  EXPECT_EQ(read(reader.get(), buf, sizeof buf), 4);
  reader.Reset();  // the host side goes away
  for (int i = 0; i < 4; ++i) Send(Tx(0), std::string(100000, 'x'));
  EXPECT_EQ(CountUsed(Tx(0), 4, absl::Seconds(5)), 4);
  EXPECT_EQ(console_->stats(0).bytes_out, 4u + 400000u);
}

}  // namespace
}  // namespace kuml
