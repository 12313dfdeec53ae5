#include "mconsole/umid_dir.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace kuml::mconsole {
namespace {

std::string TempDir() {
  std::string t =
      std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR")
                                             : "/tmp") +
      "/umidXXXXXX";
  return mkdtemp(t.data());
}

bool Exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

std::string Slurp(const std::string& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(UmidDirTest, NamedUmidGetsDirAndPidFileRemovedAtEnd) {
  std::string base = TempDir() + "/uml";  // created on demand
  std::string path;
  {
    auto dir = UmidDir::Create(base, "debian");
    ASSERT_TRUE(dir.ok()) << dir.status();
    path = (*dir)->path();
    EXPECT_EQ(path, base + "/debian");
    EXPECT_EQ((*dir)->umid(), "debian");
    EXPECT_TRUE((*dir)->warning().empty());
    EXPECT_EQ(Slurp(path + "/pid"), std::to_string(getpid()) + "\n");
    std::ofstream(path + "/mconsole") << "x";
  }
  EXPECT_FALSE(Exists(path));
}

TEST(UmidDirTest, RandomUmidWhenNoneGiven) {
  std::string base = TempDir();
  auto dir = UmidDir::Create(base + "/", "");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ((*dir)->umid().size(), 6u);
  EXPECT_EQ((*dir)->path(), base + "/" + (*dir)->umid());
  EXPECT_TRUE(Exists((*dir)->File("pid")));
}

TEST(UmidDirTest, StaleDirIsTakenOver) {
  std::string base = TempDir();
  ASSERT_EQ(mkdir((base + "/old").c_str(), 0777), 0);
  // A pid that surely is dead: a child we reaped.
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  std::ofstream(base + "/old/pid") << child << "\n";
  std::ofstream(base + "/old/mconsole") << "stale";
  auto dir = UmidDir::Create(base, "old");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ((*dir)->umid(), "old");
  EXPECT_FALSE(Exists(base + "/old/mconsole"));
  EXPECT_EQ(LivePid((*dir)->path()), getpid());
}

TEST(UmidDirTest, LiveOwnerMeansRandomUmidAndWarning) {
  std::string base = TempDir();
  ASSERT_EQ(mkdir((base + "/busy").c_str(), 0777), 0);
  std::ofstream(base + "/busy/pid") << getppid() << "\n";
  auto dir = UmidDir::Create(base, "busy");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_NE((*dir)->umid(), "busy");
  EXPECT_EQ((*dir)->warning(), "umid \"busy\" is already in use by pid " +
                                   std::to_string(getppid()));
  EXPECT_TRUE(Exists(base + "/busy/pid"));  // the owner's dir is untouched
}

TEST(UmidDirTest, UnwritableBaseIsAnError) {
  auto dir = UmidDir::Create("/proc/no/such/dir", "x");
  EXPECT_FALSE(dir.ok());
}

}  // namespace
}  // namespace kuml::mconsole
