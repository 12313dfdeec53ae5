#include "devices/chan/input_pump.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <string>

#include "devices/chan/fd_channel.h"
#include "gtest/gtest.h"
#include "util/unique_fd.h"

namespace kuml {
namespace {

// A sink with an adjustable capacity, standing in for a line device.
class FakeSink : public InputSink {
 public:
  size_t InputRoom() override {
    return held.size() >= capacity ? 0 : capacity - held.size();
  }
  size_t ReceiveInput(absl::Span<const uint8_t> bytes) override {
    size_t n = std::min(InputRoom(), bytes.size());
    held.insert(held.end(), bytes.begin(), bytes.begin() + n);
    return n;
  }
  void SetRoomCallback(std::function<void()>) override {}
  // The guest reads up to `n` bytes.
  std::string Take(size_t n) {
    std::string s;
    while (n-- > 0 && !held.empty()) {
      s += static_cast<char>(held.front());
      held.pop_front();
    }
    return s;
  }

  size_t capacity = 4;
  std::deque<uint8_t> held;
};

class InputPumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
    r_.Reset(fds[0]);
    w_.Reset(fds[1]);
    FdChannel::Options options;
    options.in_fd = r_.get();
    auto chan = FdChannel::Create(options);
    ASSERT_TRUE(chan.ok());
    chan_ = std::move(*chan);
  }
  void Send(const std::string& s) {
    ASSERT_EQ(write(w_.get(), s.data(), s.size()),
              static_cast<ssize_t>(s.size()));
  }

  UniqueFd r_, w_;
  std::unique_ptr<FdChannel> chan_;
  FakeSink sink_;
};

using Next = InputPump::Next;

TEST_F(InputPumpTest, ReadsOnlyWhatFitsAndPausesWhenFull) {
  InputPump pump(chan_.get(), &sink_);
  Send("abcdefghij");
  EXPECT_EQ(pump.Pump(), Next::kPause);  // 4 taken, sink full
  EXPECT_EQ(pump.pending(), 0u);         // the rest is still in the pipe
  EXPECT_EQ(pump.Pump(), Next::kPause);  // spurious call: nothing read
  EXPECT_EQ(sink_.Take(3), "abc");
  EXPECT_EQ(pump.Pump(), Next::kPause);  // "efg" fills it again
  EXPECT_EQ(sink_.Take(10), "defg");
  EXPECT_EQ(pump.Pump(), Next::kWatch);  // "hij" leaves room for one
  EXPECT_EQ(sink_.Take(10), "hij");
  EXPECT_EQ(pump.Pump(), Next::kWatch);  // room, and the pipe is empty
}

TEST_F(InputPumpTest, NothingWaitingKeepsWatching) {
  InputPump pump(chan_.get(), &sink_);
  EXPECT_EQ(pump.Pump(), Next::kWatch);
  Send("ab");
  EXPECT_EQ(pump.Pump(), Next::kWatch);
  EXPECT_EQ(sink_.Take(9), "ab");
}

TEST_F(InputPumpTest, ShrunkSinkKeepsLeftoversAndOffersThemFirst) {
  // A sink whose room shrinks between the check and the hand-over.
  class Shrinking : public FakeSink {
   public:
    size_t ReceiveInput(absl::Span<const uint8_t> bytes) override {
      if (shrink_next) {
        capacity = 1;
        shrink_next = false;
      }
      return FakeSink::ReceiveInput(bytes);
    }
    bool shrink_next = true;
  } sink;
  InputPump pump(chan_.get(), &sink);
  Send("wxyz");
  EXPECT_EQ(pump.Pump(), Next::kPause);
  EXPECT_EQ(pump.pending(), 3u);  // read 4, sink took 1: kept, not dropped
  Send("!");
  EXPECT_EQ(sink.Take(1), "w");
  EXPECT_EQ(pump.Pump(), Next::kPause);  // "x" handed over, "yz" still held
  EXPECT_EQ(sink.Take(1), "x");
  sink.capacity = 8;
  EXPECT_EQ(pump.Pump(), Next::kWatch);  // "yz" then "!" from the pipe
  EXPECT_EQ(sink.Take(9), "yz!");
}

TEST_F(InputPumpTest, EofStops) {
  InputPump pump(chan_.get(), &sink_);
  Send("hi");
  w_.Reset();
  EXPECT_EQ(pump.Pump(), Next::kWatch);
  EXPECT_EQ(pump.Pump(), Next::kStop);
  EXPECT_TRUE(pump.status().ok());
  EXPECT_EQ(pump.Pump(), Next::kStop);
  EXPECT_EQ(sink_.Take(9), "hi");
}

TEST_F(InputPumpTest, ChunkLimitsEachRead) {
  sink_.capacity = 100;
  InputPump pump(chan_.get(), &sink_, /*chunk=*/3);
  Send("abcdefg");
  EXPECT_EQ(pump.Pump(), Next::kWatch);
  EXPECT_EQ(sink_.Take(99), "abc");
  EXPECT_EQ(pump.Pump(), Next::kWatch);
  EXPECT_EQ(pump.Pump(), Next::kWatch);
  EXPECT_EQ(sink_.Take(99), "defg");
}

TEST(InputPumpNoInput, ChannelWithoutInputStopsAtOnce) {
  auto chan = FdChannel::Create(FdChannel::Options());
  ASSERT_TRUE(chan.ok());
  FakeSink sink;
  InputPump pump(chan->get(), &sink);
  EXPECT_EQ(pump.Pump(), Next::kStop);
}

}  // namespace
}  // namespace kuml
