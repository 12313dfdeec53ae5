// Merging a COW file with its backing file, as uml_moo does:
//  * into a new image (the default): every sector from the COW file where
//    its bit is set, else from the backing file; the new file has the
//    backing file's size and is sparse where the merged data is zero;
//  * in place (uml_moo -d): the COW file's sectors written over the backing
//    file. The COW file is left as it was (and no longer matches the
//    changed backing file).
// The backing file's size and mtime must match the header, unless
// backing_path is given (uml_moo -b), which is then used as it is.
#ifndef KUML_DISK_COW_MERGE_H_
#define KUML_DISK_COW_MERGE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"

namespace kuml {

struct CowMergeOptions {
  std::string backing_path;  // -b: the backing file to use instead
  bool in_place = false;     // -d: merge into the backing file itself
  bool overwrite = false;    // -f: replace an existing output file
  // Called now and then with bytes done and bytes to do.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct CowMergeResult {
  std::string backing_path;  // the backing file that was used
  uint64_t size = 0;         // bytes of the merged image
  uint64_t cow_sectors = 0;  // sectors taken from the COW file
};

// Merges `cow_path`; `output_path` names the new image (ignored, and must
// be empty, with in_place). The output is built beside its final name and
// renamed into place, so a failure leaves nothing behind; without
// `overwrite` an existing output is refused, and the output may never be the
// COW file or the backing file. The COW file is share-locked, so one in use
// by a running UML or kuml is refused.
absl::StatusOr<CowMergeResult> MergeCow(const std::string& cow_path,
                                        const std::string& output_path,
                                        const CowMergeOptions& options);

}  // namespace kuml

#endif  // KUML_DISK_COW_MERGE_H_
