#include "machine/sandbox_policy.h"

#include "absl/base/internal/sysinfo.h"

namespace kuml {
namespace {

// What every thread may need whatever it does: memory, locks, time,
// signals, exit, and the SIGSYS handler's own write/ioctl (terminal
// restore).
constexpr const char* kCommon[] = {
    "brk",
    "mmap",
    "munmap",
    "mprotect",
    "madvise",
    "mremap",
    "futex",
    "sched_yield",
    // absl::Mutex reads the waiting thread's priority when it queues it
    // (pthread_getschedparam): two vCPUs parking at once for mconsole
    // `stop` with ncpus=2 were killed for sched_getparam.
    "sched_getparam",
    "sched_getscheduler",
    "set_robust_list",
    "rseq",
    "clock_gettime",
    "clock_nanosleep",
    "nanosleep",
    "gettimeofday",
    "rt_sigprocmask",
    "rt_sigreturn",
    "restart_syscall",
    "getpid",
    "gettid",
    "write",
    "ioctl",
    "exit",
    "exit_group",
};

constexpr const char* kProcessOnly[] = {
    // Files: disks (raw, COW: create, lock, punch holes, sync), the umid
    // directory, the kernel image at each reboot, ptys and ttys.
    "read",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "readv",
    "writev",
    "openat",
    "close",
    "lseek",
    "newfstatat",
    "fstat",
    "statx",
    "access",
    "faccessat",
    "faccessat2",
    "fcntl",
    "flock",
    "ftruncate",
    "fallocate",
    "fsync",
    "fdatasync",
    "getdents64",
    "mkdir",
    "mkdirat",
    "rmdir",
    "unlink",
    "unlinkat",
    "renameat2",
    "rename",
    "chmod",
    "fchmod",
    "umask",
    "readlink",
    "readlinkat",
    "getcwd",
    "dup",
    "dup2",
    "dup3",
    "pipe2",
    "copy_file_range",
    "statfs",
    "fstatfs",
    // Sockets: mconsole, gRPC, port: lines, slirp, uml_switch, vde, pcap,
    // taps' host side, the notify socket.
    "socket",
    "socketpair",
    "bind",
    "listen",
    "accept",
    "accept4",
    "connect",
    "getsockname",
    "getpeername",
    "getsockopt",
    "setsockopt",
    "shutdown",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    // Waiting: the event loop, line and mconsole threads.
    "poll",
    "ppoll",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "eventfd2",
    "select",
    "pselect6",
    // Threads (line servers, slirp, gRPC's pools, each boot's vCPUs).
    "clone",
    "clone3",
    "set_tid_address",
    "arch_prctl",
    "prctl",
    // Each vCPU thread adds its own, stricter filter (filters only narrow).
    "seccomp",
    "sched_getaffinity",
    "getrlimit",
    "prlimit64",
    // Signals: kicks, the stop-signal thread, a boot-time xterm's end.
    "rt_sigaction",
    "rt_sigtimedwait",
    "rt_sigpending",
    "tgkill",
    "kill",
    "sigaltstack",
    "wait4",
    "waitid",
    // Identity and entropy.
    "uname",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getppid",
    "getrandom",
    "sysinfo",
};

constexpr const char* kVcpuOnly[] = {
    // KVM_RUN is an ioctl (kCommon). A vCPU's exits reach the devices:
    // eventfd kicks, non-blocking channel writes and their wakeups.
    "read",
    "sendto",
    "sendmsg",
    "poll",
    "ppoll",
    "epoll_ctl",
    "tgkill",
    // glibc's malloc sizing its arenas (once per process, maybe here).
    "sched_getaffinity",
    // Writes to a pipe keep a SIGPIPE from the whole process
    // (devices/chan/fd_channel.cc SigpipeGuard).
    "rt_sigpending",
    "rt_sigtimedwait",
};

SyscallFilter Make(const char* kind, const char* const* extra, size_t n) {
  SyscallFilter filter;
  filter.kind = kind;
  filter.allowed.assign(std::begin(kCommon), std::end(kCommon));
  filter.allowed.insert(filter.allowed.end(), extra, extra + n);
  return filter;
}

}  // namespace

void WarmUpForSandbox() {
  // Cached by absl after the first call (base_internal/sysinfo.cc).
  (void)absl::base_internal::NominalCPUFrequency();
}

SyscallFilter KumlProcessFilter() {
  return Make("process", kProcessOnly, std::size(kProcessOnly));
}

SyscallFilter KumlVcpuFilter() {
  return Make("vCPU", kVcpuOnly, std::size(kVcpuOnly));
}

}  // namespace kuml
