// OpenUbd: the host side of one UML block device (`ubd<n><flags>=<file>
// [,<backing>]`), opened the way UML's ubd driver opens it:
//  * <file> is opened read-write (read-only with flag r, or when the host
//    refuses writing, as UML falls back), O_SYNC with flag s or ubd=sync;
//  * it is locked on the host (exclusive when writable, shared otherwise)
//    unless flag c ("Not locking "<file>" on the host");
//  * with a backing file, <file> is a COW file over it, created when
//    missing ("Creating "<file>" as COW file for "<backing>"");
//  * without one, <file> is sniffed: a COW file uses the backing file its
//    header names, anything else is a raw image; flag d skips the sniff;
//  * discard punches holes unless flag t.
// Open each disk once per kuml process: the backend keeps the locks and the
// COW bitmap across in-process reboots.
#ifndef KUML_DISK_UBD_OPEN_H_
#define KUML_DISK_UBD_OPEN_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "disk/block_backend.h"

namespace kuml {

struct UbdOpenOptions {
  std::string file;          // image or COW file
  std::string backing_file;  // empty: none on the command line
  bool read_only = false;    // r
  bool sync = false;         // s (or ubd=sync)
  bool no_cow = false;       // d
  bool shared = false;       // c: no host locks
  bool no_trim = false;      // t: no discard
};

// Receives UML's informational lines ("Creating ...", "Switching backing
// file to ...", "Not locking ...").
using UbdNotice = std::function<void(const std::string&)>;

// Errors say what is wrong with which file (UML's texts where UML has one);
// on error no file was created or changed.
absl::StatusOr<std::shared_ptr<BlockBackend>> OpenUbd(
    const UbdOpenOptions& options, const UbdNotice& notice = nullptr);

}  // namespace kuml

#endif  // KUML_DISK_UBD_OPEN_H_
