// The host channels against real peers: ptys driven from the test, a TCP
// client speaking telnet, pipes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "devices/chan/host_terminal.h"
#include "devices/chan/port_channel.h"
#include "devices/chan/split_channel.h"
#include "devices/chan/telnet.h"
#include "devices/chan/xterm_channel.h"
#include "gtest/gtest.h"
#include "util/unique_fd.h"

namespace kuml {
namespace {

absl::Span<const uint8_t> Bytes(const std::string& s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()),
                             s.size());
}

// Reads from `fd` until `want` bytes came or 5 s passed.
std::string ReadFd(int fd, size_t want) {
  std::string got;
  while (got.size() < want) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) break;
    char buf[4096];
    ssize_t n = read(fd, buf, std::min(sizeof buf, want - got.size()));
    if (n <= 0) break;
    got.append(buf, n);
  }
  return got;
}

// Reads what the channel has, waiting up to 5 s for `want` bytes.
std::string ReadChannel(Channel* c, size_t want) {
  std::string got;
  for (int i = 0; i < 500 && got.size() < want; ++i) {
    uint8_t buf[4096];
    absl::StatusOr<size_t> n = c->Read(absl::MakeSpan(buf));
    if (n.ok() && *n > 0) {
      got.append(reinterpret_cast<char*>(buf), *n);
      continue;
    }
    if (n.ok()) break;  // EOF
    struct pollfd p = {c->input_fd(), POLLIN, 0};
    poll(&p, 1, 10);
  }
  return got;
}

bool IsRaw(int fd) {
  struct termios t;
  if (tcgetattr(fd, &t) != 0) return false;
  return !(t.c_lflag & (ECHO | ICANON | ISIG)) && !(t.c_oflag & OPOST);
}

// ---- pts ----

TEST(PtsChannelTest, BothWaysThroughTheSlave) {
  auto pts = PtsChannel::Open(/*raw=*/true);
  ASSERT_TRUE(pts.ok()) << pts.status();
  const std::string path = (*pts)->slave_path();
  EXPECT_EQ(path.rfind("/dev/pts/", 0), 0u) << path;
  UniqueFd user(open(path.c_str(), O_RDWR | O_NOCTTY));
  ASSERT_TRUE(user.valid());
  EXPECT_TRUE(IsRaw(user.get()));
  ASSERT_TRUE((*pts)->Write(Bytes("guest says hi\n")).ok());
  EXPECT_EQ(ReadFd(user.get(), 14), "guest says hi\n");  // raw: no CR added
  ASSERT_EQ(write(user.get(), "typed\r", 6), 6);
  EXPECT_EQ(ReadChannel(pts->get(), 6), "typed\r");
}

TEST(PtsChannelTest, SurvivesTheUserDetachingAndAnotherAttaching) {
  auto pts = PtsChannel::Open(true);
  ASSERT_TRUE(pts.ok());
  const std::string path = (*pts)->slave_path();
  {
    UniqueFd first(open(path.c_str(), O_RDWR | O_NOCTTY));
    ASSERT_EQ(write(first.get(), "a", 1), 1);
    EXPECT_EQ(ReadChannel(pts->get(), 1), "a");
  }  // the user's program exits
  // No hangup, no end of input: output written meanwhile waits in the pty.
  uint8_t buf[16];
  absl::StatusOr<size_t> r = (*pts)->Read(absl::MakeSpan(buf));
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  ASSERT_TRUE((*pts)->Write(Bytes("kept")).ok());
  UniqueFd second(open(path.c_str(), O_RDWR | O_NOCTTY));
  EXPECT_EQ(ReadFd(second.get(), 4), "kept");
}

TEST(PtsChannelTest, WriteSomeStopsWhenFullAndWakesWhenDrained) {
  auto pts = PtsChannel::Open(true);
  ASSERT_TRUE(pts.ok());
  const std::string chunk(4096, 'z');
  size_t written = 0;
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<size_t> n = (*pts)->WriteSome(Bytes(chunk));
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    written += *n;
  }
  ASSERT_GT(written, 0u);
  ASSERT_LT(written, 1000u * 4096) << "never filled";
  Channel::Wakeup w = (*pts)->output_wakeup();
  struct pollfd p = {w.fd, POLLOUT, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0);  // full: not writable
  UniqueFd user(open((*pts)->slave_path().c_str(), O_RDWR | O_NOCTTY));
  EXPECT_EQ(ReadFd(user.get(), written).size(), written);  // nothing lost
  EXPECT_EQ(poll(&p, 1, 5000), 1);
  absl::StatusOr<size_t> n = (*pts)->WriteSome(Bytes("more"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4u);
}

// ---- tty: ----

TEST(TtyChannelTest, OpensAPtySlaveRawAndRestoresIt) {
  UniqueFd master(posix_openpt(O_RDWR | O_NOCTTY));
  ASSERT_TRUE(master.valid());
  ASSERT_EQ(grantpt(master.get()), 0);
  ASSERT_EQ(unlockpt(master.get()), 0);
  const std::string path = ptsname(master.get());
  UniqueFd probe(open(path.c_str(), O_RDWR | O_NOCTTY));
  ASSERT_FALSE(IsRaw(probe.get()));
  {
    auto tty = OpenTtyChannel(path, /*raw=*/true);
    ASSERT_TRUE(tty.ok()) << tty.status();
    EXPECT_TRUE(IsRaw(probe.get()));
    ASSERT_TRUE((*tty)->Write(Bytes("out\n")).ok());
    EXPECT_EQ(ReadFd(master.get(), 4), "out\n");
    ASSERT_EQ(write(master.get(), "in", 2), 2);
    EXPECT_EQ(ReadChannel(tty->get(), 2), "in");
  }
  EXPECT_FALSE(IsRaw(probe.get()));  // restored when the channel closed
}

TEST(TtyChannelTest, NonRawLeavesTheModeAlone) {
  auto pts = PtsChannel::Open(/*raw=*/false);
  ASSERT_TRUE(pts.ok());
  auto tty = OpenTtyChannel((*pts)->slave_path(), /*raw=*/false);
  ASSERT_TRUE(tty.ok());
  UniqueFd probe(open((*pts)->slave_path().c_str(), O_RDWR | O_NOCTTY));
  EXPECT_FALSE(IsRaw(probe.get()));
}

TEST(TtyChannelTest, ErrorsNameThePath) {
  auto missing = OpenTtyChannel("/nonexistent/tty9", true);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("tty:/nonexistent/tty9"),
            std::string::npos);
  auto file = OpenTtyChannel("/dev/null", true);
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("not a terminal"), std::string::npos);
}

// ---- telnet ----

TEST(TelnetTest, DecoderStripsCommandsAndNvtLineEnds) {
  TelnetDecoder d;
  std::string data, reply;
  using std::string_literals::operator""s;
  const std::string in = "ab\r\ncd\r\0e\xff\xff"s +
                         "\xff\xfd\x18"s +  // DO TERMINAL-TYPE: refused
                         "\xff\xfb\x1f"s +  // WILL NAWS: refused
                         "\xff\xfd\x01"s +  // DO ECHO: ours, no answer
                         "\xff\xfa\x18\0xterm\xff\xf0"s +  // a subnegotiation
                         "\xff\xf1"s +                     // NOP
                         "f"s;
  // Byte by byte, to cross every boundary.
  for (char c : in) d.Decode(Bytes(std::string(1, c)), &data, &reply);
  EXPECT_EQ(data,
            "ab\rcd\re\xff"
            "f");
  EXPECT_EQ(reply, "\xff\xfc\x18\xff\xfe\x1f");
}

TEST(TelnetTest, EscapeDoublesIac) {
  EXPECT_EQ(TelnetEscape(Bytes("a\xff"
                               "b")),
            "a\xff\xff"
            "b");
}

// ---- port: ----

UniqueFd Connect(uint16_t port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  EXPECT_EQ(connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr),
            0);
  return fd;
}

TEST(PortChannelTest, TelnetClientTalksToTheLine) {
  auto server = PortServer::Listen(0);
  ASSERT_TRUE(server.ok()) << server.status();
  auto line = (*server)->NewLine();
  ASSERT_TRUE(line.ok());
  EXPECT_FALSE((*line)->has_client());
  UniqueFd client = Connect((*server)->port());
  EXPECT_EQ(ReadFd(client.get(), 9), TelnetGreeting());
  ASSERT_TRUE((*line)->WaitForClient(absl::Seconds(5)));
  ASSERT_TRUE((*line)->Write(Bytes("login: \xff")).ok());
  EXPECT_EQ(ReadFd(client.get(), 9), "login: \xff\xff");
  const std::string typed = "root\r\n\xff\xfd\x18";
  ASSERT_EQ(send(client.get(), typed.data(), typed.size(), 0),
            static_cast<ssize_t>(typed.size()));
  EXPECT_EQ(ReadChannel(line->get(), 5), "root\r");
  EXPECT_EQ(ReadFd(client.get(), 3), "\xff\xfc\x18");  // WONT TERMINAL-TYPE
}

TEST(PortChannelTest, ConnectionsTakeLinesInOrderAndExtraOnesWait) {
  auto server = PortServer::Listen(0);
  ASSERT_TRUE(server.ok());
  auto first = (*server)->NewLine();
  auto second = (*server)->NewLine();
  ASSERT_TRUE(first.ok() && second.ok());
  UniqueFd a = Connect((*server)->port());
  ASSERT_TRUE((*first)->WaitForClient(absl::Seconds(5)));
  UniqueFd b = Connect((*server)->port());
  ASSERT_TRUE((*second)->WaitForClient(absl::Seconds(5)));
  UniqueFd c = Connect((*server)->port());
  for (int i = 0; i < 500 && (*server)->waiting() == 0; ++i) usleep(10000);
  EXPECT_EQ((*server)->waiting(), 1u);  // greeted, but no line for it
  EXPECT_EQ(ReadFd(c.get(), 9), TelnetGreeting());
  ASSERT_TRUE((*first)->Write(Bytes("1")).ok());
  ASSERT_TRUE((*second)->Write(Bytes("2")).ok());
  EXPECT_EQ(ReadFd(a.get(), 10), TelnetGreeting() + "1");
  EXPECT_EQ(ReadFd(b.get(), 10), TelnetGreeting() + "2");
  // The first client leaves: the line goes on with the waiting one.
  a.Reset();
  EXPECT_EQ(ReadChannel(first->get(), 1), "");  // drops the client, no EOF
  ASSERT_TRUE((*first)->WaitForClient(absl::Seconds(5)));
  EXPECT_EQ((*server)->waiting(), 0u);
  ASSERT_TRUE((*first)->Write(Bytes("3")).ok());
  EXPECT_EQ(ReadFd(c.get(), 1), "3");
}

TEST(PortChannelTest, OutputWaitsForAClientWithoutBlocking) {
  auto server = PortServer::Listen(0);
  ASSERT_TRUE(server.ok());
  auto line = (*server)->NewLine();
  ASSERT_TRUE(line.ok());
  absl::StatusOr<size_t> n = (*line)->WriteSome(Bytes("early"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);  // held by the caller (the guest), not dropped
  Channel::Wakeup w = (*line)->output_wakeup();
  struct pollfd p = {w.fd, static_cast<short>(w.events), 0};
  EXPECT_EQ(poll(&p, 1, 0), 0);
  UniqueFd client = Connect((*server)->port());
  EXPECT_EQ(poll(&p, 1, 5000), 1);  // a client came: try again
  n = (*line)->WriteSome(Bytes("early"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 5u);
  EXPECT_EQ(ReadFd(client.get(), 14), TelnetGreeting() + "early");
}

// A flood of connections to a port with one line: at most kMaxWaiting wait,
// the rest are told and closed, and waiting ones that hang up are dropped.
// Before, every connection waited (an unbounded queue of descriptors), and
// dead ones were never noticed.
TEST(PortChannelTest, ConnectionFloodIsCappedAndHungUpWaitersDropped) {
  auto server = PortServer::Listen(0);
  ASSERT_TRUE(server.ok());
  auto line = (*server)->NewLine();
  ASSERT_TRUE(line.ok());
  UniqueFd first = Connect((*server)->port());
  ASSERT_TRUE((*line)->WaitForClient(absl::Seconds(5)));
  std::vector<UniqueFd> flood;
  for (int i = 0; i < 40; ++i) flood.push_back(Connect((*server)->port()));
  for (int i = 0; i < 500 && (*server)->waiting() + (*server)->refused() < 40;
       ++i) {
    usleep(10000);
  }
  EXPECT_EQ((*server)->waiting(), PortServer::kMaxWaiting);
  EXPECT_EQ((*server)->refused(), 40 - PortServer::kMaxWaiting);
  // The last one was turned away with a word, then EOF.
  std::string told;
  char buf[256];
  ssize_t n;
  while ((n = read(flood.back().get(), buf, sizeof buf)) > 0)
    told.append(buf, n);
  EXPECT_NE(told.find("is in use"), std::string::npos) << told;
  // The waiting ones hang up: their descriptors are released at once.
  flood.clear();
  for (int i = 0; i < 500 && (*server)->waiting() > 0; ++i) usleep(10000);
  EXPECT_EQ((*server)->waiting(), 0u);
}

// Out of descriptors, a connection is refused rather than left in the
// listening socket, which would stay readable: before, the accept thread
// spun (2.7 s of CPU in 3 s with 117 dead connections held).
TEST(PortChannelTest, OutOfDescriptorsTheAcceptThreadDoesNotSpin) {
  auto server = PortServer::Listen(0);
  ASSERT_TRUE(server.ok());
  const uint16_t port = (*server)->port();
  struct rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old_limit), 0);
  // Use up every descriptor but a few, then lower the limit to match.
  std::vector<UniqueFd> hog;
  for (;;) {
    UniqueFd fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) break;
    hog.push_back(std::move(fd));
    if (hog.size() > 100000) break;
  }
  const int top = hog.back().get();
  for (int i = 0; i < 3; ++i) hog.pop_back();  // room for 3 client sockets
  struct rlimit low = {static_cast<rlim_t>(top + 1), old_limit.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<UniqueFd> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(Connect(port));
  struct rusage before, after;
  usleep(200000);
  getrusage(RUSAGE_SELF, &before);
  usleep(1000000);
  getrusage(RUSAGE_SELF, &after);
  auto seconds = [](const struct rusage& r) {
    return r.ru_utime.tv_sec + r.ru_stime.tv_sec +
           (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old_limit), 0);
  hog.clear();
  EXPECT_LT(seconds(after) - seconds(before), 0.3)
      << "the accept thread spins while out of descriptors";
  EXPECT_GE((*server)->refused(), 1u);
}

// port:<addr>:<port> listens on that address only (UML's port:<port>, on
// every address).
TEST(PortChannelTest, ListensOnTheGivenAddressOnly) {
  auto server = PortServer::Listen(0, Ipv4Address{{127, 0, 0, 1}});
  ASSERT_TRUE(server.ok()) << server.status();
  auto any = PortServer::Listen(0);
  ASSERT_TRUE(any.ok()) << any.status();
  auto bound = [](uint16_t port) {
    // Which address the listening socket holding `port` is bound to,
    // from /proc/net/tcp (local address in hex, then the port).
    std::ifstream in("/proc/net/tcp");
    std::string line;
    const std::string port_hex = absl::StrFormat(":%04X ", port);
    while (std::getline(in, line)) {
      const size_t at = line.find(port_hex);
      if (at != std::string::npos && at < 20) return line.substr(at - 8, 8);
    }
    return std::string("?");
  };
  EXPECT_EQ(bound((*server)->port()), "0100007F");
  EXPECT_EQ(bound((*any)->port()), "00000000");
}

TEST(PortChannelTest, BusyPortIsAnErrorNamingIt) {
  auto server = PortServer::Listen(0);
  ASSERT_TRUE(server.ok());
  auto again = PortServer::Listen((*server)->port());
  ASSERT_FALSE(again.ok());
  EXPECT_NE(
      again.status().message().find(absl::StrCat("port:", (*server)->port())),
      std::string::npos)
      << again.status();
}

// ---- split, xterm ----

TEST(SplitChannelTest, InputFromOneOutputToTheOther) {
  auto in = PtsChannel::Open(true);
  auto out = PtsChannel::Open(true);
  ASSERT_TRUE(in.ok() && out.ok());
  UniqueFd in_user(open((*in)->slave_path().c_str(), O_RDWR | O_NOCTTY));
  UniqueFd out_user(open((*out)->slave_path().c_str(), O_RDWR | O_NOCTTY));
  SplitChannel split(std::move(*in), std::move(*out));
  ASSERT_TRUE(split.Write(Bytes("shown")).ok());
  EXPECT_EQ(ReadFd(out_user.get(), 5), "shown");
  ASSERT_EQ(write(in_user.get(), "k", 1), 1);
  EXPECT_EQ(ReadChannel(&split, 1), "k");
}

TEST(XtermChannelTest, NoDisplayIsAClearError) {
  unsetenv("DISPLAY");
  auto x = XtermChannel::Open(XtermOptions());
  ASSERT_FALSE(x.ok());
  EXPECT_NE(x.status().message().find("$DISPLAY is not set"),
            std::string::npos);
}

TEST(XtermChannelTest, MissingEmulatorIsAClearError) {
  setenv("DISPLAY", ":99", 1);
  XtermOptions options;
  options.emulator = "kuml-no-such-terminal";
  auto x = XtermChannel::Open(options);
  ASSERT_FALSE(x.ok());
  EXPECT_NE(x.status().message().find("cannot run kuml-no-such-terminal"),
            std::string::npos)
      << x.status();
}

TEST(XtermChannelTest, RunsTheEmulatorWithARelayToThePty) {
  // A stand-in emulator: runs what follows -e, like xterm, with its
  // "terminal" being a pty the test holds.
  const char* tmp = getenv("TEST_TMPDIR");
  const std::string script = std::string(tmp ? tmp : "/tmp") + "/fake-term";
  auto term = PtsChannel::Open(false);
  ASSERT_TRUE(term.ok());
  {
    FILE* f = fopen(script.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fprintf(f,
            "#!/bin/sh\n"
            "[ \"$1\" = -T ] && [ \"$2\" = 'Serial Line #3' ] && "
            "[ \"$3\" = -e ] || exit 9\n"
            "shift 3\nexec \"$@\" <%s >%s 2>&1\n",
            (*term)->slave_path().c_str(), (*term)->slave_path().c_str());
    fclose(f);
    chmod(script.c_str(), 0755);
  }
  setenv("DISPLAY", ":99", 1);
  XtermOptions options;
  options.emulator = script;
  options.title = "Serial Line #3";
  auto x = XtermChannel::Open(options);
  ASSERT_TRUE(x.ok()) << x.status();
  // Guest output appears in the "terminal"; keys typed there reach us.
  ASSERT_TRUE((*x)->Write(Bytes("to the window")).ok());
  EXPECT_EQ(ReadChannel(term->get(), 13), "to the window");
  ASSERT_TRUE((*term)->Write(Bytes("key")).ok());
  EXPECT_EQ(ReadChannel(x->get(), 3), "key");
  const pid_t pid = (*x)->pid();
  (*x)->Close();  // kills the emulator
  EXPECT_NE(kill(pid, 0), 0);
}

}  // namespace
}  // namespace kuml
