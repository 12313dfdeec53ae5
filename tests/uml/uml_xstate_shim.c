// LD_PRELOAD shim that lets Debian's UML 6.1 (the real `linux`) run its
// processes on hosts whose XSAVE area is larger than UML's FP buffer.
//
// UML saves and restores each of its processes' FPU state with
// PTRACE_GETREGSET / PTRACE_SETREGSET (NT_X86_XSTATE) into a fixed-size
// buffer. Since Linux 5.x the host's xstateregs_set() accepts only a whole
// XSAVE image of the host's full size (-EFAULT otherwise), and on hosts with
// AMX (Sapphire Rapids and later: 11 KB of tile state) that is larger than
// UML's buffer: the first process UML starts dies with "userspace - ptrace
// set fp regs failed, errno = 14" and init is killed (measured on this
// project's machines, host kernel 6.18). Getting a truncated image is fine,
// so only the set needs help: it is widened to the host's size, UML's bytes
// first and the rest (state UML never enabled: its XSTATE_BV bits are clear)
// as the process has it now. With a host whose XSAVE area fits, the shim
// changes nothing.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef long (*PtraceFn)(int, pid_t, void*, void*);

// Static, not on the stack: UML calls ptrace on its own small kernel stacks.
// UML's host side is single-threaded, so one buffer serves.
static char full_state[65536] __attribute__((aligned(64)));

long ptrace(enum __ptrace_request request, ...) {
  va_list ap;
  va_start(ap, request);
  pid_t pid = va_arg(ap, pid_t);
  void* addr = va_arg(ap, void*);
  void* data = va_arg(ap, void*);
  va_end(ap);
  static PtraceFn real;
  if (real == NULL) real = (PtraceFn)dlsym(RTLD_NEXT, "ptrace");
  if (request == PTRACE_SETREGSET && (long)addr == NT_X86_XSTATE) {
    struct iovec* given = data;
    struct iovec full = {full_state, sizeof full_state};
    if (real(PTRACE_GETREGSET, pid, addr, &full) == 0 &&
        full.iov_len > given->iov_len) {
      memcpy(full_state, given->iov_base, given->iov_len);
      return real(request, pid, addr, &full);
    }
  }
  return real(request, pid, addr, data);
}
