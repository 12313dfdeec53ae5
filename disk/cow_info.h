// `cow info`: what a COW file's header says, whether its backing file still
// matches, and how much of the disk the COW file holds.
#ifndef KUML_DISK_COW_INFO_H_
#define KUML_DISK_COW_INFO_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "disk/cow_format.h"

namespace kuml {

struct CowInfo {
  std::string path;
  CowHeader header;
  uint64_t file_bytes = 0;       // st_size of the COW file
  uint64_t allocated_bytes = 0;  // what it occupies on the host disk
  uint64_t sectors_in_cow = 0;   // set bits
  // "ok", or why the backing file does not fit (missing, size, mtime).
  std::string backing_check;
};

// Reads the header and bitmap of `path` (never writes). Fails when it is not
// a COW file or its header or bitmap is unusable.
absl::StatusOr<CowInfo> InspectCow(const std::string& path);

// The human-readable report `umlctl cow info` prints.
std::string FormatCowInfo(const CowInfo& info);

}  // namespace kuml

#endif  // KUML_DISK_COW_INFO_H_
