// A system call outside a thread's filter is never made: the process ends
// with status 1 and a message naming the call and the filter. Each case runs
// in a forked child (filters cannot be taken off again).
#include "vmm/sandbox/syscall_filter.h"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace kuml {
namespace {

// What the child needs around the call it makes: output, exit, the SIGSYS
// handler's return path, and what free() may do.
const std::vector<std::string> kMinimal = {
    "write",  "exit_group", "exit",  "rt_sigreturn",   "brk",   "mmap",
    "munmap", "madvise",    "futex", "rt_sigprocmask", "getpid"};

struct ChildResult {
  int status = -1;
  std::string err;
};

// Runs `body` in a child whose stderr is captured.
template <typename Body>
ChildResult InChild(Body body) {
  int p[2];
  EXPECT_EQ(pipe(p), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 2);
    close(p[0]);
    body();
    _exit(0);
  }
  close(p[1]);
  ChildResult r;
  char buf[512];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) r.err.append(buf, n);
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

TEST(SyscallFilterTest, AForbiddenCallEndsTheProcessWithItsName) {
  ChildResult r = InChild([] {
    SyscallFilter f{"test", kMinimal};
    if (!InstallSyscallFilter(f, false).ok()) _exit(7);
    (void)getpid();              // allowed
    (void)syscall(SYS_getppid);  // not: never returns
    _exit(0);
  });
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("kuml: sandbox: system call getppid (110) is not "
                       "allowed in the test filter"),
            std::string::npos)
      << r.err;
}

TEST(SyscallFilterTest, AllowedCallsWork) {
  ChildResult r = InChild([] {
    SyscallFilter f{"test", kMinimal};
    if (!InstallSyscallFilter(f, false).ok()) _exit(7);
    if (getpid() <= 0) _exit(8);
    _exit(0);
  });
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(SyscallFilterTest, AllThreadsAreFilteredAndNameTheProcessFilter) {
  ChildResult r = InChild([] {
    std::thread other([] {
      usleep(100000);  // the filter goes on every thread meanwhile
      (void)syscall(SYS_getppid);
    });
    std::vector<std::string> allowed = kMinimal;
    // A thread's start-up (it may not have run yet) and its sleep.
    for (const char* name : {"rseq", "set_robust_list", "nanosleep",
                             "clock_nanosleep"}) {
      allowed.push_back(name);
    }
    SyscallFilter f{"process", allowed};
    if (!InstallSyscallFilter(f, true).ok()) _exit(7);
    other.join();
    _exit(0);
  });
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("getppid (110) is not allowed in the process filter"),
            std::string::npos)
      << r.err;
}

TEST(SyscallFilterTest, AnUnknownNameIsAnError) {
  ChildResult r = InChild([] {
    SyscallFilter f{"test", {"write", "no_such_call"}};
    absl::Status s = InstallSyscallFilter(f, false);
    _exit(s.ok() ? 1
          : std::string(s.message()).find("no_such_call") != std::string::npos
              ? 0
              : 2);
  });
  EXPECT_EQ(r.status, 0) << r.err;
}

}  // namespace
}  // namespace kuml
