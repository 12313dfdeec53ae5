// kuml guest probe: exercises guest/patches/0001-x86-pvm-syscall-from-page-fault.patch
// on any host, by making the fault that patch handles on purpose.
//
// On kvm_pvm a SYSCALL instruction leaves the process in user mode at entry_SYSCALL_64
// with RCX = return address and R11 = RFLAGS; fetching there faults, and the patched
// kernel performs the system call from the page fault. This program reproduces that
// state without kvm_pvm: it loads RCX and R11 as SYSCALL would and jumps to
// entry_SYSCALL_64 (found in /proc/kallsyms) with a two-byte `jmp *%rbx`, so that, as
// with the two-byte SYSCALL, a restarted system call (ip -= 2) jumps again. Under any
// KVM or emulator it therefore tests the patch's path: plain calls, bad numbers, flags
// sanitising, fork, execve, signal delivery with rt_sigreturn, restart of an
// interrupted read (-ERESTARTSYS, SA_RESTART), -EINTR without SA_RESTART, and
// restart_syscall after a stopped and continued nanosleep.
//
// Prints "kuml: pvmsyscall ok" and exits 0 when every check passes; otherwise prints
// "kuml: test pvmsyscall failed: <check>" and exits 1. On an unpatched kernel the first
// jump kills it with SIGSEGV. Freestanding (no libc): built by guest/build-rootfs.sh
// with -nostdlib -static. Usage: pvm-syscall-probe [<entry_SYSCALL_64 address, hex>]

typedef unsigned long u64;
typedef long s64;

enum {
  kNrRead = 0, kNrWrite = 1, kNrOpen = 2, kNrClose = 3, kNrRtSigaction = 13,
  kNrRtSigreturn = 15, kNrPipe = 22, kNrNanosleep = 35, kNrSetitimer = 38,
  kNrGetpid = 39, kNrFork = 57, kNrExecve = 59, kNrWait4 = 61, kNrKill = 62,
  kNrExitGroup = 231,
};
enum { kSigUsr1 = 10, kSigAlrm = 14, kSigCont = 18, kSigStop = 19 };
enum { kSaRestorer = 0x04000000, kSaRestart = 0x10000000 };
enum { kEnosys = 38, kEintr = 4 };

// Address of entry_SYSCALL_64; not static: fake_restorer (asm) reads it by name.
__attribute__((used)) u64 entry;

// A real system call (the SYSCALL instruction).
static s64 real_syscall(s64 nr, s64 a1, s64 a2, s64 a3, s64 a4) {
  s64 ret;
  register s64 r10 __asm__("r10") = a4;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10)
                   : "rcx", "r11", "memory");
  return ret;
}

// The state SYSCALL leaves on kvm_pvm, made by hand: RCX = return address, R11 = flags
// (the caller's choice), then a two-byte jump to entry_SYSCALL_64.
static s64 fake_syscall_flags(s64 nr, s64 a1, s64 a2, s64 a3, s64 a4, u64 r11_in) {
  s64 ret;
  register s64 r10 __asm__("r10") = a4;
  register u64 r11 __asm__("r11") = r11_in;
  __asm__ volatile(
      "lea 1f(%%rip), %%rcx\n\t"
      "jmp *%%rbx\n"  // ff e3: two bytes, like syscall (0f 05)
      "1:"
      : "=a"(ret), "+r"(r11), "+r"(r10)
      : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "b"(entry)
      : "rcx", "memory", "cc");
  return ret;
}

static u64 read_flags(void) {
  u64 f;
  __asm__ volatile("pushfq; popq %0" : "=r"(f));
  return f;
}

static s64 fake_syscall(s64 nr, s64 a1, s64 a2, s64 a3, s64 a4) {
  return fake_syscall_flags(nr, a1, a2, a3, a4, read_flags());
}

static u64 str_len(const char* s) {
  u64 n = 0;
  while (s[n]) n++;
  return n;
}

static void put(const char* s) { real_syscall(kNrWrite, 1, (s64)s, str_len(s), 0); }

static void fail(const char* what) {
  put("kuml: test pvmsyscall failed: ");
  put(what);
  put("\n");
  real_syscall(kNrExitGroup, 1, 0, 0, 0);
}

#define CHECK(cond, what) \
  do {                    \
    if (!(cond)) fail(what); \
  } while (0)

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static u64 parse_hex(const char* s) {
  u64 v = 0;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
  for (; hex_digit(*s) >= 0; s++) v = v << 4 | (u64)hex_digit(*s);
  return v;
}

// Finds "<hex> T entry_SYSCALL_64\n" in /proc/kallsyms.
static u64 find_entry(void) {
  static char buf[8192];
  static const char kName[] = " entry_SYSCALL_64\n";
  char line[256];
  u64 len = 0;
  s64 fd = real_syscall(kNrOpen, (s64) "/proc/kallsyms", 0, 0, 0);
  if (fd < 0) return 0;
  for (;;) {
    s64 n = real_syscall(kNrRead, fd, (s64)buf, sizeof(buf), 0);
    if (n <= 0) break;
    for (s64 i = 0; i < n; i++) {
      if (len < sizeof(line) - 1) line[len++] = buf[i];
      if (buf[i] != '\n') continue;
      line[len] = 0;
      u64 k = sizeof(kName) - 1;
      if (len > k + 2) {
        u64 j = 0;
        while (j < k && line[len - k + j] == kName[j]) j++;
        if (j == k) {
          real_syscall(kNrClose, fd, 0, 0, 0);
          return parse_hex(line);
        }
      }
      len = 0;
    }
  }
  real_syscall(kNrClose, fd, 0, 0, 0);
  return 0;
}

struct kernel_sigaction {
  void (*handler)(int);
  u64 flags;
  void (*restorer)(void);
  u64 mask;
};

// rt_sigreturn through the fake path: the frame is at the stack pointer, as it would
// be at a SYSCALL instruction in a normal restorer.
void fake_restorer(void);
__asm__(
    ".text\n"
    "fake_restorer:\n\t"
    "movl $15, %eax\n\t"  // rt_sigreturn
    "pushfq\n\t"
    "popq %r11\n\t"
    "movq entry(%rip), %rbx\n\t"
    "leaq 2f(%rip), %rcx\n\t"
    "jmp *%rbx\n"
    "2:\n\t"
    "ud2\n");  // rt_sigreturn does not return here

static volatile int signals;
static int pipe_fds[2];

static void on_signal(int sig) {
  (void)sig;
  signals++;
}

static void on_alarm_write(int sig) {
  (void)sig;
  signals++;
  real_syscall(kNrWrite, pipe_fds[1], (s64) "x", 1, 0);
}

static void set_handler(int sig, void (*handler)(int), u64 flags) {
  struct kernel_sigaction sa = {handler, flags | kSaRestorer, fake_restorer, 0};
  CHECK(fake_syscall(kNrRtSigaction, sig, (s64)&sa, 0, 8) == 0, "rt_sigaction");
}

struct itimerval {
  s64 interval_sec, interval_usec, value_sec, value_usec;
};

static void alarm_in_ms(s64 ms) {
  struct itimerval it = {0, 0, 0, ms * 1000};
  CHECK(fake_syscall(kNrSetitimer, 0, (s64)&it, 0, 0) == 0, "setitimer");
}

static int main_probe(int argc, char** argv) {
  entry = argc > 1 ? parse_hex(argv[1]) : find_entry();
  CHECK(entry != 0, "entry_SYSCALL_64 not found (no /proc/kallsyms?)");

  // A plain call, and one that reads back through the same path.
  static const char kHello[] = "kuml: pvmsyscall: write through the fault path\n";
  CHECK(fake_syscall(kNrWrite, 1, (s64)kHello, sizeof(kHello) - 1, 0) ==
            (s64)(sizeof(kHello) - 1),
        "write");
  CHECK(fake_syscall(kNrGetpid, 0, 0, 0, 0) == real_syscall(kNrGetpid, 0, 0, 0, 0),
        "getpid");

  // Numbers out of range, negative included.
  CHECK(fake_syscall(100000, 0, 0, 0, 0) == -kEnosys, "bad number 100000");
  CHECK(fake_syscall(-1, 0, 0, 0, 0) == -kEnosys, "bad number -1");

  // Flags: user bits from R11 come back (CF), privileged ones do not (IOPL 3).
  {
    u64 flags_in = read_flags() | 0x1 /* CF */ | 0x3000 /* IOPL 3 */;
    u64 flags_out;
    s64 ret;
    register u64 r11 __asm__("r11") = flags_in;
    register s64 r10 __asm__("r10") = 0;
    __asm__ volatile(
        "lea 1f(%%rip), %%rcx\n\t"
        "jmp *%%rbx\n"
        "1:\n\t"
        "pushfq\n\t"
        "popq %%rdx\n\t"
        : "=a"(ret), "=d"(flags_out), "+r"(r11), "+r"(r10)
        : "a"((s64)kNrGetpid), "b"(entry)
        : "rcx", "rdi", "rsi", "memory", "cc");
    CHECK(ret > 0, "getpid with chosen flags");
    CHECK(flags_out & 0x1, "CF from R11 not restored");
    CHECK((flags_out & 0x3000) == 0, "IOPL from R11 let through");
    CHECK(flags_out & 0x200, "IF off after return");
  }

  // fork: the child returns through ret_from_fork with a copy of the fault frame.
  {
    s64 pid = fake_syscall(kNrFork, 0, 0, 0, 0);
    CHECK(pid >= 0, "fork");
    if (pid == 0) fake_syscall(kNrExitGroup, 42, 0, 0, 0);
    int status = 0;
    CHECK(fake_syscall(kNrWait4, pid, (s64)&status, 0, 0) == pid, "wait4");
    CHECK(status == 42 << 8, "child exit status");
  }

  // execve in a child.
  {
    s64 pid = fake_syscall(kNrFork, 0, 0, 0, 0);
    CHECK(pid >= 0, "fork for execve");
    if (pid == 0) {
      static const char* const args[] = {"true", 0};
      static const char* const env[] = {0};
      fake_syscall(kNrExecve, (s64) "/bin/busybox", (s64)args, (s64)env, 0);
      fake_syscall(kNrExitGroup, 99, 0, 0, 0);
    }
    int status = -1;
    CHECK(fake_syscall(kNrWait4, pid, (s64)&status, 0, 0) == pid, "wait4 after execve");
    CHECK(status == 0, "execve'd child status");
  }

  // A signal delivered on the way out of the call, rt_sigreturn through the fault path.
  set_handler(kSigUsr1, on_signal, 0);
  signals = 0;
  s64 pid = real_syscall(kNrGetpid, 0, 0, 0, 0);
  CHECK(fake_syscall(kNrKill, pid, kSigUsr1, 0, 0) == 0, "kill");
  CHECK(signals == 1, "signal handler did not run");

  // -ERESTARTSYS: a read blocked on an empty pipe, interrupted by SIGALRM (SA_RESTART);
  // the handler writes a byte, the restarted read gets it.
  CHECK(fake_syscall(kNrPipe, (s64)pipe_fds, 0, 0, 0) == 0, "pipe");
  set_handler(kSigAlrm, on_alarm_write, kSaRestart);
  signals = 0;
  alarm_in_ms(100);
  char c = 0;
  CHECK(fake_syscall(kNrRead, pipe_fds[0], (s64)&c, 1, 0) == 1, "restarted read");
  CHECK(c == 'x' && signals == 1, "restarted read data");

  // restart_syscall: a nanosleep stopped (SIGSTOP) and continued (SIGCONT) by a child
  // -- no handler runs -- returns -ERESTART_RESTARTBLOCK inside the kernel; the exit
  // path sets RAX = __NR_restart_syscall and ip -= 2, so the jump is made again and
  // restart_syscall sleeps for the rest.
  {
    s64 child = fake_syscall(kNrFork, 0, 0, 0, 0);
    CHECK(child >= 0, "fork for stop/continue");
    if (child == 0) {
      s64 wait[2] = {0, 50 * 1000 * 1000};
      fake_syscall(kNrNanosleep, (s64)wait, 0, 0, 0);
      fake_syscall(kNrKill, pid, kSigStop, 0, 0);
      fake_syscall(kNrNanosleep, (s64)wait, 0, 0, 0);
      fake_syscall(kNrKill, pid, kSigCont, 0, 0);
      fake_syscall(kNrExitGroup, 0, 0, 0, 0);
    }
    s64 ts[2] = {0, 300 * 1000 * 1000};
    CHECK(fake_syscall(kNrNanosleep, (s64)ts, 0, 0, 0) == 0, "restarted nanosleep");
    int status = -1;
    CHECK(fake_syscall(kNrWait4, child, (s64)&status, 0, 0) == child, "wait4 stopper");
    CHECK(status == 0, "stopper child status");
  }

  // Without SA_RESTART the interrupted read returns -EINTR.
  set_handler(kSigAlrm, on_signal, 0);
  signals = 0;
  alarm_in_ms(50);
  CHECK(fake_syscall(kNrRead, pipe_fds[0], (s64)&c, 1, 0) == -kEintr, "read -EINTR");

  put("kuml: pvmsyscall ok\n");
  return 0;
}

// Entry: argc at (%rsp), argv after it; keep the stack 16-byte aligned for calls.
__asm__(
    ".text\n"
    ".globl _start\n"
    "_start:\n\t"
    "xorl %ebp, %ebp\n\t"
    "movq (%rsp), %rdi\n\t"
    "leaq 8(%rsp), %rsi\n\t"
    "andq $-16, %rsp\n\t"
    "call start_c\n\t"
    "ud2\n");

__attribute__((used)) void start_c(long argc, char** argv) {
  int status = main_probe((int)argc, argv);
  real_syscall(kNrExitGroup, status, 0, 0, 0);
}
