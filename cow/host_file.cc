#include "cow/host_file.h"

#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "util/errno_status.h"
#include "util/file_io.h"

namespace kuml {

absl::StatusOr<HostFileInfo> InspectFile(int fd, absl::string_view path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(absl::StrCat("fstat ", path));
  HostFileInfo info;
  info.mtime = st.st_mtime;
  info.dev = st.st_dev;
  info.ino = st.st_ino;
  if (S_ISREG(st.st_mode)) {
    info.size = static_cast<uint64_t>(st.st_size);
  } else if (S_ISBLK(st.st_mode)) {
    if (::ioctl(fd, BLKGETSIZE64, &info.size) != 0) {
      return ErrnoStatus(absl::StrCat("BLKGETSIZE64 on ", path));
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is neither a regular file nor a block device"));
  }
  return info;
}

absl::StatusOr<std::string> AbsolutizePath(absl::string_view path) {
  if (path.empty()) return absl::InvalidArgumentError("empty file name");
  const size_t slash = path.rfind('/');
  std::string dir = slash == absl::string_view::npos
                        ? "."
                        : std::string(path.substr(0, slash == 0 ? 1 : slash));
  const absl::string_view base =
      slash == absl::string_view::npos ? path : path.substr(slash + 1);
  std::unique_ptr<char, decltype(&::free)> real(
      ::realpath(dir.c_str(), nullptr), &::free);
  if (real == nullptr) {
    return ErrnoStatus(
        absl::StrCat("absolutize '", path, "': directory '", dir, "'"));
  }
  std::string out = real.get();
  if (out != "/") out += "/";
  return absl::StrCat(out, base);
}

absl::StatusOr<std::optional<CowHeader>> ReadCowHeader(int fd,
                                                       absl::string_view path) {
  std::vector<uint8_t> bytes(kCowMaxHeaderBytes);
  absl::StatusOr<size_t> n =
      ReadAtMost(fd, 0, absl::MakeSpan(bytes), absl::StrCat("read ", path));
  if (!n.ok()) return n.status();
  bytes.resize(*n);
  absl::StatusOr<std::optional<CowHeader>> header = DecodeCowHeader(bytes);
  if (!header.ok()) {
    return absl::Status(header.status().code(),
                        absl::StrCat(path, ": ", header.status().message()));
  }
  return header;
}

}  // namespace kuml
