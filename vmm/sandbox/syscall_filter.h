// Seccomp filters for kuml's threads: an allowlist of system calls per kind
// of thread; any other call stops kuml with a message that names it.
//
// Why: a VMM's device models parse what a hostile guest writes; if one of
// them is ever tricked into running code, the filter limits that code to
// the system calls kuml itself makes. Firecracker and Cloud Hypervisor do
// the same (per-thread filters built from a census of their own calls).
//
// How kuml uses it (machine_sandbox.h has the lists):
//  * once everything is set up (lines, KVM, mconsole and gRPC threads), the
//    process filter goes on every thread at once (SECCOMP_FILTER_FLAG_TSYNC),
//    after PR_SET_NO_NEW_PRIVS; threads created later inherit it;
//  * each vCPU thread adds the stricter vCPU filter when it starts (filters
//    stack: a call must pass both).
// A call outside the list traps (SECCOMP_RET_TRAP): the SIGSYS handler
// writes "kuml: sandbox: system call <name> (<nr>) is not allowed in the
// <kind> filter..." to stderr, runs the fatal hook (the terminal's restore)
// and ends the process with status 1. Nothing else happens first: the
// call is never made.
#ifndef KUML_VMM_SANDBOX_SYSCALL_FILTER_H_
#define KUML_VMM_SANDBOX_SYSCALL_FILTER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace kuml {

struct SyscallFilter {
  // Named in the message when a call is refused: "process", "vCPU".
  std::string kind;
  // System call names as libseccomp knows them ("read", "ioctl", ...).
  std::vector<std::string> allowed;
};

// Installs `filter` on the calling thread, or on every thread of the
// process when `all_threads`. Sets PR_SET_NO_NEW_PRIVS first (seccomp needs
// it without CAP_SYS_ADMIN, and it is wanted anyway: no exec gains
// privileges). InvalidArgument for a name libseccomp does not know.
absl::Status InstallSyscallFilter(const SyscallFilter& filter,
                                  bool all_threads);

// Run by the SIGSYS handler before the process ends; must be
// async-signal-safe. One hook per process; null removes it.
void SetSandboxFatalHook(void (*hook)());

}  // namespace kuml

#endif  // KUML_VMM_SANDBOX_SYSCALL_FILTER_H_
