#include "devices/chan/terminal_mode.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>  // std::once_flag
#include <utility>

#include "absl/base/attributes.h"
#include "absl/base/const_init.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "util/errno_status.h"

namespace kuml {
namespace {

// One terminal held raw. `fd` and `pid` are what the signal handler reads,
// so they are atomics; `saved` is written only while `fd` is -1 and published
// by the release-store of `fd`. `rdev` and `holds` are only touched under
// g_mu.
struct Slot {
  std::atomic<int> fd{-1};  // our dup of the terminal; -1 = slot free
  std::atomic<pid_t> pid{0};
  struct termios saved {};
  dev_t rdev = 0;
  int holds = 0;
};

// Plain static storage with constant initialisation: no destructor runs at
// exit, so the atexit hook and late signals still find the registry intact.
ABSL_CONST_INIT Slot g_slots[RawTerminal::kMaxTerminals];
ABSL_CONST_INIT absl::Mutex g_mu(absl::kConstInit);
// Signal handlers currently walking g_slots; a slot's fd is closed only when
// this is zero, so a handler never calls tcsetattr on a recycled fd number.
ABSL_CONST_INIT std::atomic<int> g_handlers_running{0};

constexpr int kFatalSignals[] = {SIGTERM, SIGINT,  SIGHUP, SIGQUIT, SIGSEGV,
                                 SIGBUS,  SIGABRT, SIGILL, SIGFPE};

// A background process writing terminal attributes gets SIGTTOU and stops;
// while restoring we would rather succeed (the kernel allows the change when
// SIGTTOU is blocked). Entering raw mode keeps normal job control.
class BlockSigttou {
 public:
  BlockSigttou() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTTOU);
    pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~BlockSigttou() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_;
};

int SetAttr(int fd, const struct termios& t) {
  int rc;
  do {
    rc = tcsetattr(fd, TCSANOW, &t);
  } while (rc != 0 && errno == EINTR);
  return rc;
}

absl::Status MakeRaw(int fd) {
  struct termios t;
  if (tcgetattr(fd, &t) != 0) return ErrnoStatus("tcgetattr");
  // cfmakeraw: no echo, no canonical mode, no ISIG/IEXTEN, no IXON or CR/NL
  // translation on input, no OPOST on output, 8 bits; reads return as soon as
  // one byte is there (VMIN 1, VTIME 0).
  cfmakeraw(&t);
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  if (SetAttr(fd, t) != 0) return ErrnoStatus("tcsetattr(raw)");
  return absl::OkStatus();
}

void FatalSignalHandler(int sig) {
  int saved_errno = errno;
  RestoreAllTerminals();
  // SA_RESETHAND already put the default action back; the re-raised signal
  // stays pending (blocked in here) and kills the process when we return.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
  raise(sig);
  errno = saved_errno;
}

void RestoreAllAtExit() { RestoreAllTerminals(); }

// Called with g_mu held: frees `slot` after restoring its terminal.
void ReleaseSlotLocked(Slot& slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(g_mu) {
  int fd = slot.fd.load(std::memory_order_relaxed);
  if (fd >= 0 && slot.pid.load(std::memory_order_relaxed) == getpid()) {
    BlockSigttou block;
    SetAttr(fd, slot.saved);
  }
  slot.fd.store(-1, std::memory_order_release);
  // A handler on another thread may have read the old fd just before the
  // store; let it finish before the number can be reused.
  while (g_handlers_running.load(std::memory_order_acquire) != 0) {
    sched_yield();
  }
  if (fd >= 0) close(fd);
  slot.holds = 0;
  slot.rdev = 0;
}

}  // namespace

void RestoreAllTerminals() {
  g_handlers_running.fetch_add(1, std::memory_order_acq_rel);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  pid_t self = getpid();
  for (Slot& slot : g_slots) {
    int fd = slot.fd.load(std::memory_order_acquire);
    if (fd < 0 || slot.pid.load(std::memory_order_relaxed) != self) continue;
    SetAttr(fd, slot.saved);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  g_handlers_running.fetch_sub(1, std::memory_order_acq_rel);
}

void InstallTerminalRestoreHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : kFatalSignals) {
      struct sigaction old {};
      if (sigaction(sig, nullptr, &old) != 0) continue;
      bool is_default =
          !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL;
      if (!is_default) continue;  // ignored, or someone else's handler
      struct sigaction sa {};
      sa.sa_handler = FatalSignalHandler;
      sigfillset(&sa.sa_mask);  // no second fatal signal mid-restore
      sa.sa_flags = SA_RESETHAND | SA_ONSTACK;
      sigaction(sig, &sa, nullptr);
    }
    std::atexit(RestoreAllAtExit);
  });
}

absl::StatusOr<RawTerminal> RawTerminal::Enter(int fd) {
  if (!isatty(fd)) {
    if (errno == EBADF) return ErrnoStatus(absl::StrCat("fd ", fd));
    return RawTerminal();  // not a terminal: nothing to do
  }
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoStatus("fstat");
  InstallTerminalRestoreHandlers();

  absl::MutexLock lock(&g_mu);
  pid_t self = getpid();
  int free_slot = -1;
  for (int i = 0; i < kMaxTerminals; ++i) {
    Slot& slot = g_slots[i];
    int held = slot.fd.load(std::memory_order_relaxed);
    if (held >= 0 && slot.pid.load(std::memory_order_relaxed) != self) {
      // Inherited across fork from the parent: not ours to restore.
      ReleaseSlotLocked(slot);
      held = -1;
    }
    if (held < 0) {
      if (free_slot < 0) free_slot = i;
      continue;
    }
    if (slot.rdev == st.st_rdev) {
      // Already raw through another fd; the saved state is the original.
      absl::Status status = MakeRaw(fd);
      if (!status.ok()) return status;
      ++slot.holds;
      return RawTerminal(i);
    }
  }
  if (free_slot < 0) {
    return absl::ResourceExhaustedError("too many raw terminals");
  }
  Slot& slot = g_slots[free_slot];
  struct termios saved;
  if (tcgetattr(fd, &saved) != 0) return ErrnoStatus("tcgetattr");
  int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (dup_fd < 0) return ErrnoStatus("dup terminal fd");
  slot.saved = saved;
  slot.rdev = st.st_rdev;
  slot.holds = 1;
  slot.pid.store(self, std::memory_order_relaxed);
  // Published before the change, so a signal arriving right after the
  // tcsetattr already finds the original state to restore.
  slot.fd.store(dup_fd, std::memory_order_release);
  absl::Status status = MakeRaw(fd);
  if (!status.ok()) {
    ReleaseSlotLocked(slot);
    return status;
  }
  return RawTerminal(free_slot);
}

RawTerminal::RawTerminal(RawTerminal&& other) noexcept
    : slot_(std::exchange(other.slot_, -1)) {}

RawTerminal& RawTerminal::operator=(RawTerminal&& other) noexcept {
  if (this != &other) {
    Restore();
    slot_ = std::exchange(other.slot_, -1);
  }
  return *this;
}

RawTerminal::~RawTerminal() { Restore(); }

void RawTerminal::Restore() {
  if (slot_ < 0) return;
  absl::MutexLock lock(&g_mu);
  Slot& slot = g_slots[slot_];
  slot_ = -1;
  if (slot.fd.load(std::memory_order_relaxed) < 0) return;
  if (--slot.holds > 0) return;
  ReleaseSlotLocked(slot);
}

}  // namespace kuml
