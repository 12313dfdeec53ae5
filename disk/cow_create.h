// Creating a COW file over a backing file, as UML (`ubdN=cow,backing` when
// `cow` is missing) and uml_mkcow do: a v3 header naming the backing file's
// absolute path, size and mtime; a zero bitmap; a sparse data area; the file
// data_offset + size bytes long. The header's unused bytes are zeros.
#ifndef KUML_DISK_COW_CREATE_H_
#define KUML_DISK_COW_CREATE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "disk/cow_format.h"

namespace kuml {

struct CowCreateOptions {
  // uml_mkcow -f: replace an existing file. The new file is built beside it
  // and renamed over it, so a failure leaves the old one as it was. Refused
  // when the existing file is the backing file itself or is locked by a
  // running UML or kuml.
  bool overwrite = false;
};

// Creates `cow_path` over `backing_path`; returns its header. Without
// `overwrite`, AlreadyExists when `cow_path` exists. On failure nothing is
// left behind.
absl::StatusOr<CowHeader> CreateCowFile(absl::string_view cow_path,
                                        absl::string_view backing_path,
                                        const CowCreateOptions& options = {});

}  // namespace kuml

#endif  // KUML_DISK_COW_CREATE_H_
