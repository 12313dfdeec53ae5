// kuml's seccomp allowlists (vmm/sandbox/syscall_filter.h is the mechanism).
//
//   process  every thread, from the first boot on: the launcher and event
//            loop (which also builds each reboot's machine), mconsole and
//            gRPC threads, line and network threads, hot-plug (files, taps,
//            ptys, sockets). Not in it: exec, ptrace, mount and namespaces,
//            module and kexec calls, bpf, perf, keyrings, setuid and
//            friends, process_vm_*, reboot, swap -- nothing kuml does once
//            its guest's devices are open.
//   vCPU     added on each vCPU thread: KVM_RUN, the exits' device work
//            (memory, locks, non-blocking channel writes, eventfd kicks),
//            signals for kicks.
// Built from a census: strace -f -Y of a default-guest session on this
// project's machines (boot, console, every mconsole command incl. hot-plug
// of disk/net/console lines, gRPC, telnet and pts lines, slirp, reboot,
// halt), plus the calls of rare paths read from the code (errors, COW
// creation, taps, discard); the whole test suite runs with it.
#ifndef KUML_MACHINE_SANDBOX_POLICY_H_
#define KUML_MACHINE_SANDBOX_POLICY_H_

#include "vmm/sandbox/syscall_filter.h"

namespace kuml {

SyscallFilter KumlProcessFilter();
SyscallFilter KumlVcpuFilter();

// Before the filters go on: does, once, what libraries would otherwise do
// lazily on whichever thread first needs it -- absl::Mutex's contended path
// reads the CPU's nominal frequency from /sys (openat) on first use, which
// killed two vCPUs parking at once (ncpus=2, mconsole `stop`).
void WarmUpForSandbox();

}  // namespace kuml

#endif  // KUML_MACHINE_SANDBOX_POLICY_H_
