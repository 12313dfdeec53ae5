#include "disk/testing/cow_test_files.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "gtest/gtest.h"

namespace kuml {

std::string TestDir() {
  static int counter = 0;
  const char* base = std::getenv("TEST_TMPDIR");
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string dir = std::string(base ? base : "/tmp") + "/" +
                    (info ? info->name() : "t") + "." +
                    std::to_string(++counter);
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

std::string PatternBytes(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    s[i] = static_cast<char>((i / 512) * 7 + i * 13 + seed * 31 + 1);
  }
  return s;
}

void WriteFileBytes(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void SetMtime(const std::string& path, int64_t seconds) {
  struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

FileSnapshot Snapshot(const std::string& path) {
  FileSnapshot snap;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return snap;
  snap.exists = true;
  snap.bytes = ReadFileBytes(path);
  snap.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  return snap;
}

}  // namespace kuml
