// The kernel command line in guest RAM at layout::kCmdlineAddr.
#ifndef KUML_VMM_BOOT_CMDLINE_H_
#define KUML_VMM_BOOT_CMDLINE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "vmm/guest_memory.h"

namespace kuml {

// Checks that `cmdline` plus its NUL fits in `max_bytes` (itself capped at
// layout::kCmdlineMaxBytes) and holds no NUL byte.
absl::Status CheckCommandLine(absl::string_view cmdline, uint64_t max_bytes);

// Writes `cmdline` NUL-terminated at layout::kCmdlineAddr after
// CheckCommandLine(cmdline, layout::kCmdlineMaxBytes).
absl::Status WriteCommandLine(GuestMemory& mem, absl::string_view cmdline);

}  // namespace kuml

#endif  // KUML_VMM_BOOT_CMDLINE_H_
