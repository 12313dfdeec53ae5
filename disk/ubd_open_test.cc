// OpenUbd on real files: UML's open sequence for each kind of ubd switch.
#include "disk/ubd_open.h"

#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "disk/testing/cow_test_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr size_t kDisk = 256 * 512;

class UbdOpenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TestDir();
    base_ = dir_ + "/root_fs";
    cow_ = dir_ + "/root_fs_cow";
    data_ = PatternBytes(kDisk, 5);
    WriteFileBytes(base_, data_);
  }

  absl::StatusOr<std::shared_ptr<BlockBackend>> Open(UbdOpenOptions o) {
    notices_.clear();
    return OpenUbd(o, [this](const std::string& s) { notices_.push_back(s); });
  }

  static std::string Read(BlockBackend& b, uint64_t off, size_t n) {
    std::string s(n, '\0');
    EXPECT_TRUE(
        b.ReadAt(off, absl::MakeSpan(reinterpret_cast<uint8_t*>(&s[0]), n))
            .ok());
    return s;
  }
  static absl::Status Write(BlockBackend& b, uint64_t off,
                            const std::string& s) {
    return b.WriteAt(
        off, absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()),
                                 s.size()));
  }

  std::string dir_, base_, cow_, data_;
  std::vector<std::string> notices_;
};

TEST_F(UbdOpenTest, CowWithBackingIsCreatedThenReused) {
  UbdOpenOptions o;
  o.file = cow_;
  o.backing_file = base_;
  auto disk = Open(o);
  ASSERT_TRUE(disk.ok()) << disk.status();
  EXPECT_THAT(notices_, ElementsAre("Creating \"" + cow_ +
                                    "\" as COW file for \"" + base_ + "\""));
  EXPECT_EQ((*disk)->size_bytes(), kDisk);
  ASSERT_TRUE(Write(**disk, 512, "written through the COW").ok());
  disk->reset();
  EXPECT_EQ(ReadFileBytes(base_), data_);

  // ubd0=cow,backing again: no creation; ubd0=cow: the header's backing.
  for (bool name_backing : {true, false}) {
    o.backing_file = name_backing ? base_ : "";
    disk = Open(o);
    ASSERT_TRUE(disk.ok()) << disk.status();
    EXPECT_THAT(notices_, IsEmpty());
    EXPECT_EQ(Read(**disk, 512, 23), "written through the COW");
    EXPECT_EQ(Read(**disk, 1024, 512), data_.substr(1024, 512));
    disk->reset();
  }
}

TEST_F(UbdOpenTest, RawImageAndFlags) {
  UbdOpenOptions o;
  o.file = base_;
  auto disk = Open(o);
  ASSERT_TRUE(disk.ok()) << disk.status();
  EXPECT_FALSE((*disk)->read_only());
  EXPECT_TRUE((*disk)->supports_discard());
  disk->reset();
  o.read_only = true;
  o.no_trim = true;
  disk = Open(o);
  ASSERT_TRUE(disk.ok()) << disk.status();
  EXPECT_TRUE((*disk)->read_only());
  EXPECT_FALSE((*disk)->supports_discard());
  EXPECT_FALSE(Write(**disk, 0, "x").ok());
}

TEST_F(UbdOpenTest, DFlagUsesACowFileRaw) {
  UbdOpenOptions o;
  o.file = cow_;
  o.backing_file = base_;
  ASSERT_TRUE(Open(o).ok());
  o.backing_file = "";
  o.no_cow = true;
  auto disk = Open(o);
  ASSERT_TRUE(disk.ok()) << disk.status();
  // The COW file's own bytes: its header first.
  EXPECT_EQ(Read(**disk, 0, 4), "OOOM");
  EXPECT_EQ((*disk)->size_bytes(), 8192 + 4096 + kDisk);
}

TEST_F(UbdOpenTest, WritableImageIsLockedAgainstASecondUser) {
  UbdOpenOptions o;
  o.file = base_;
  auto first = Open(o);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = Open(o);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(),
              HasSubstr("Failed to lock '" + base_ + "', err = 11"));
  // Another process too (the locks are the host's).
  pid_t child = fork();
  if (child == 0) _exit(OpenUbd(o).ok() ? 0 : 7);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(WEXITSTATUS(status), 7);
  // Flag c: no lock, and UML's notice.
  o.shared = true;
  auto shared = Open(o);
  ASSERT_TRUE(shared.ok()) << shared.status();
  EXPECT_THAT(notices_,
              ElementsAre("Not locking \"" + base_ + "\" on the host"));
}

TEST_F(UbdOpenTest, BackingFileOfAnOpenCowCannotBeOpenedWritable) {
  UbdOpenOptions o;
  o.file = cow_;
  o.backing_file = base_;
  auto cow = Open(o);
  ASSERT_TRUE(cow.ok()) << cow.status();
  UbdOpenOptions raw;
  raw.file = base_;
  auto writer = Open(raw);
  ASSERT_FALSE(writer.ok());
  EXPECT_THAT(writer.status().message(), HasSubstr("Failed to lock"));
  raw.read_only = true;  // readers may share it
  EXPECT_TRUE(Open(raw).ok());
}

TEST_F(UbdOpenTest, BadInputIsRefusedAndChangesNothing) {
  // An existing plain file named as a COW file.
  const std::string plain = dir_ + "/plain.img";
  WriteFileBytes(plain, PatternBytes(kDisk, 8));
  const FileSnapshot plain_before = Snapshot(plain);
  UbdOpenOptions o;
  o.file = plain;
  o.backing_file = base_;
  auto disk = Open(o);
  ASSERT_FALSE(disk.ok());
  EXPECT_THAT(disk.status().message(),
              HasSubstr("Failed to read COW header from COW file"));
  EXPECT_EQ(Snapshot(plain), plain_before);

  // A COW file with a corrupt header is not silently used as a raw image.
  o.file = cow_;
  ASSERT_TRUE(Open(o).ok());
  std::string bytes = ReadFileBytes(cow_);
  bytes[7] = 9;  // version 9
  WriteFileBytes(cow_, bytes);
  const FileSnapshot cow_before = Snapshot(cow_);
  const FileSnapshot base_before = Snapshot(base_);
  o.backing_file = "";
  disk = Open(o);
  ASSERT_FALSE(disk.ok());
  EXPECT_THAT(disk.status().message(), HasSubstr("unknown version 9"));
  EXPECT_EQ(Snapshot(cow_), cow_before);
  EXPECT_EQ(Snapshot(base_), base_before);

  // A raw image that is not whole sectors.
  const std::string odd = dir_ + "/odd.img";
  WriteFileBytes(odd, std::string(1000, 'x'));
  o.file = odd;
  disk = Open(o);
  ASSERT_FALSE(disk.ok());
  EXPECT_THAT(disk.status().message(), HasSubstr("not a multiple of 512"));

  // A missing backing file: no COW file is created.
  o.file = dir_ + "/new.cow";
  o.backing_file = dir_ + "/missing.img";
  disk = Open(o);
  ASSERT_FALSE(disk.ok());
  EXPECT_FALSE(Snapshot(dir_ + "/new.cow").exists);

  // A read-only disk cannot create its COW file.
  o.backing_file = base_;
  o.read_only = true;
  disk = Open(o);
  ASSERT_FALSE(disk.ok());
  EXPECT_FALSE(Snapshot(dir_ + "/new.cow").exists);
}

}  // namespace
}  // namespace kuml
