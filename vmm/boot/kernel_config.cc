#include "vmm/boot/kernel_config.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace kuml {

std::optional<std::string> KernelConfigPath(const std::string& kernel_path) {
  char real[PATH_MAX];
  if (realpath(kernel_path.c_str(), real) == nullptr) return std::nullopt;
  const std::string path = real;
  const std::string dir = path.substr(0, path.rfind('/'));
  for (const char* name : {"/config", "/.config"}) {
    const std::string candidate = dir + name;
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), R_OK) == 0) {
      return candidate;
    }
  }
  return std::nullopt;
}

std::optional<int64_t> KernelConfigNumber(absl::string_view config_text,
                                          absl::string_view option) {
  for (absl::string_view line : absl::StrSplit(config_text, '\n')) {
    if (!absl::ConsumePrefix(&line, option) ||
        !absl::ConsumePrefix(&line, "=")) {
      continue;  // another option, or one whose name only starts alike
    }
    int64_t value = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &value)) {
      return value;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace kuml
