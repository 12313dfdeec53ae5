#include "kumld/console_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "util/errno_status.h"
#include "util/unique_fd.h"

namespace kuml::kumld {
namespace {

// Appends [from, to) of `in` to `out`; stops early at EOF.
absl::Status CopyRange(int in, int out, off_t from, off_t to,
                       const std::string& what) {
  while (from < to) {
    ssize_t n = copy_file_range(in, &from, out, nullptr, to - from, 0);
    if (n < 0) return ErrnoStatus(what);
    if (n == 0) break;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<bool> RotateConsoleLogIfOver(const std::string& path,
                                            uint64_t max_bytes) {
  UniqueFd log(open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
  if (!log) {
    if (errno == ENOENT) return false;
    return ErrnoStatus("open console log " + path);
  }
  struct stat st;
  if (fstat(log.get(), &st) != 0) return ErrnoStatus("fstat " + path);
  if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) <= max_bytes) {
    return false;
  }
  const std::string old = path + ".1";
  const std::string tmp = old + ".tmp";
  UniqueFd out(
      open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!out) return ErrnoStatus("create " + tmp);
  const std::string what = absl::StrCat("copy ", path, " to ", tmp);
  absl::Status s = CopyRange(log.get(), out.get(), 0, st.st_size, what);
  // What the VMM appended meanwhile, then truncate at once: only what comes
  // between this second look and the truncation is lost.
  struct stat again;
  if (s.ok() && fstat(log.get(), &again) == 0 && again.st_size > st.st_size) {
    s = CopyRange(log.get(), out.get(), st.st_size, again.st_size, what);
  }
  if (!s.ok()) {
    unlink(tmp.c_str());
    return s;
  }
  if (ftruncate(log.get(), 0) != 0) {
    unlink(tmp.c_str());
    return ErrnoStatus("truncate " + path);
  }
  if (rename(tmp.c_str(), old.c_str()) != 0) {
    return ErrnoStatus("rename " + tmp + " to " + old);
  }
  const std::string note = absl::StrCat(
      "--- kumld: the log reached ", max_bytes, " bytes; earlier output is in ",
      old, " (a few bytes between the two may be lost)\n");
  // Appended, like the VMM's own writes, so neither overwrites the other.
  UniqueFd append(open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  if (append) (void)!write(append.get(), note.data(), note.size());
  return true;
}

}  // namespace kuml::kumld
