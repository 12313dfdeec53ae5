#include "disk/raw_file_backend.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir ? dir : "/tmp", "/", name);
}

std::string MakeFile(const std::string& name, const std::string& contents) {
  std::string path = TempPath(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 7 + 3);
  return s;
}

TEST(RawFileBackendTest, ReadsAndWritesTheFile) {
  std::string path = MakeFile("rw.img", Pattern(4096));
  auto disk = RawFileBackend::Open(path, /*read_only=*/false);
  ASSERT_TRUE(disk.ok()) << disk.status();
  EXPECT_EQ((*disk)->size_bytes(), 4096u);
  EXPECT_FALSE((*disk)->read_only());

  std::vector<uint8_t> buf(1000);
  ASSERT_TRUE((*disk)->ReadAt(100, absl::MakeSpan(buf)).ok());
  std::string expected = Pattern(4096);
  EXPECT_EQ(std::string(buf.begin(), buf.end()), expected.substr(100, 1000));

  std::string data = "hello, disk";
  ASSERT_TRUE((*disk)
                  ->WriteAt(4096 - data.size(),
                            absl::MakeConstSpan(
                                reinterpret_cast<const uint8_t*>(data.data()),
                                data.size()))
                  .ok());
  ASSERT_TRUE((*disk)->Flush().ok());
  expected.replace(4096 - data.size(), data.size(), data);
  EXPECT_EQ(ReadFile(path), expected);
}

TEST(RawFileBackendTest, RefusesAccessBeyondTheEnd) {
  std::string path = MakeFile("small.img", std::string(1024, 'x'));
  auto disk = RawFileBackend::Open(path, false);
  ASSERT_TRUE(disk.ok()) << disk.status();
  std::vector<uint8_t> buf(2);
  EXPECT_EQ((*disk)->ReadAt(1023, absl::MakeSpan(buf)).code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ((*disk)->ReadAt(~0ull, absl::MakeSpan(buf)).code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ((*disk)->WriteAt(~0ull - 1, absl::MakeConstSpan(buf)).code(),
            absl::StatusCode::kOutOfRange);
  // Reading exactly up to the end is fine; a zero-length access at the end
  // too.
  EXPECT_TRUE((*disk)->ReadAt(1022, absl::MakeSpan(buf)).ok());
  EXPECT_TRUE((*disk)->ReadAt(1024, absl::Span<uint8_t>()).ok());
  EXPECT_EQ(ReadFile(path), std::string(1024, 'x'));
}

TEST(RawFileBackendTest, ReadOnlyRefusesWritesAndLeavesTheFile) {
  std::string path = MakeFile("ro.img", std::string(512, 'r'));
  ASSERT_EQ(chmod(path.c_str(), 0444), 0);
  auto disk = RawFileBackend::Open(path, /*read_only=*/true);
  ASSERT_TRUE(disk.ok()) << disk.status();
  EXPECT_TRUE((*disk)->read_only());
  uint8_t b = 'w';
  EXPECT_EQ((*disk)->WriteAt(0, absl::MakeConstSpan(&b, 1)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*disk)->Flush().ok());
  EXPECT_EQ(ReadFile(path), std::string(512, 'r'));
}

TEST(RawFileBackendTest, OpenErrorsNameThePath) {
  std::string missing = TempPath("does-not-exist.img");
  auto disk = RawFileBackend::Open(missing, false);
  ASSERT_FALSE(disk.ok());
  EXPECT_EQ(disk.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(disk.status().message()), HasSubstr(missing));
}

TEST(RawFileBackendTest, RefusesSizeNotMultipleOf512) {
  std::string path = MakeFile("odd.img", std::string(513, 'o'));
  auto disk = RawFileBackend::Open(path, false);
  ASSERT_FALSE(disk.ok());
  EXPECT_EQ(disk.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(disk.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(disk.status().message()), HasSubstr("513"));
}

TEST(RawFileBackendTest, RefusesDirectoriesCharDevicesAndFifos) {
  std::string dir = TempPath("a-directory");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  auto d = RawFileBackend::Open(dir, /*read_only=*/true);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(std::string(d.status().message()), HasSubstr(dir));

  auto null = RawFileBackend::Open("/dev/null", /*read_only=*/true);
  ASSERT_FALSE(null.ok());
  EXPECT_THAT(std::string(null.status().message()), HasSubstr("/dev/null"));

  // A FIFO with no writer would block a plain open(); we must not hang.
  std::string fifo = TempPath("a-fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto f = RawFileBackend::Open(fifo, /*read_only=*/true);
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(std::string(f.status().message()), HasSubstr(fifo));
}

TEST(RawFileBackendTest, EmptyFileIsAZeroSizedDisk) {
  std::string path = MakeFile("empty.img", "");
  auto disk = RawFileBackend::Open(path, false);
  ASSERT_TRUE(disk.ok()) << disk.status();
  EXPECT_EQ((*disk)->size_bytes(), 0u);
  uint8_t b;
  EXPECT_FALSE((*disk)->ReadAt(0, absl::MakeSpan(&b, 1)).ok());
}

TEST(RawFileBackendTest, FileTruncatedUnderUsReportsDataLoss) {
  std::string path = MakeFile("shrink.img", std::string(2048, 's'));
  auto disk = RawFileBackend::Open(path, false);
  ASSERT_TRUE(disk.ok()) << disk.status();
  ASSERT_EQ(truncate(path.c_str(), 512), 0);
  std::vector<uint8_t> buf(1024);
  EXPECT_EQ((*disk)->ReadAt(0, absl::MakeSpan(buf)).code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace kuml
