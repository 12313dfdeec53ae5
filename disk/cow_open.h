// Opening an existing COW file the way UML's ubd driver does
// (ubd_kern.c open_ubd_file, path_requires_switch, backing_file_mismatch):
// which backing file to use, the size/mtime check, the header rewrite of a
// "switch", and the backing file opened read-only (and share-locked).
#ifndef KUML_DISK_COW_OPEN_H_
#define KUML_DISK_COW_OPEN_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "disk/cow_disk.h"
#include "disk/cow_format.h"
#include "disk/host_file.h"
#include "util/unique_fd.h"

namespace kuml {

// Receives UML's informational lines ("Switching backing file to '...'").
using CowNotice = std::function<void(const std::string&)>;

struct CowOpenOptions {
  // The backing file the user named (ubdN=cow,<backing>, or uml_moo's -b);
  // empty: the one in the header.
  std::string backing_path;
  // uml_moo -b: use backing_path as it is, without UML's switch rule and
  // without the size/mtime check.
  bool force_backing = false;
  bool lock_backing = true;  // share-lock the backing file (not with flag c)
  CowDisk::Options disk;     // read_only also decides whether a switch may
                             // rewrite the header
};

// backing_file_mismatch(): OK when `actual` (the backing file at `path`) has
// the header's size and mtime, else FailedPrecondition with UML's text.
absl::Status CheckBackingMatch(const CowHeader& header,
                               const HostFileInfo& actual,
                               const std::string& path);

// `cow_fd` is the COW file, opened (and locked) as the caller wants, and
// `header` its decoded header. Picks the backing file:
//  * none given, or the same file as the header's (by name or by inode):
//    the header's;
//  * a different file whose size and mtime match the header: that one, and
//    a writable v3 header is rewritten to name it ("Switching backing file
//    to '<absolute path>'");
//  * otherwise the header's.
// Then the backing file's size and mtime must equal the header's
// (FailedPrecondition with UML's "Size mismatch (%llu vs %llu) of COW header
// vs backing file" / "mtime mismatch (%lld vs %lld) ..." text), and it must
// not be the COW file itself.
absl::StatusOr<std::unique_ptr<CowDisk>> OpenCowDisk(
    UniqueFd cow_fd, const std::string& cow_path, const CowHeader& header,
    const CowOpenOptions& options, const CowNotice& notice = nullptr);

}  // namespace kuml

#endif  // KUML_DISK_COW_OPEN_H_
