#include "disk/host_file.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

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

absl::StatusOr<FileBeside> FileBeside::Create(const std::string& final_path) {
  std::string tmp = final_path + ".kuml-new-XXXXXX";
  UniqueFd fd(::mkostemp(&tmp[0], O_CLOEXEC));
  if (!fd)
    return ErrnoStatus(absl::StrCat("create a file beside ", final_path));
  FileBeside file(std::move(fd), std::move(tmp), final_path);
  // mkstemp makes 0600; the tools' files get what open(..., 0644) would.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  if (::fchmod(file.fd(), 0644 & ~mask) != 0) {
    return ErrnoStatus(absl::StrCat("chmod ", file.path()));
  }
  return file;
}

FileBeside::FileBeside(FileBeside&& other) noexcept
    : fd_(std::move(other.fd_)),
      path_(std::move(other.path_)),
      final_path_(std::move(other.final_path_)),
      committed_(other.committed_) {
  other.committed_ = true;  // the moved-from one removes nothing
}

FileBeside::~FileBeside() {
  if (!committed_) ::unlink(path_.c_str());
}

absl::Status FileBeside::Commit(bool replace) {
  if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, final_path_.c_str(),
                  replace ? 0 : RENAME_NOREPLACE) != 0) {
    return ErrnoStatus(absl::StrCat("rename ", path_, " to ", final_path_));
  }
  committed_ = true;
  return absl::OkStatus();
}

}  // namespace kuml
