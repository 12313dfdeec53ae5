// `umlctl cow create|merge|info` on real files: what they do, and that bad
// input is a clear error that changes nothing (bytes and mtimes compared).
#include "disk/cow_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "disk/testing/cow_test_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;

constexpr size_t kDisk = 100 * 512;

class CowCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TestDir();
    base_ = dir_ + "/base.img";
    cow_ = dir_ + "/disk.cow";
    data_ = PatternBytes(kDisk, 2);
    WriteFileBytes(base_, data_);
    SetMtime(base_, 1600000000);
  }

  int Run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    return RunCowCommand(args, out_, err_);
  }
  // Creates cow_ and stores `bytes` at sector 10 of its disk (data and bit).
  void MakeWrittenCow(const std::string& bytes) {
    ASSERT_EQ(Run({"create", cow_, base_}), 0) << err_.str();
    std::string cow = ReadFileBytes(cow_);
    cow.replace(12288 + 10 * 512, bytes.size(), bytes);
    cow[8192 + 1] = 0x04;  // sector 10
    WriteFileBytes(cow_, cow);
  }
  // Snapshots of every file in the test's files, to compare after a failure.
  std::vector<FileSnapshot> All() {
    return {Snapshot(base_), Snapshot(cow_), Snapshot(dir_ + "/out.img")};
  }

  std::string dir_, base_, cow_, data_;
  std::ostringstream out_, err_;
};

TEST_F(CowCommandTest, CreateMergeInfo) {
  MakeWrittenCow(std::string(512, 'W'));
  ASSERT_EQ(Run({"merge", cow_, dir_ + "/out.img"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("(1 sectors from the COW file)"));
  std::string want = data_;
  want.replace(10 * 512, 512, std::string(512, 'W'));
  EXPECT_EQ(ReadFileBytes(dir_ + "/out.img"), want);

  ASSERT_EQ(Run({"info", cow_}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("backing file:    " + base_ + "\n"));
  EXPECT_THAT(out_.str(), HasSubstr("backing mtime:   1600000000 "));
  EXPECT_THAT(out_.str(), HasSubstr("backing check:   ok\n"));
  EXPECT_THAT(out_.str(), HasSubstr("in the COW file: 1 of 100 sectors (1.0%), "
                                    "512 bytes\n"));

  // In place: the backing file becomes the merged image.
  ASSERT_EQ(Run({"merge", "-d", cow_}), 0) << err_.str();
  EXPECT_EQ(ReadFileBytes(base_), want);
  // ... and the COW no longer matches it (uml_moo -d does the same).
  ASSERT_EQ(Run({"info", cow_}), 0);
  EXPECT_THAT(out_.str(), HasSubstr("backing check:   mtime mismatch"));
}

TEST_F(CowCommandTest, MergeWithAnotherBackingFileSkipsTheChecks) {
  MakeWrittenCow(std::string(512, 'W'));
  const std::string copy = dir_ + "/copy.img";
  WriteFileBytes(copy, data_);  // new mtime: the header's check would fail
  ASSERT_EQ(::unlink(base_.c_str()), 0);
  ASSERT_EQ(Run({"merge", cow_, dir_ + "/out.img"}), 1);
  ASSERT_EQ(Run({"merge", "-b", copy, cow_, dir_ + "/out.img"}), 0)
      << err_.str();
  std::string want = data_;
  want.replace(10 * 512, 512, std::string(512, 'W'));
  EXPECT_EQ(ReadFileBytes(dir_ + "/out.img"), want);
}

TEST_F(CowCommandTest, CreateRefusesAndLeavesNothingBehind) {
  // Missing backing file: no COW file appears.
  EXPECT_EQ(Run({"create", cow_, dir_ + "/missing.img"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("missing.img"));
  EXPECT_FALSE(Snapshot(cow_).exists);
  // Existing COW without -f.
  ASSERT_EQ(Run({"create", cow_, base_}), 0);
  std::vector<FileSnapshot> before = All();
  EXPECT_EQ(Run({"create", cow_, base_}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("File exists"));
  EXPECT_EQ(All(), before);
  // -f over itself, and -f with a missing backing: the old file stays.
  EXPECT_EQ(Run({"create", "-f", base_, base_}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("over itself"));
  EXPECT_EQ(Run({"create", "-f", cow_, dir_ + "/missing.img"}), 1);
  EXPECT_EQ(All(), before);
  // -f replaces.
  const std::string other = dir_ + "/other.img";
  WriteFileBytes(other, data_ + data_);
  EXPECT_EQ(Run({"create", "-f", cow_, other}), 0) << err_.str();
  ASSERT_EQ(Run({"info", cow_}), 0);
  EXPECT_THAT(out_.str(), HasSubstr("backing file:    " + other));
}

TEST_F(CowCommandTest, MergeRefusesBadInputAndChangesNothing) {
  MakeWrittenCow(std::string(512, 'W'));
  const std::string out = dir_ + "/out.img";
  struct Case {
    std::string what;
    std::function<void()> damage;
    std::string message;
  };
  const std::string good_cow = ReadFileBytes(cow_);
  const std::vector<Case> cases = {
      {"backing mtime changed", [&] { SetMtime(base_, 1600000001); },
       "mtime mismatch (1600000000 vs 1600000001)"},
      {"backing size changed",
       [&] {
         WriteFileBytes(base_, data_ + std::string(512, 'x'));
         SetMtime(base_, 1600000000);
       },
       "Size mismatch (51200 vs 51712)"},
      {"backing missing", [&] { ::unlink(base_.c_str()); },
       "No such file or directory"},
      {"header truncated",
       [&] { WriteFileBytes(cow_, good_cow.substr(0, 2000)); }, "truncated"},
      {"header corrupt",
       [&] {
         std::string c = good_cow;
         c[27] = 3;  // alignment 4096 -> 4099
         WriteFileBytes(cow_, c);
       },
       "alignment 4099"},
      {"bitmap short",
       [&] { WriteFileBytes(cow_, good_cow.substr(0, 8192 + 5)); },
       "too short for the bitmap"},
      {"not a COW file", [&] { WriteFileBytes(cow_, data_); },
       "is not a COW file"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    WriteFileBytes(base_, data_);
    SetMtime(base_, 1600000000);
    WriteFileBytes(cow_, good_cow);
    c.damage();
    const std::vector<FileSnapshot> before = All();
    EXPECT_EQ(Run({"merge", cow_, out}), 1);
    EXPECT_THAT(err_.str(), HasSubstr(c.message));
    EXPECT_EQ(Run({"merge", "-d", cow_}), 1);
    EXPECT_THAT(err_.str(), HasSubstr(c.message));
    EXPECT_EQ(All(), before);
    // No temporary file was left either.
    EXPECT_EQ(Run({"info", dir_ + "/out.img"}), 1);
  }
}

TEST_F(CowCommandTest, MergeOutputRules) {
  MakeWrittenCow("x");
  const std::vector<FileSnapshot> before = All();
  EXPECT_EQ(Run({"merge", cow_, base_}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("(merge in place with -d)"));
  EXPECT_EQ(Run({"merge", "-f", cow_, cow_}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("would replace"));
  EXPECT_EQ(All(), before);
  WriteFileBytes(dir_ + "/out.img", "precious");
  EXPECT_EQ(Run({"merge", cow_, dir_ + "/out.img"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("exists (-f replaces it)"));
  EXPECT_EQ(ReadFileBytes(dir_ + "/out.img"), "precious");
  EXPECT_EQ(Run({"merge", "-f", cow_, dir_ + "/out.img"}), 0) << err_.str();
  EXPECT_EQ(ReadFileBytes(dir_ + "/out.img").size(), kDisk);
}

TEST_F(CowCommandTest, UsageErrors) {
  EXPECT_EQ(Run({}), 2);
  EXPECT_EQ(Run({"frobnicate"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("unknown command 'frobnicate'"));
  EXPECT_EQ(Run({"create", "only-one"}), 2);
  EXPECT_EQ(Run({"merge", "-x", "a", "b"}), 2);
  EXPECT_EQ(Run({"merge", "-d", "a", "b"}), 2);
  EXPECT_EQ(Run({"merge", "-b"}), 2);
  EXPECT_EQ(Run({"help"}), 0);
  EXPECT_THAT(out_.str(), HasSubstr("umlctl cow merge"));
}

}  // namespace
}  // namespace kuml
