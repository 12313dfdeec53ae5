#include "vmm/sandbox/syscall_filter.h"

#include <seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace kuml {
namespace {

std::atomic<void (*)()> g_fatal_hook{nullptr};

// The filter kind the calling thread added last (static TLS: readable in
// the signal handler); threads that only have the process-wide filter,
// installed from another thread, leave it null.
thread_local const char* t_filter_kind = nullptr;

// System call names by number, resolved before any filter goes on:
// libseccomp's resolver allocates, which the SIGSYS handler must not do.
constexpr int kNamedSyscalls = 512;
const char* g_names[kNamedSyscalls];

void ResolveNamesOnce() {
  static const bool done = [] {
    for (int nr = 0; nr < kNamedSyscalls; ++nr) {
      // Kept for the process's life (the handler may need any of them).
      g_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    }
    return true;
  }();
  (void)done;
}

// Async-signal-safe output helpers.
void Put(const char* s) { (void)!write(2, s, std::strlen(s)); }
void PutNumber(long n) {
  char buf[24];
  int i = sizeof buf;
  bool negative = n < 0;
  unsigned long u = negative ? -static_cast<unsigned long>(n) : n;
  do {
    buf[--i] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0 && i > 1);
  if (negative) buf[--i] = '-';
  (void)!write(2, buf + i, sizeof buf - i);
}

void OnSigsys(int, siginfo_t* info, void* context) {
  const int nr = info->si_syscall;
  const char* name = nr >= 0 && nr < kNamedSyscalls ? g_names[nr] : nullptr;
  Put("\r\nkuml: sandbox: system call ");
  Put(name != nullptr ? name : "?");
  Put(" (");
  PutNumber(nr);
  Put(")");
  // openat's path says more than its number (the arguments are in the
  // registers the call left behind).
  const auto* uc = static_cast<const ucontext_t*>(context);
  if (nr == __NR_openat && uc != nullptr) {
    const char* path =
        reinterpret_cast<const char*>(uc->uc_mcontext.gregs[REG_RSI]);
    if (path != nullptr) {
      Put(" on \"");
      Put(path);
      Put("\"");
    }
  }
  Put(" is not allowed in the ");
  Put(t_filter_kind != nullptr ? t_filter_kind : "process");
  Put(" filter; kuml stops here. Run with sandbox=off to debug, and report "
      "this.\r\n");
  if (void (*hook)() = g_fatal_hook.load()) hook();
  _exit(1);
}

absl::Status InstallSigsysHandler() {
  struct sigaction action = {};
  action.sa_sigaction = OnSigsys;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGSYS, &action, nullptr) != 0) {
    return absl::InternalError(
        absl::StrCat("sigaction(SIGSYS): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

void SetSandboxFatalHook(void (*hook)()) { g_fatal_hook.store(hook); }

absl::Status InstallSyscallFilter(const SyscallFilter& filter,
                                  bool all_threads) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return absl::InternalError(
        absl::StrCat("prctl(PR_SET_NO_NEW_PRIVS): ", std::strerror(errno)));
  }
  ResolveNamesOnce();
  if (absl::Status s = InstallSigsysHandler(); !s.ok()) return s;
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
  if (ctx == nullptr) return absl::InternalError("seccomp_init failed");
  auto fail = [&ctx](absl::Status s) {
    seccomp_release(ctx);
    return s;
  };
  for (const std::string& name : filter.allowed) {
    const int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) {
      return fail(absl::InvalidArgumentError(
          absl::StrCat("the ", filter.kind, " filter names '", name,
                       "', which is no system call here")));
    }
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0); rc != 0) {
      return fail(absl::InternalError(
          absl::StrCat("seccomp_rule_add(", name, "): ", std::strerror(-rc))));
    }
  }
  if (all_threads) {
    if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1); rc != 0) {
      return fail(absl::InternalError(
          absl::StrCat("seccomp TSYNC: ", std::strerror(-rc))));
    }
  }
  if (int rc = seccomp_load(ctx); rc != 0) {
    return fail(absl::InternalError(absl::StrCat(
        "loading the ", filter.kind, " seccomp filter: ", std::strerror(-rc))));
  }
  seccomp_release(ctx);
  if (!all_threads) {
    // Kept for the handler; filters live as long as their thread.
    static std::atomic<int> kinds{0};
    static char names[8][32];
    const int i = kinds.fetch_add(1) % 8;
    std::strncpy(names[i], filter.kind.c_str(), sizeof names[i] - 1);
    t_filter_kind = names[i];
  }
  return absl::OkStatus();
}

}  // namespace kuml
