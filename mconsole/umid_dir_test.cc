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

// A shared uml_dir: another user plants <umid> as a symlink to the victim's
// files. Before: opendir() followed it and every file in the target was
// unlinked.
TEST(UmidDirTest, PlantedSymlinkIsNeitherFollowedNorEmptied) {
  std::string base = TempDir();
  const std::string victim = base + "/victim_docs";
  ASSERT_EQ(mkdir(victim.c_str(), 0777), 0);
  std::ofstream(victim + "/thesis.txt") << "years of work";
  ASSERT_EQ(symlink(victim.c_str(), (base + "/web1").c_str()), 0);
  {
    auto dir = UmidDir::Create(base, "web1");
    ASSERT_TRUE(dir.ok()) << dir.status();
    EXPECT_NE((*dir)->umid(), "web1");
    EXPECT_NE((*dir)->warning().find("not taking it over"), std::string::npos)
        << (*dir)->warning();
  }
  EXPECT_EQ(Slurp(victim + "/thesis.txt"), "years of work");
}

TEST(UmidDirTest, AnotherUsersDirectoryIsNotTakenOver) {
  ASSERT_EQ(geteuid(), 0u) << "needs root to make a directory of another uid";
  std::string base = TempDir();
  const std::string theirs = base + "/web2";
  ASSERT_EQ(mkdir(theirs.c_str(), 0777), 0);
  std::ofstream(theirs + "/data") << "theirs";
  ASSERT_EQ(chown(theirs.c_str(), 4242, 4242), 0);
  {
    auto dir = UmidDir::Create(base, "web2");
    ASSERT_TRUE(dir.ok()) << dir.status();
    EXPECT_NE((*dir)->umid(), "web2");
    EXPECT_NE((*dir)->warning().find("belongs to uid 4242"), std::string::npos)
        << (*dir)->warning();
  }
  EXPECT_EQ(Slurp(theirs + "/data"), "theirs");
}

// The guest's own directory swapped for a symlink while it runs: removing
// it at the end touches nothing outside.
TEST(UmidDirTest, SwappedDirectoryIsNotFollowedAtTheEnd) {
  std::string base = TempDir();
  const std::string victim = base + "/victim";
  ASSERT_EQ(mkdir(victim.c_str(), 0777), 0);
  std::ofstream(victim + "/keep") << "keep";
  {
    auto dir = UmidDir::Create(base, "swapped");
    ASSERT_TRUE(dir.ok()) << dir.status();
    const std::string path = (*dir)->path();
    ASSERT_EQ(rename(path.c_str(), (base + "/moved").c_str()), 0);
    ASSERT_EQ(symlink(victim.c_str(), path.c_str()), 0);
  }
  EXPECT_EQ(Slurp(victim + "/keep"), "keep");
}

TEST(UmidDirTest, UnwritableBaseIsAnError) {
  auto dir = UmidDir::Create("/proc/no/such/dir", "x");
  EXPECT_FALSE(dir.ok());
}

}  // namespace
}  // namespace kuml::mconsole
