// The guest kernel's build configuration, when kuml can find it: kuml's
// kernel build (guest/build-kernel.sh) keeps it as `config` beside the
// vmlinux, and a kernel tree keeps `.config` beside its vmlinux. Used for
// --showconfig (UML prints its .config) and to know the kernel's limits
// before booting it (ncpus= against CONFIG_NR_CPUS).
#ifndef KUML_VMM_BOOT_KERNEL_CONFIG_H_
#define KUML_VMM_BOOT_KERNEL_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace kuml {

// The configuration file beside `kernel_path` (symlinks resolved first, so
// ~/.cache/kuml/guest/vmlinux finds kernel-<hash>/config): `config`, else
// `.config`. nullopt when neither is a readable file.
std::optional<std::string> KernelConfigPath(const std::string& kernel_path);

// The value of a numeric option (`CONFIG_NR_CPUS=8`) in the text of a
// kernel .config; nullopt when it is absent, unset or not a number.
std::optional<int64_t> KernelConfigNumber(absl::string_view config_text,
                                          absl::string_view option);

}  // namespace kuml

#endif  // KUML_VMM_BOOT_KERNEL_CONFIG_H_
