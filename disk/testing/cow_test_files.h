// Helpers for the COW tests: files in the test's temporary directory, and
// snapshots that prove a failed operation changed nothing.
#ifndef KUML_DISK_TESTING_COW_TEST_FILES_H_
#define KUML_DISK_TESTING_COW_TEST_FILES_H_

#include <sys/stat.h>

#include <cstdint>
#include <string>

namespace kuml {

// A fresh directory for this test under $TEST_TMPDIR.
std::string TestDir();
// `n` bytes of a pattern that differs per sector and per `seed`.
std::string PatternBytes(size_t n, int seed);
void WriteFileBytes(const std::string& path, const std::string& data);
std::string ReadFileBytes(const std::string& path);
// Sets a file's mtime (seconds) so COW headers can be checked against it.
void SetMtime(const std::string& path, int64_t seconds);

// Contents, size and mtime (nanoseconds) of a file.
struct FileSnapshot {
  bool exists = false;
  std::string bytes;
  int64_t mtime_ns = 0;
  bool operator==(const FileSnapshot& o) const {
    return exists == o.exists && bytes == o.bytes && mtime_ns == o.mtime_ns;
  }
};
FileSnapshot Snapshot(const std::string& path);

}  // namespace kuml

#endif  // KUML_DISK_TESTING_COW_TEST_FILES_H_
