// Entry point for booting a Linux x86-64 guest: puts the kernel, the initrd
// and the command line into guest RAM, writes the tables that describe the
// machine to the kernel, and returns the state the boot vCPU starts in.
//
// The kernel file is recognised by its content: an ELF vmlinux is booted
// through PVH (32-bit entry, no decompression: fastest), a bzImage through the
// 64-bit boot protocol. The MP table (CPUs, IOAPIC) is separate: see
// mptable.h. No KVM calls are made here.
#ifndef KUML_VMM_BOOT_KERNEL_LOADER_H_
#define KUML_VMM_BOOT_KERNEL_LOADER_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "vmm/boot/cpu_state.h"
#include "vmm/guest_memory.h"

namespace kuml {

struct KernelLoadRequest {
  std::string kernel_path;  // vmlinux (ELF, with a PVH note) or bzImage
  std::string cmdline;      // without the NUL
  std::optional<std::string> initrd_path;
};

// Loads everything `req` names into `mem`. Every error names the file and
// what is wrong with it (not a kernel, truncated, too big for guest RAM,
// initrd does not fit, command line too long).
absl::StatusOr<BootCpuState> LoadKernel(GuestMemory& mem,
                                        const KernelLoadRequest& req);

// The kernel's "Linux version ..." banner, read from the file without
// loading it (bzImage: the setup header's kernel_version string, prefixed with
// "Linux version "; vmlinux: the linux_banner string up to its NUL, without
// the trailing newline).
absl::StatusOr<std::string> KernelVersionString(const std::string& path);

// What a kernel says about itself in its ELF notes, read from the file without
// loading it. Only a vmlinux is read: a bzImage's notes are inside its
// compressed payload, and a multiboot binary has none kuml knows; both give
// the defaults.
struct KernelNotes {
  // The kernel gives kuml's devices UML's names when booted with
  // kuml_names=uml (elf_loader.h kKumlElfNoteUmlNames).
  bool uml_device_names = false;
};
absl::StatusOr<KernelNotes> ReadKernelNotes(const std::string& path);

}  // namespace kuml

#endif  // KUML_VMM_BOOT_KERNEL_LOADER_H_
