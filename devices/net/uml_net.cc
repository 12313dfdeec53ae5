#include "devices/net/uml_net.h"

#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "devices/net/tap_transport.h"
#include "util/errno_status.h"

extern char** environ;

namespace kuml {
namespace {

constexpr size_t kHelperReplyBytes = 4096;  // name + output, as UML's buffer
constexpr char kGroupHint[] =
    " (uml_net comes with uml-utilities; it is setuid root and runs for "
    "root and the members of group uml-net)";

std::string VersionArg() { return absl::StrCat(kUmlNetVersion); }

// The requests the address helper reads: one packet each, the words of
// `uml_net 4 <op> <tap> <addr> <netmask>` after the version.
constexpr size_t kRequestBytes = 128;

// Runs `uml_net 4 <request words>` and waits for it; its output goes to
// stderr. Async-signal-safe (see AddressHelperMain); `request` is split in
// place. `candidates`: uml_net in each $PATH directory, made before the
// fork (execvp's search, by hand: execvp may allocate).
void RunRequest(char* request, const std::vector<std::string>& candidates) {
  char version[] = "4";
  char name[] = "uml_net";
  char* argv[8] = {name, version};
  int argc = 2;
  for (char* p = request; *p != '\0' && argc < 7;) {
    argv[argc++] = p;
    while (*p != '\0' && *p != ' ') ++p;
    if (*p == ' ') *p++ = '\0';
  }
  argv[argc] = nullptr;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(2, 1);  // its "* route add ..." lines go to kuml's stderr
    for (const std::string& path : candidates) {
      ::execve(path.c_str(), argv, environ);
    }
    ::_exit(127);
  }
  if (pid > 0) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

// The address helper's life, in a child forked from a multi-threaded
// process: only async-signal-safe calls (recv, fork, execve, waitpid) on
// stack buffers until it exits. Requests are "add <tap> <addr> <netmask>";
// when kuml's end closes, every address added is deleted again.
[[noreturn]] void AddressHelperMain(
    int socket, const std::vector<std::string>& candidates) {
  constexpr int kKept = 64;
  char added[kKept][kRequestBytes + 1];
  int count = 0;
  char request[kRequestBytes + 1];
  for (;;) {
    const ssize_t n = ::recv(socket, request, kRequestBytes, 0);
    if (n <= 0) break;  // kuml is gone, or closed us
    request[n] = '\0';
    if (count < kKept && std::strncmp(request, "add ", 4) == 0) {
      std::memcpy(added[count++], request, static_cast<size_t>(n) + 1);
    }
    RunRequest(request, candidates);
  }
  for (int i = 0; i < count; ++i) {
    std::memcpy(added[i], "del", 3);  // "add tap0 ..." -> "del tap0 ..."
    RunRequest(added[i], candidates);
  }
  ::_exit(0);
}

}  // namespace

std::vector<std::string> UmlNetCandidates() {
  std::vector<std::string> candidates;
  const char* path = std::getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    candidates.push_back(absl::StrCat(dir.empty() ? "." : dir, "/uml_net"));
  }
  return candidates;
}

absl::StatusOr<UmlNetTap> UmlNetTuntapUp(const Ipv4Address& gate) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) < 0) {
    return ErrnoStatus("uml_net: socketpair");
  }
  UniqueFd me(pair[0]), remote(pair[1]);
  // As UML's tuntap_pre_exec: the helper's stdout is its end of the pair.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, remote.get(), 1);
  const std::string version = VersionArg();
  const std::string gate_text = gate.ToString();
  std::vector<char*> argv = {
      const_cast<char*>("uml_net"),         const_cast<char*>(version.c_str()),
      const_cast<char*>("tuntap"),          const_cast<char*>("up"),
      const_cast<char*>(gate_text.c_str()), nullptr};
  pid_t pid;
  const int err =
      posix_spawnp(&pid, "uml_net", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) {
    return ErrnoStatus(absl::StrCat("running uml_net", kGroupHint), err);
  }
  remote.Reset();  // only the helper holds it now: EOF if it dies silently

  std::vector<char> reply(kHelperReplyBytes);
  iovec iov{reply.data(), reply.size() - 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(me.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  const int recv_err = errno;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  UmlNetTap tap;
  cmsghdr* cmsg = n >= 0 ? CMSG_FIRSTHDR(&msg) : nullptr;
  if (cmsg != nullptr && cmsg->cmsg_level == SOL_SOCKET &&
      cmsg->cmsg_type == SCM_RIGHTS &&
      cmsg->cmsg_len == CMSG_LEN(sizeof(int))) {
    int fd;
    std::memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
    tap.fd = UniqueFd(fd);
  }
  // The name fills the first IFNAMSIZ bytes; the output follows.
  const size_t got = n > 0 ? static_cast<size_t>(n) : 0;
  reply[got] = '\0';
  if (got >= IFNAMSIZ) {
    tap.name.assign(reply.data(), strnlen(reply.data(), IFNAMSIZ));
  }
  const std::string text(reply.data() + (got >= IFNAMSIZ ? IFNAMSIZ : 0),
                         got >= IFNAMSIZ ? got - IFNAMSIZ : got);
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!line.empty() && line != std::string(1, '\0')) {
      tap.output.emplace_back(line);
    }
  }
  if (n < 0) return ErrnoStatus("uml_net: reading its reply", recv_err);
  if (!tap.fd.valid() || tap.name.empty()) {
    std::string said;
    for (const std::string& line : tap.output)
      absl::StrAppend(&said, line, "; ");
    const bool no_exec = WIFEXITED(status) && WEXITSTATUS(status) == 127;
    return absl::PermissionDeniedError(absl::StrCat(
        "uml_net ", version, " tuntap up ", gate_text, " gave no tap device",
        said.empty() ? "" : absl::StrCat(" (it said: ", said, ")"),
        no_exec ? absl::StrCat(" (not run", kGroupHint, ")") : ""));
  }
  // kuml's transports poll: the helper's descriptor is blocking.
  const int flags = ::fcntl(tap.fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(tap.fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
    return ErrnoStatus(absl::StrCat("tap ", tap.name, ": O_NONBLOCK"));
  }
  return tap;
}

absl::StatusOr<std::unique_ptr<UmlNetAddresses>> UmlNetAddresses::Start(
    const std::string& tap) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
    return ErrnoStatus("uml_net address helper: socketpair");
  }
  UniqueFd mine(pair[0]), theirs(pair[1]);
  const std::vector<std::string> candidates = UmlNetCandidates();
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus("uml_net address helper: fork");
  if (pid == 0) {
    // Only our end survives: every other descriptor of kuml's (disks,
    // sockets) stays out of uml_net's reach.
    const int keep = theirs.get();
    for (int fd = 3; fd < 1024; ++fd) {
      if (fd != keep) ::close(fd);
    }
    AddressHelperMain(keep, candidates);
  }
  return std::unique_ptr<UmlNetAddresses>(
      new UmlNetAddresses(tap, std::move(mine), pid));
}

UmlNetAddresses::~UmlNetAddresses() {
  socket_.Reset();  // the helper deletes what it added, then exits
  int status;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

void UmlNetAddresses::Saw(const Ipv4Address& address) {
  const uint8_t first = address.octets[0];
  if (address == Ipv4Address{} || first >= 224 ||
      address == Ipv4Address{{255, 255, 255, 255}}) {
    return;
  }
  uint32_t key;
  std::memcpy(&key, address.octets.data(), sizeof key);
  absl::MutexLock lock(&mu_);
  if (!seen_.insert(key).second) return;
  added_.push_back(address);
  const std::string request =
      absl::StrCat("add ", tap_, " ", address.ToString(), " ",
                   ClassfulNetmask(address).ToString());
  // Non-blocking, best effort: a helper that is gone or full loses it, as
  // UML's failed helper call only prints.
  (void)::send(socket_.get(), request.data(), request.size(),
               MSG_DONTWAIT | MSG_NOSIGNAL);
}

std::vector<Ipv4Address> UmlNetAddresses::added() const {
  absl::MutexLock lock(&mu_);
  return added_;
}

std::optional<Ipv4Address> ArpSenderAddress(const uint8_t* frame, size_t len) {
  // Ethernet (14) + ARP for IPv4 over Ethernet (28).
  if (len < 42) return std::nullopt;
  if (frame[12] != 0x08 || frame[13] != 0x06) return std::nullopt;  // ARP
  const uint8_t* arp = frame + 14;
  if (arp[0] != 0 || arp[1] != 1 || arp[2] != 0x08 || arp[3] != 0 ||
      arp[4] != 6 || arp[5] != 4) {
    return std::nullopt;  // not Ethernet/IPv4
  }
  Ipv4Address sender;
  std::memcpy(sender.octets.data(), arp + 14, 4);
  return sender;
}

}  // namespace kuml
