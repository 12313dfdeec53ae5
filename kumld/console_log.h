// A guest's console log (<log_dir>/<umid>.log) under a size cap. The VMM
// writes the log itself (its stdout and stderr, opened O_APPEND by kumld),
// so a guest that prints without end would fill the host's disk. kumld
// checks each running guest's log about once a second; one over the cap is
// rotated by copy and truncate: its content becomes <umid>.log.1 (replacing
// the one before) and the log is truncated to empty, where the VMM's next
// append lands. Disk use per guest stays under two caps plus what it prints
// in a second. What the VMM appends between the copy and the truncation is
// lost (a handful of bytes; the log says so).
#ifndef KUML_KUMLD_CONSOLE_LOG_H_
#define KUML_KUMLD_CONSOLE_LOG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace kuml::kumld {

// Rotates `path` when it is larger than `max_bytes`; true when it did.
absl::StatusOr<bool> RotateConsoleLogIfOver(const std::string& path,
                                            uint64_t max_bytes);

}  // namespace kuml::kumld

#endif  // KUML_KUMLD_CONSOLE_LOG_H_
