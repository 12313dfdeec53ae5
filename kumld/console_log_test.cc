// Console logs under a cap: the rotation itself, and kumld's fleet loop
// applying it to a guest that prints without end. Before, the log grew
// without bound and a guest could fill the host's disk.
#include "kumld/console_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "kumld/fleet.h"
#include "util/unique_fd.h"

namespace kuml::kumld {
namespace {

std::string TempDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/lXXXXXX";
  EXPECT_NE(mkdtemp(dir.data()), nullptr);
  return dir;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

off_t SizeOf(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

TEST(ConsoleLogTest, RotatesPastTheCapAndTheWriterCarriesOn) {
  const std::string log = TempDir() + "/g.log";
  // The VMM's side: an O_APPEND fd it keeps for its whole life.
  UniqueFd vmm(open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600));
  ASSERT_TRUE(vmm.valid());
  const std::string first(1000, 'a');
  ASSERT_EQ(write(vmm.get(), first.data(), first.size()), 1000);
  EXPECT_FALSE(*RotateConsoleLogIfOver(log, 1000));  // not over: untouched
  EXPECT_EQ(SizeOf(log), 1000);
  ASSERT_EQ(write(vmm.get(), "b", 1), 1);
  EXPECT_TRUE(*RotateConsoleLogIfOver(log, 1000));
  EXPECT_EQ(Slurp(log + ".1"), first + "b");
  EXPECT_NE(Slurp(log).find("earlier output is in " + log + ".1"),
            std::string::npos);
  // The VMM's next write lands in the new log, not at its old offset.
  ASSERT_EQ(write(vmm.get(), "c", 1), 1);
  EXPECT_EQ(Slurp(log).back(), 'c');
  EXPECT_LT(SizeOf(log), 1000);  // the note and "c"
  // The next rotation replaces .1: two generations at most.
  const std::string more(2000, 'd');
  ASSERT_EQ(write(vmm.get(), more.data(), more.size()), 2000);
  EXPECT_TRUE(*RotateConsoleLogIfOver(log, 1000));
  EXPECT_EQ(Slurp(log + ".1").substr(Slurp(log + ".1").size() - 2000), more);
  EXPECT_FALSE(*RotateConsoleLogIfOver(log + ".missing", 1));
}

TEST(ConsoleLogTest, FleetKeepsANoisyGuestsLogUnderTheCap) {
  const std::string dir = TempDir();
  FleetOptions options;
  options.paths.state_dir = dir + "/state";
  options.paths.log_dir = dir + "/log";
  options.paths.uml_dir = dir + "/uml";
  options.kuml_binary = "/bin/true";
  options.log_max_bytes = 64 << 10;
  std::vector<std::string> messages;
  auto fleet = Fleet::Create(options, &messages);
  ASSERT_TRUE(fleet.ok()) << fleet.status();
  std::thread loop([&] { (*fleet)->Run(); });
  // 120 x 20 KB, ~20 KB every 50 ms: 2.4 MB in all.
  const std::string manifest =
      "guest { umid: \"noisy\" vmm: \"/bin/sh\" restart: NEVER arg: \"-c\" "
      "arg: \"i=0; while [ $i -lt 120 ]; do yes xxxxxxx | head -c 20000; "
      "sleep 0.05; i=$((i+1)); done\" }";
  auto up = (*fleet)->Up(manifest, "test", dir, &messages);
  ASSERT_TRUE(up.ok()) << up.status();
  const absl::Time limit = absl::Now() + absl::Seconds(50);
  for (;;) {
    std::vector<host::GuestInfo> list = (*fleet)->List({"noisy"});
    ASSERT_EQ(list.size(), 1u);
    if (list[0].state() == host::STOPPED || list[0].state() == host::FAILED) {
      break;
    }
    ASSERT_LT(absl::Now(), limit) << "the noisy guest did not finish";
    absl::SleepFor(absl::Milliseconds(100));
  }
  (*fleet)->Shutdown();
  loop.join();
  const std::string log = options.paths.log_dir + "/noisy.log";
  const off_t now = SizeOf(log), before = SizeOf(log + ".1");
  // A cap plus about a second of output per file (the check runs once a
  // second); without the cap the log holds all 2.4 MB.
  EXPECT_LT(now, 700 << 10);
  EXPECT_LT(before, 700 << 10);
  EXPECT_LT(now + before, 1400 << 10);
  EXPECT_GT(before, 64 << 10) << "never rotated";
}

}  // namespace
}  // namespace kuml::kumld
