// The guest kernel's uname fields for mconsole `version`, read from the
// kernel image before it boots (the answer must not depend on the guest).
//
// vmlinux: the linux_banner string, "Linux version <release> (<user>@<host>)
// (<compiler>) <version>". A 6.1 vmlinux holds two: a weak placeholder from
// init/version.c ("# SMP ...") and the real one from version-timestamp.c
// ("#1 SMP ..."), so the one whose version has a build number wins.
// bzImage: the setup header's kernel_version string, "<release>
// (<user>@<host>) <version>".
#ifndef KUML_MCONSOLE_KERNEL_VERSION_H_
#define KUML_MCONSOLE_KERNEL_VERSION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mconsole/guest_control.h"

namespace kuml::mconsole {

// Parses one banner ("Linux version 6.1.0 (u@h) (gcc ...) #1 SMP ...", with
// or without the compiler part). nodename stays "(none)" (what a kernel
// reports before user space sets a host name), machine "x86_64".
absl::StatusOr<KernelVersion> ParseLinuxBanner(absl::string_view banner);

// Reads the banner out of a vmlinux or bzImage file.
absl::StatusOr<KernelVersion> ReadKernelVersion(const std::string& path);

}  // namespace kuml::mconsole

#endif  // KUML_MCONSOLE_KERNEL_VERSION_H_
