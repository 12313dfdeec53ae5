// `umlctl cow create|merge|info` on real files: what they do, and that bad
// input is a clear error that changes nothing (bytes and mtimes compared).
#include "disk/cow_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <tuple>
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

// A COW header is outside input: whatever its fields say, the tools answer
// with an error (or stream what they read) instead of allocating what the
// header asks for. Before: sector size 1 and a 2^46-byte disk on an 8 KiB
// sparse file killed `cow info` with std::bad_alloc (exit 134).
TEST_F(CowCommandTest, HostileHeadersAreErrorsNotAllocations) {
  ASSERT_EQ(Run({"create", cow_, base_}), 0) << err_.str();
  auto patch = [&](uint64_t size, uint32_t sector, uint64_t file_bytes) {
    std::string cow = ReadFileBytes(cow_).substr(0, 8192);
    for (int i = 0; i < 8; ++i) cow[12 + i] = (size >> (56 - 8 * i)) & 0xff;
    for (int i = 0; i < 4; ++i) cow[20 + i] = (sector >> (24 - 8 * i)) & 0xff;
    WriteFileBytes(cow_, cow);
    ASSERT_EQ(::truncate(cow_.c_str(), file_bytes), 0);
  };
  patch(uint64_t{1} << 46, 1, 8192);
  std::vector<FileSnapshot> before = All();
  EXPECT_EQ(Run({"info", cow_}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("sector size 1 is not a power of two "
                                    "from 512"));
  EXPECT_EQ(Run({"merge", cow_, dir_ + "/out.img"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("sector size 1"));
  EXPECT_EQ(All(), before);

  // A 2^43-byte disk (a 2 GiB bitmap) over a sparse file as long as that:
  // info counts the bitmap a chunk at a time; opening it as a disk is
  // refused, by the size check against the real backing file and, with a
  // backing file that really is that large (sparse), by the bitmap cap.
  // (The file is too big to snapshot whole: its header, size and mtime are.)
  const uint64_t huge = uint64_t{1} << 43;
  patch(huge, 512, 4096 + (huge / 512 / 8) + 4096);
  auto cow_state = [&] {
    struct stat st;
    EXPECT_EQ(::stat(cow_.c_str(), &st), 0);
    std::string header(8192, '\0');
    FILE* f = std::fopen(cow_.c_str(), "r");
    EXPECT_NE(f, nullptr);
    EXPECT_EQ(std::fread(header.data(), 1, header.size(), f), header.size());
    std::fclose(f);
    return std::make_tuple(header, st.st_size, st.st_mtim.tv_sec,
                           st.st_mtim.tv_nsec, Snapshot(base_),
                           Snapshot(dir_ + "/out.img"));
  };
  const auto huge_before = cow_state();
  EXPECT_EQ(Run({"info", cow_}), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("in the COW file: 0 of 17179869184"));
  EXPECT_EQ(Run({"merge", cow_, dir_ + "/out.img"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("Size mismatch"));
  EXPECT_EQ(Run({"merge", "-b", base_, cow_, dir_ + "/out.img"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("is 51200 bytes"));
  const std::string sparse = dir_ + "/huge.img";
  WriteFileBytes(sparse, "");
  ASSERT_EQ(::truncate(sparse.c_str(), huge), 0);
  EXPECT_EQ(Run({"merge", "-b", sparse, cow_, dir_ + "/out.img"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("kuml opens COW disks of up to "
                                    "4398046511104 bytes"));
  EXPECT_EQ(cow_state(), huge_before);
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
