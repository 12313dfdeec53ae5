// CowDisk over real files: per-sector reads, partial-sector writes, the
// flush ordering of data and bitmap, discard, and UML's open rules.
#include "disk/cow_disk.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "disk/cow_create.h"
#include "disk/cow_open.h"
#include "disk/host_file.h"
#include "disk/testing/cow_test_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "util/unique_fd.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;

constexpr size_t kDisk = 2051 * 512;  // an odd sector count, like small_uml

class CowDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TestDir();
    backing_ = dir_ + "/base.img";
    cow_ = dir_ + "/disk.cow";
    base_data_ = PatternBytes(kDisk, 1);
    WriteFileBytes(backing_, base_data_);
    SetMtime(backing_, 1700000000);
    absl::StatusOr<CowHeader> h = CreateCowFile(cow_, backing_);
    ASSERT_TRUE(h.ok()) << h.status();
  }

  absl::StatusOr<std::unique_ptr<CowDisk>> Open(CowOpenOptions options = {}) {
    UniqueFd fd(
        ::open(cow_.c_str(),
               (options.disk.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC));
    if (!fd) return absl::NotFoundError("open " + cow_);
    absl::StatusOr<std::optional<CowHeader>> h = ReadCowHeader(fd.get(), cow_);
    if (!h.ok()) return h.status();
    if (!h->has_value()) return absl::InvalidArgumentError("not a COW");
    return OpenCowDisk(std::move(fd), cow_, **h, options);
  }

  std::unique_ptr<CowDisk> MustOpen(CowOpenOptions options = {}) {
    absl::StatusOr<std::unique_ptr<CowDisk>> d = Open(options);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *std::move(d) : nullptr;
  }

  static std::string Read(CowDisk& d, uint64_t off, size_t n) {
    std::string s(n, '\0');
    absl::Status st =
        d.ReadAt(off, absl::MakeSpan(reinterpret_cast<uint8_t*>(&s[0]), n));
    EXPECT_TRUE(st.ok()) << st;
    return s;
  }
  static absl::Status Write(CowDisk& d, uint64_t off, const std::string& s) {
    return d.WriteAt(
        off, absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()),
                                 s.size()));
  }
  // The on-disk bitmap byte for sector `s`.
  uint8_t DiskBitmapByte(uint64_t s) {
    return static_cast<uint8_t>(ReadFileBytes(cow_)[8192 + s / 8]);
  }

  std::string dir_, backing_, cow_, base_data_;
};

TEST_F(CowDiskTest, FreshCowReadsAsTheBackingFile) {
  auto d = MustOpen();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->size_bytes(), kDisk);
  EXPECT_EQ(Read(*d, 0, kDisk), base_data_);
  EXPECT_EQ(d->SectorsInCow(), 0u);
  EXPECT_EQ(d->backing_path(), backing_);
}

TEST_F(CowDiskTest, WritesGoToTheCowPerSectorAndLeaveTheBackingAlone) {
  const FileSnapshot before = Snapshot(backing_);
  auto d = MustOpen();
  ASSERT_NE(d, nullptr);
  std::string expect = base_data_;
  // Partial sectors at both ends of an unaligned write, and a lone byte.
  const std::string a = PatternBytes(1500, 7);
  ASSERT_TRUE(Write(*d, 700, a).ok());
  expect.replace(700, a.size(), a);
  ASSERT_TRUE(Write(*d, 2050 * 512 + 511, "Z").ok());
  expect[2050 * 512 + 511] = 'Z';
  EXPECT_EQ(Read(*d, 0, kDisk), expect);
  // Sectors 1..4 (bytes 700..2199) and 2050 are in the COW.
  for (uint64_t s = 0; s < 2051; ++s) {
    EXPECT_EQ(d->SectorInCow(s), (s >= 1 && s <= 4) || s == 2050) << s;
  }
  // A write that fills a sector piecewise keeps the earlier piece.
  ASSERT_TRUE(Write(*d, 100 * 512, std::string(10, 'a')).ok());
  ASSERT_TRUE(Write(*d, 100 * 512 + 10, std::string(502, 'b')).ok());
  expect.replace(100 * 512, 512, std::string(10, 'a') + std::string(502, 'b'));
  ASSERT_TRUE(d->Flush().ok());
  d.reset();
  EXPECT_EQ(Snapshot(backing_), before);
  // Reopened: the same disk.
  d = MustOpen();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(Read(*d, 0, kDisk), expect);
  EXPECT_EQ(d->SectorsInCow(), 6u);
}

TEST_F(CowDiskTest, BitsReachTheFileOnlyAtFlushAfterTheData) {
  auto d = MustOpen();
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(Write(*d, 3 * 512, std::string(512, 'x')).ok());
  // The data is in the COW file, the bit only in memory.
  EXPECT_EQ(ReadFileBytes(cow_).substr(12288 + 3 * 512, 512),
            std::string(512, 'x'));
  EXPECT_EQ(DiskBitmapByte(3), 0);
  EXPECT_TRUE(d->SectorInCow(3));
  ASSERT_TRUE(d->Flush().ok());
  EXPECT_EQ(DiskBitmapByte(3), 0x08);
}

TEST_F(CowDiskTest, WriteThroughStoresBitsWithEachWrite) {
  CowOpenOptions o;
  o.disk.write_through = true;
  auto d = MustOpen(o);
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(Write(*d, 9 * 512, std::string(512, 'x')).ok());
  EXPECT_EQ(DiskBitmapByte(9), 0x02);
}

TEST_F(CowDiskTest, BitmapWritesStayInsideTheBitmap) {
  // Garbage around the bitmap (UML's header tail and bitmap overrun) stays.
  std::string cow = ReadFileBytes(cow_);
  cow[8191] = 'G';
  cow[8192 + 257] = 'H';
  WriteFileBytes(cow_, cow);
  auto d = MustOpen();
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(Write(*d, 0, std::string(kDisk, 'w')).ok());
  ASSERT_TRUE(d->Flush().ok());
  cow = ReadFileBytes(cow_);
  EXPECT_EQ(cow[8191], 'G');
  EXPECT_EQ(cow[8192 + 257], 'H');
  EXPECT_EQ(static_cast<uint8_t>(cow[8192 + 256]), 0x07);  // sectors 2048..50
}

TEST_F(CowDiskTest, DiscardPunchesAndReadsZeros) {
  CowOpenOptions o;
  o.disk.discard = true;
  auto d = MustOpen(o);
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(d->supports_discard());
  ASSERT_TRUE(Write(*d, 0, std::string(8 * 512, 'q')).ok());
  ASSERT_TRUE(d->Discard(2 * 512, 4 * 512).ok());
  EXPECT_EQ(Read(*d, 0, 8 * 512), std::string(2 * 512, 'q') +
                                      std::string(4 * 512, '\0') +
                                      std::string(2 * 512, 'q'));
  EXPECT_EQ(Read(*d, 10 * 512, 512), base_data_.substr(10 * 512, 512));
  ASSERT_TRUE(d->Discard(10 * 512, 512).ok());
  EXPECT_EQ(Read(*d, 10 * 512, 512), std::string(512, '\0'));
  EXPECT_FALSE(d->Discard(3, 512).ok());
  o.disk.discard = false;
  d = MustOpen(o);
  ASSERT_NE(d, nullptr);
  EXPECT_FALSE(d->supports_discard());
}

TEST_F(CowDiskTest, ReadOnlyRefusesWrites) {
  CowOpenOptions o;
  o.disk.read_only = true;
  auto d = MustOpen(o);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(Write(*d, 0, "x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Write(*d, kDisk, "x").code(), absl::StatusCode::kOutOfRange);
}

TEST_F(CowDiskTest, ConcurrentWritersAndReaders) {
  auto d = MustOpen();
  ASSERT_NE(d, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&d, t] {
      for (int i = 0; i < 200; ++i) {
        const uint64_t sector = static_cast<uint64_t>(t * 500 + i);
        std::string s(512, static_cast<char>('A' + t));
        ASSERT_TRUE(Write(*d, sector * 512 + 100, s.substr(0, 300)).ok());
        Read(*d, sector * 512, 1024);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 200; ++i) {
      const uint64_t off = static_cast<uint64_t>(t * 500 + i) * 512;
      std::string expect = base_data_.substr(off, 512);
      expect.replace(100, 300, std::string(300, static_cast<char>('A' + t)));
      ASSERT_EQ(Read(*d, off, 512), expect) << t << " " << i;
    }
  }
}

TEST_F(CowDiskTest, BackingFileThatChangedIsRefused) {
  SetMtime(backing_, 1700000001);
  const FileSnapshot cow_before = Snapshot(cow_);
  absl::StatusOr<std::unique_ptr<CowDisk>> d = Open();
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(),
              HasSubstr("mtime mismatch (1700000000 vs 1700000001) of COW "
                        "header vs backing file \"" +
                        backing_ + "\""));
  SetMtime(backing_, 1700000000);
  WriteFileBytes(backing_, base_data_ + std::string(512, 'x'));
  SetMtime(backing_, 1700000000);
  d = Open();
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(),
              HasSubstr("Size mismatch (1050112 vs 1050624) of COW header vs "
                        "backing file"));
  EXPECT_EQ(Snapshot(cow_), cow_before);
}

TEST_F(CowDiskTest, MissingBackingFileIsRefused) {
  ASSERT_EQ(::unlink(backing_.c_str()), 0);
  absl::StatusOr<std::unique_ptr<CowDisk>> d = Open();
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(),
              HasSubstr("open backing file \"" + backing_ + "\""));
  EXPECT_THAT(d.status().message(), HasSubstr("No such file or directory"));
}

TEST_F(CowDiskTest, SwitchesToAMovedBackingFileThatMatches) {
  const std::string moved = dir_ + "/moved.img";
  ASSERT_EQ(::rename(backing_.c_str(), moved.c_str()), 0);
  std::vector<std::string> notices;
  CowOpenOptions o;
  o.backing_path = moved;
  UniqueFd fd(::open(cow_.c_str(), O_RDWR | O_CLOEXEC));
  absl::StatusOr<std::optional<CowHeader>> h = ReadCowHeader(fd.get(), cow_);
  ASSERT_TRUE(h.ok() && h->has_value());
  auto d = OpenCowDisk(std::move(fd), cow_, **h, o,
                       [&](const std::string& s) { notices.push_back(s); });
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(notices, ::testing::ElementsAre("Switching backing file to '" +
                                              moved + "'"));
  d->reset();
  // The header names the new file now, and nothing else changed.
  UniqueFd again(::open(cow_.c_str(), O_RDONLY | O_CLOEXEC));
  h = ReadCowHeader(again.get(), cow_);
  ASSERT_TRUE(h.ok() && h->has_value());
  EXPECT_EQ((*h)->backing_file, moved);
  EXPECT_EQ((*h)->mtime, 1700000000u);
}

TEST_F(CowDiskTest, SameBackingUnderAnotherNameIsNoSwitch) {
  const FileSnapshot before = Snapshot(cow_);
  CowOpenOptions o;
  o.backing_path = dir_ + "/./base.img";
  auto d = MustOpen(o);
  ASSERT_NE(d, nullptr);
  d.reset();
  EXPECT_EQ(Snapshot(cow_).bytes, before.bytes);
}

TEST_F(CowDiskTest, MismatchedCommandLineBackingKeepsTheHeaders) {
  // UML: a different file that does not match is ignored.
  const std::string other = dir_ + "/other.img";
  WriteFileBytes(other, PatternBytes(kDisk, 9));
  CowOpenOptions o;
  o.backing_path = other;
  auto d = MustOpen(o);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->backing_path(), backing_);
}

TEST_F(CowDiskTest, ShortBitmapIsRefused) {
  ASSERT_EQ(::truncate(cow_.c_str(), 8192 + 100), 0);
  const FileSnapshot before = Snapshot(cow_);
  absl::StatusOr<std::unique_ptr<CowDisk>> d = Open();
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("too short for the bitmap"));
  EXPECT_EQ(Snapshot(cow_), before);
}

TEST_F(CowDiskTest, CowOverItselfIsRefused) {
  // A header that names the COW file itself.
  absl::StatusOr<CowHeader> h =
      MakeV3Header(cow_, 12288 + kDisk, 0);  // whatever: refused before use
  ASSERT_TRUE(h.ok());
  std::string bytes = ReadFileBytes(cow_);
  const std::vector<uint8_t> enc = EncodeV3Header(*h);
  bytes.replace(0, enc.size(), std::string(enc.begin(), enc.end()));
  WriteFileBytes(cow_, bytes);
  const FileSnapshot before = Snapshot(cow_);
  absl::StatusOr<std::unique_ptr<CowDisk>> d = Open();
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("names itself"));
  EXPECT_EQ(Snapshot(cow_), before);
}

TEST_F(CowDiskTest, BackingNotAMultipleOf512IsRefusedForDisks) {
  WriteFileBytes(backing_, base_data_.substr(0, 1000));
  ASSERT_EQ(::unlink(cow_.c_str()), 0);
  ASSERT_TRUE(CreateCowFile(cow_, backing_).ok());
  absl::StatusOr<std::unique_ptr<CowDisk>> d = Open();
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("not a multiple of 512"));
  CowOpenOptions tools;
  tools.disk.allow_partial_sector = true;
  tools.disk.read_only = true;
  auto t = MustOpen(tools);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Read(*t, 0, 1000), base_data_.substr(0, 1000));
}

// v1/v2 files have no bit for their last sectors % 8 sectors.
TEST(CowDiskOldVersionsTest, V2TailSectorsReadFromBackingAndRefuseWrites) {
  const std::string dir = TestDir();
  const std::string backing = dir + "/b.img", cow = dir + "/v2.cow";
  const std::string base = PatternBytes(kDisk, 3);
  WriteFileBytes(backing, base);
  struct stat st;
  ASSERT_EQ(::stat(backing.c_str(), &st), 0);
  // A v2 file: header, 256-byte bitmap at 4120, data at 4608.
  std::string file(4608 + kDisk, '\0');
  auto be32 = [&file](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i)
      file[at + i] = static_cast<char>(v >> (24 - 8 * i));
  };
  be32(0, kCowMagic);
  be32(4, 2);
  file.replace(8, backing.size(), backing);
  be32(4104, static_cast<uint32_t>(st.st_mtime));
  be32(4108, 0);
  be32(4112, static_cast<uint32_t>(kDisk));
  be32(4116, 512);
  file[4120] = 0x01;  // sector 0 in the COW
  file.replace(4608, 512, std::string(512, 'c'));
  file.replace(4608 + 2049 * 512, 512, std::string(512, 'T'));  // no bit
  WriteFileBytes(cow, file);
  UniqueFd fd(::open(cow.c_str(), O_RDWR | O_CLOEXEC));
  auto h = ReadCowHeader(fd.get(), cow);
  ASSERT_TRUE(h.ok() && h->has_value()) << h.status();
  auto d = OpenCowDisk(std::move(fd), cow, **h, {});
  ASSERT_TRUE(d.ok()) << d.status();
  std::string got(kDisk, '\0');
  ASSERT_TRUE(
      (*d)->ReadAt(0, absl::MakeSpan(reinterpret_cast<uint8_t*>(&got[0]),
                                     got.size()))
          .ok());
  std::string expect = base;
  expect.replace(0, 512, std::string(512, 'c'));
  EXPECT_EQ(got, expect);
  const uint8_t byte = 1;
  EXPECT_FALSE((*d)->WriteAt(2049 * 512, absl::MakeConstSpan(&byte, 1)).ok());
  EXPECT_TRUE((*d)->WriteAt(2047 * 512, absl::MakeConstSpan(&byte, 1)).ok());
}

}  // namespace
}  // namespace kuml
