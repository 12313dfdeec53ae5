#include "devices/net/testing/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "util/errno_status.h"

namespace kuml {

absl::StatusOr<std::string> HostSh(const std::string& command) {
  // Bazel's strict PATH lacks the sbin directories (ip, sysctl).
  const std::string full =
      absl::StrCat("(PATH=/usr/sbin:/sbin:/usr/bin:/bin; ", command, ") 2>&1");
  FILE* p = ::popen(full.c_str(), "r");
  if (p == nullptr) return ErrnoStatus("popen");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  if (status != 0) {
    return absl::InternalError(
        absl::StrCat("`", command, "` failed (status ", status, "): ", out));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<TestNetns>> TestNetns::Create() {
  absl::Status status;
  UniqueFd fd;
  // unshare() moves only the calling thread; a throwaway thread keeps the
  // test's own threads where they are.
  std::thread([&] {
    if (::unshare(CLONE_NEWNET) < 0) {
      status = ErrnoStatus("unshare(CLONE_NEWNET) (tests need root)");
      return;
    }
    fd.Reset(::open("/proc/thread-self/ns/net", O_RDONLY));
    if (!fd.valid()) status = ErrnoStatus("open /proc/thread-self/ns/net");
  }).join();
  if (!status.ok()) return status;
  std::unique_ptr<TestNetns> ns(new TestNetns(std::move(fd)));
  absl::StatusOr<std::string> up = ns->Sh(
      "ip link set lo up && ip link set lo multicast on && "
      "ip route add 224.0.0.0/4 dev lo");
  if (!up.ok()) return up.status();
  return ns;
}

std::string TestNetns::Enter() const {
  return absl::StrCat("nsenter --net=/proc/", ::getpid(), "/fd/", fd_.get(),
                      " ");
}

absl::StatusOr<std::string> TestNetns::Sh(const std::string& command) const {
  std::string quoted;
  for (char c : command) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return HostSh(absl::StrCat(Enter(), "sh -c '", quoted, "'"));
}

void TestNetns::Run(const std::function<void()>& fn) const {
  std::thread([&] {
    if (::setns(fd_.get(), CLONE_NEWNET) < 0) {
      std::perror("setns");
      std::abort();
    }
    fn();
  }).join();
}

}  // namespace kuml
