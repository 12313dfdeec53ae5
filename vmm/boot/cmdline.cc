#include "vmm/boot/cmdline.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "vmm/boot/layout.h"

namespace kuml {

absl::Status CheckCommandLine(absl::string_view cmdline, uint64_t max_bytes) {
  max_bytes = std::min(max_bytes, layout::kCmdlineMaxBytes);
  if (cmdline.size() + 1 > max_bytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "kernel command line too long: %u bytes; at most %u fit",
        cmdline.size(), max_bytes == 0 ? 0 : max_bytes - 1));
  }
  if (cmdline.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "kernel command line contains a NUL byte");
  }
  return absl::OkStatus();
}

absl::Status WriteCommandLine(GuestMemory& mem, absl::string_view cmdline) {
  absl::Status s = CheckCommandLine(cmdline, layout::kCmdlineMaxBytes);
  if (!s.ok()) return s;
  s = mem.Write(layout::kCmdlineAddr, cmdline.data(), cmdline.size());
  if (!s.ok()) return s;
  const uint8_t nul = 0;
  return mem.Write(layout::kCmdlineAddr + cmdline.size(), &nul, 1);
}

}  // namespace kuml
