#include "devices/chan/fd_channel.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "util/unique_fd.h"

namespace kuml {
namespace {

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) != -1; }

void Pipe(UniqueFd* r, UniqueFd* w, int flags = 0) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC | flags), 0);
  r->Reset(fds[0]);
  w->Reset(fds[1]);
}

absl::Span<const uint8_t> Bytes(const std::string& s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()),
                             s.size());
}

FdChannel::Options Fds(int in, int out) {
  FdChannel::Options options;
  options.in_fd = in;
  options.out_fd = out;
  return options;
}

// Reads until `want` bytes or EOF.
std::string ReadAll(int fd, size_t want, absl::Duration pause) {
  std::string got;
  char buf[1000];
  while (got.size() < want) {
    if (pause > absl::ZeroDuration()) absl::SleepFor(pause);
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    got.append(buf, n);
  }
  return got;
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + i / 977);
  return s;
}

TEST(FdChannelTest, ReadsWhatIsWaitingAndSaysWhenNothingIs) {
  UniqueFd r, w;
  Pipe(&r, &w);
  auto chan = FdChannel::Create(Fds(r.get(), -1));
  ASSERT_TRUE(chan.ok()) << chan.status();
  EXPECT_EQ((*chan)->input_fd(), r.get());
  uint8_t buf[16];
  // The pipe is in blocking mode, yet Read must not block.
  auto got = (*chan)->Read(absl::MakeSpan(buf));
  EXPECT_TRUE(absl::IsUnavailable(got.status())) << got.status();
  ASSERT_EQ(write(w.get(), "hello", 5), 5);
  got = (*chan)->Read(absl::MakeSpan(buf));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), *got), "hello");
  // The fd's flags were left alone.
  EXPECT_FALSE(fcntl(r.get(), F_GETFL) & O_NONBLOCK);
}

TEST(FdChannelTest, ReadRespectsBufferSize) {
  UniqueFd r, w;
  Pipe(&r, &w);
  auto chan = FdChannel::Create(Fds(r.get(), -1));
  ASSERT_TRUE(chan.ok());
  ASSERT_EQ(write(w.get(), "abcdef", 6), 6);
  uint8_t buf[4];
  auto got = (*chan)->Read(absl::MakeSpan(buf, 2));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 2u);
  got = (*chan)->Read(absl::MakeSpan(buf, 4));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), *got), "cdef");
  EXPECT_FALSE((*chan)->Read(absl::Span<uint8_t>()).ok());  // empty buffer
}

TEST(FdChannelTest, EofStopsInputQuietly) {
  UniqueFd r, w;
  Pipe(&r, &w);
  auto chan = FdChannel::Create(Fds(r.get(), -1));
  ASSERT_TRUE(chan.ok());
  ASSERT_EQ(write(w.get(), "x", 1), 1);
  w.Reset();
  uint8_t buf[8];
  auto got = (*chan)->Read(absl::MakeSpan(buf));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 1u);
  got = (*chan)->Read(absl::MakeSpan(buf));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 0u);
  EXPECT_EQ((*chan)->input_fd(), -1);  // nothing left to watch
  got = (*chan)->Read(absl::MakeSpan(buf));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 0u);
  EXPECT_TRUE(IsOpen(r.get()));  // borrowed: still open
}

TEST(FdChannelTest, DevNullInputIsImmediateEof) {
  UniqueFd null(open("/dev/null", O_RDONLY | O_CLOEXEC));
  UniqueFd r, w;
  Pipe(&r, &w);
  auto chan = FdChannel::Create(Fds(null.get(), w.get()));
  ASSERT_TRUE(chan.ok()) << chan.status();
  uint8_t buf[8];
  auto got = (*chan)->Read(absl::MakeSpan(buf));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 0u);
  // Output is unaffected by the end of input.
  ASSERT_TRUE((*chan)->Write(Bytes("still here")).ok());
  EXPECT_EQ(ReadAll(r.get(), 10, absl::ZeroDuration()), "still here");
}

TEST(FdChannelTest, NoInputSideIsEofAndNoOutputSideDiscards) {
  auto chan = FdChannel::Create(Fds(-1, -1));
  ASSERT_TRUE(chan.ok());
  EXPECT_EQ((*chan)->input_fd(), -1);
  uint8_t buf[4];
  auto got = (*chan)->Read(absl::MakeSpan(buf));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 0u);
  EXPECT_TRUE((*chan)->Write(Bytes("into the void")).ok());
}

TEST(FdChannelTest, WritesThroughSplitFds) {
  UniqueFd in_r, in_w, out_r, out_w;
  Pipe(&in_r, &in_w);
  Pipe(&out_r, &out_w);
  auto chan = FdChannel::Create(Fds(in_r.get(), out_w.get()));
  ASSERT_TRUE(chan.ok());
  ASSERT_TRUE((*chan)->Write(Bytes("out\r\n")).ok());
  EXPECT_EQ(ReadAll(out_r.get(), 5, absl::ZeroDuration()), "out\r\n");
}

// Output back-pressure: far more than the pipe holds, a slow reader; every
// byte must arrive, in order, whether the fd blocks or returns EAGAIN.
void BackPressure(bool nonblocking) {
  UniqueFd r, w;
  Pipe(&r, &w);
  // Only the writer's end: O_NONBLOCK is per open file, and the reader
  // wants to block.
  if (nonblocking) {
    ASSERT_EQ(fcntl(w.get(), F_SETFL, O_NONBLOCK), 0);
  }
  ASSERT_GE(fcntl(w.get(), F_SETPIPE_SZ, 4096), 0);
  auto chan = FdChannel::Create(Fds(-1, w.get()));
  ASSERT_TRUE(chan.ok());
  const std::string data = Pattern(300 * 1000);
  std::string got;
  std::thread reader(
      [&] { got = ReadAll(r.get(), data.size(), absl::Microseconds(300)); });
  // Large and small writes, from two threads: chunks never interleave.
  size_t half = data.size() / 2;
  ASSERT_TRUE((*chan)->Write(Bytes(data.substr(0, half))).ok());
  for (size_t off = half; off < data.size(); off += 7) {
    ASSERT_TRUE((*chan)->Write(Bytes(data.substr(off, 7))).ok());
  }
  // EOF for the reader, so a short write shows up as a failure, not a hang.
  chan->reset();
  w.Reset();
  reader.join();
  ASSERT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
}

TEST(FdChannelTest, BackPressureOnBlockingPipe) { BackPressure(false); }
TEST(FdChannelTest, BackPressureOnNonBlockingPipe) { BackPressure(O_NONBLOCK); }

TEST(FdChannelTest, SocketpairBothWaysWithBackPressure) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd ours(sv[0]), peer(sv[1]);
  int small = 4096;
  setsockopt(ours.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  ASSERT_EQ(fcntl(ours.get(), F_SETFL, O_NONBLOCK), 0);
  // `con2=fd:3`: one fd both ways.
  auto chan = FdChannel::Create(Fds(ours.get(), ours.get()));
  ASSERT_TRUE(chan.ok()) << chan.status();

  ASSERT_EQ(write(peer.get(), "ping", 4), 4);
  uint8_t buf[8];
  auto got = (*chan)->Read(absl::MakeSpan(buf));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), *got), "ping");

  const std::string data = Pattern(200 * 1000);
  std::string received;
  std::thread reader([&] {
    received = ReadAll(peer.get(), data.size(), absl::Microseconds(200));
  });
  ASSERT_TRUE((*chan)->Write(Bytes(data)).ok());
  shutdown(ours.get(), SHUT_WR);
  reader.join();
  EXPECT_TRUE(received == data);
}

TEST(FdChannelTest, VanishedReaderIsAnErrorNotSigpipe) {
  UniqueFd r, w;
  Pipe(&r, &w);
  auto chan = FdChannel::Create(Fds(-1, w.get()));
  ASSERT_TRUE(chan.ok());
  r.Reset();
  // SIGPIPE at its default action would kill the test binary here.
  absl::Status status = (*chan)->Write(Bytes("anyone?"));
  EXPECT_FALSE(status.ok());
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE));  // swallowed, not left over

  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd ours(sv[0]);
  close(sv[1]);
  auto sock = FdChannel::Create(Fds(-1, ours.get()));
  ASSERT_TRUE(sock.ok());
  EXPECT_FALSE((*sock)->Write(Bytes("anyone?")).ok());
}

TEST(FdChannelTest, BorrowedFdsStayOpenOwnedFdsClose) {
  UniqueFd r, w;
  Pipe(&r, &w);
  {
    auto chan = FdChannel::Create(Fds(r.get(), w.get()));
    ASSERT_TRUE(chan.ok());
    (*chan)->Close();
    (*chan)->Close();  // idempotent
    EXPECT_EQ((*chan)->input_fd(), -1);
    EXPECT_FALSE((*chan)->Write(Bytes("x")).ok());
  }
  EXPECT_TRUE(IsOpen(r.get()));
  EXPECT_TRUE(IsOpen(w.get()));

  int in = r.Release(), out = w.Release();
  FdChannel::Options options = Fds(in, out);
  options.ownership = FdChannel::Ownership::kOwned;
  {
    auto chan = FdChannel::Create(options);
    ASSERT_TRUE(chan.ok());
  }
  EXPECT_FALSE(IsOpen(in));
  EXPECT_FALSE(IsOpen(out));
}

TEST(FdChannelTest, OwnedSameFdBothWaysClosedOnce) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd peer(sv[1]);
  FdChannel::Options options = Fds(sv[0], sv[0]);
  options.ownership = FdChannel::Ownership::kOwned;
  auto chan = FdChannel::Create(options);
  ASSERT_TRUE(chan.ok());
  (*chan)->Close();
  EXPECT_FALSE(IsOpen(sv[0]));
  // A second close would hit whatever reuses the number: check it survives.
  UniqueFd reuse(open("/dev/null", O_RDONLY));
  chan->reset();
  EXPECT_TRUE(IsOpen(reuse.get()));
}

TEST(FdChannelBadInput, ClosedFdsAndWrongDirections) {
  int fd = open("/dev/null", O_RDONLY);
  close(fd);
  EXPECT_FALSE(FdChannel::Create(Fds(fd, -1)).ok());
  EXPECT_FALSE(FdChannel::Create(Fds(-1, fd)).ok());
  EXPECT_FALSE(FdChannel::Create(Fds(4000, -1)).ok());
  UniqueFd r, w;
  Pipe(&r, &w);
  auto status = FdChannel::Create(Fds(w.get(), -1)).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  status = FdChannel::Create(Fds(-1, r.get())).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
}

TEST(FdChannelBadInput, FailedCreateStillClosesOwnedFds) {
  UniqueFd r, w;
  Pipe(&r, &w);
  int in = r.Release();
  FdChannel::Options options = Fds(in, in);  // read end is not writable
  options.ownership = FdChannel::Ownership::kOwned;
  EXPECT_FALSE(FdChannel::Create(options).ok());
  EXPECT_FALSE(IsOpen(in));
}

TEST(FdChannelTest, TerminalIsRawWhileOpenAndRestoredOnClose) {
  UniqueFd master(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(master.valid());
  ASSERT_EQ(grantpt(master.get()), 0);
  ASSERT_EQ(unlockpt(master.get()), 0);
  UniqueFd slave(open(ptsname(master.get()), O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(slave.valid());
  struct termios before;
  ASSERT_EQ(tcgetattr(slave.get(), &before), 0);
  ASSERT_TRUE(before.c_lflag & ICANON);

  auto chan = FdChannel::Create(Fds(slave.get(), slave.get()));
  ASSERT_TRUE(chan.ok());
  struct termios during;
  ASSERT_EQ(tcgetattr(slave.get(), &during), 0);
  EXPECT_FALSE(during.c_lflag & (ICANON | ECHO | ISIG));
  EXPECT_FALSE(during.c_oflag & OPOST);

  // Raw input: a Ctrl-C and a lone CR reach the guest untouched, no line
  // buffering; output goes out without NL -> CR NL translation.
  ASSERT_EQ(write(master.get(), "\x03\r", 2), 2);
  absl::SleepFor(absl::Milliseconds(20));
  uint8_t buf[8];
  auto got = (*chan)->Read(absl::MakeSpan(buf));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), *got), "\x03\r");
  ASSERT_TRUE((*chan)->Write(Bytes("a\nb")).ok());
  absl::SleepFor(absl::Milliseconds(20));
  char out[8];
  ssize_t n = read(master.get(), out, sizeof(out));
  EXPECT_EQ(std::string(out, n > 0 ? n : 0), "a\nb");

  (*chan)->Close();
  struct termios after;
  ASSERT_EQ(tcgetattr(slave.get(), &after), 0);
  EXPECT_EQ(after.c_lflag, before.c_lflag);
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  EXPECT_EQ(after.c_oflag, before.c_oflag);
  EXPECT_TRUE(IsOpen(slave.get()));
}

TEST(FdChannelTest, NonRawLeavesTerminalAlone) {
  UniqueFd master(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(master.valid());
  ASSERT_EQ(grantpt(master.get()), 0);
  ASSERT_EQ(unlockpt(master.get()), 0);
  UniqueFd slave(open(ptsname(master.get()), O_RDWR | O_NOCTTY | O_CLOEXEC));
  FdChannel::Options options = Fds(slave.get(), slave.get());
  options.raw = false;  // ssl-non-raw
  auto chan = FdChannel::Create(options);
  ASSERT_TRUE(chan.ok());
  struct termios t;
  ASSERT_EQ(tcgetattr(slave.get(), &t), 0);
  EXPECT_TRUE(t.c_lflag & ICANON);
}

}  // namespace
}  // namespace kuml
