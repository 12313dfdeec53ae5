// Every `in,out` form of a line (UML's chan_kern.c: the spec is split at
// the first comma, each side a channel used one way) opens with the fds
// the user handed over, whichever way each is open: input-only and
// output-only lines, null sides, fds on files and pipes, pts. The forms the
// real UML 6.1 takes (checked by booting it, tests/e2e/console_pairs_test)
// must not be refused here. Before, `con0=null,fd:1` with stdout open
// write-only was refused ("fd:1 is not open for reading").
#include "machine/line_factory.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "frontend/command_line.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "util/unique_fd.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;

struct Pipe {
  UniqueFd r, w;
  Pipe() {
    int p[2];
    EXPECT_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    r.Reset(p[0]);
    w.Reset(p[1]);
  }
};

absl::StatusOr<std::unique_ptr<LineFactory>> OpenCon0(
    const std::string& config) {
  absl::StatusOr<MachineSpec> spec =
      ParseCommandLine({"con0=" + config, "con=none", "ssl=none"});
  if (!spec.ok()) return spec.status();
  return LineFactory::Open(*spec, [](const std::string&) {});
}

std::string Drain(int fd) {
  std::string got;
  char buf[256];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) got.append(buf, n);
  return got;
}

void Write(Channel* channel, const std::string& text) {
  ASSERT_TRUE(
      channel
          ->Write(absl::MakeConstSpan(
              reinterpret_cast<const uint8_t*>(text.data()), text.size()))
          .ok());
}

TEST(LineFactoryPairsTest, NullInputOutputOnAWriteOnlyFd) {
  Pipe out;
  auto lines = OpenCon0(absl::StrCat("null,fd:", out.w.get()));
  ASSERT_TRUE(lines.ok()) << lines.status();
  Write((*lines)->console0(), "to-out");
  EXPECT_EQ(Drain(out.r.get()), "to-out");
  EXPECT_EQ((*lines)->console0()->input_fd(), -1);  // no input, ever
}

TEST(LineFactoryPairsTest, InputFromAReadOnlyFdOutputNull) {
  Pipe in;
  auto lines = OpenCon0(absl::StrCat("fd:", in.r.get(), ",null"));
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(write(in.w.get(), "typed", 5), 5);
  uint8_t buf[16];
  absl::StatusOr<size_t> n = (*lines)->console0()->Read(absl::MakeSpan(buf));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), *n), "typed");
  Write((*lines)->console0(), "dropped");  // null output takes everything
}

TEST(LineFactoryPairsTest, TwoOneWayFds) {
  Pipe in, out;
  auto lines = OpenCon0(absl::StrCat("fd:", in.r.get(), ",fd:", out.w.get()));
  ASSERT_TRUE(lines.ok()) << lines.status();
  Write((*lines)->console0(), "both");
  EXPECT_EQ(Drain(out.r.get()), "both");
}

TEST(LineFactoryPairsTest, OneFdOneWayOnly) {
  Pipe p;
  auto out_only = OpenCon0(absl::StrCat("fd:", p.w.get()));
  ASSERT_TRUE(out_only.ok()) << out_only.status();
  Write((*out_only)->console0(), "out-only");
  EXPECT_EQ(Drain(p.r.get()), "out-only");
  Pipe q;
  auto in_only = OpenCon0(absl::StrCat("fd:", q.r.get()));
  ASSERT_TRUE(in_only.ok()) << in_only.status();
}

TEST(LineFactoryPairsTest, FileAsOutput) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(tmp ? tmp : "/tmp") + "/con0.out";
  UniqueFd file(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600));
  ASSERT_TRUE(file.valid());
  auto lines = OpenCon0(absl::StrCat("null,fd:", file.get()));
  ASSERT_TRUE(lines.ok()) << lines.status();
  Write((*lines)->console0(), "logged");
  UniqueFd back(open(path.c_str(), O_RDONLY));
  EXPECT_EQ(Drain(back.get()), "logged");
}

TEST(LineFactoryPairsTest, PtsAsOneSide) {
  Pipe out;
  std::vector<std::string> said;
  absl::StatusOr<MachineSpec> spec = ParseCommandLine(
      {absl::StrCat("con0=pts,fd:", out.w.get()), "con=none", "ssl=none"});
  ASSERT_TRUE(spec.ok());
  auto lines = LineFactory::Open(
      *spec, [&said](const std::string& m) { said.push_back(m); });
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(said.size(), 1u);
  EXPECT_THAT(said[0], HasSubstr("Virtual console 0 assigned device"));
  Write((*lines)->console0(), "to-fd");
  EXPECT_EQ(Drain(out.r.get()), "to-fd");
}

TEST(LineFactoryPairsTest, AnFdUsedTheWayItCannotGoIsStillAnError) {
  Pipe p;
  // The read end as output: refused, naming the switch.
  auto lines = OpenCon0(absl::StrCat("null,fd:", p.r.get()));
  ASSERT_FALSE(lines.ok());
  EXPECT_THAT(lines.status().message(),
              HasSubstr(absl::StrCat("con0=null,fd:", p.r.get())));
}

}  // namespace
}  // namespace kuml
