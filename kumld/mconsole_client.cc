#include "kumld/mconsole_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "util/errno_status.h"
#include "util/unique_fd.h"

namespace kuml::kumld {
namespace {

constexpr uint32_t kMagic = 0xcafebabe;
constexpr uint32_t kVersion = 2;
constexpr size_t kMaxData = 512;
constexpr size_t kHeader = 12;

void PutU32(std::string& out, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>(v >> (8 * i));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace

absl::StatusOr<std::string> EncodeMconsoleRequest(absl::string_view command) {
  if (command.size() >= kMaxData) {
    return absl::InvalidArgumentError(
        absl::StrCat("mconsole command is ", command.size(),
                     " characters; at most ", kMaxData - 1, " fit"));
  }
  std::string out(kHeader + kMaxData, '\0');
  PutU32(out, 0, kMagic);
  PutU32(out, 4, kVersion);
  PutU32(out, 8, command.size());
  std::memcpy(&out[kHeader], command.data(), command.size());
  return out;
}

absl::StatusOr<MconsoleAnswer> SendMconsoleCommand(
    const std::string& socket_path, absl::string_view command,
    absl::Duration timeout) {
  absl::StatusOr<std::string> request = EncodeMconsoleRequest(command);
  if (!request.ok()) return request.status();
  sockaddr_un to{};
  to.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(to.sun_path)) {
    return absl::InvalidArgumentError("mconsole socket path too long: " +
                                      socket_path);
  }
  std::memcpy(to.sun_path, socket_path.data(), socket_path.size());
  UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoStatus("socket");
  // The guest replies to our address: autobind an abstract one (as
  // uml_mconsole binds "\0<pid>"), unique per socket.
  sockaddr_un self{};
  self.sun_family = AF_UNIX;
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&self), sizeof(sa_family_t)) !=
      0) {
    return ErrnoStatus("bind (autobind) for mconsole replies");
  }
  // Connected: the kernel then hands this socket only what the guest's
  // socket sends. Our abstract address is reachable by any local process,
  // which could otherwise answer in the guest's place.
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0 ||
      send(fd.get(), request->data(), request->size(), 0) < 0) {
    return ErrnoStatus(absl::StrCat("mconsole ", socket_path));
  }
  MconsoleAnswer answer;
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int ms =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    pollfd p{fd.get(), POLLIN, 0};
    int ready = ms > 0 ? poll(&p, 1, ms) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("mconsole ", socket_path, ": no (complete) reply to '",
                       command, "' within ", absl::FormatDuration(timeout)));
    }
    char buf[kHeader + kMaxData];
    ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    if (n < 0) return ErrnoStatus("mconsole recv");
    if (static_cast<size_t>(n) < kHeader) {
      // A version-0 style raw text (no header): the whole answer.
      answer.err = 1;
      answer.text.append(buf, n);
      return answer;
    }
    uint32_t len = GetU32(buf + 8);
    if (len > static_cast<size_t>(n) - kHeader) {
      return absl::DataLossError("mconsole reply shorter than its len");
    }
    answer.err = static_cast<int32_t>(GetU32(buf));
    // len counts the NUL; keep the text up to it.
    answer.text.append(buf + kHeader, strnlen(buf + kHeader, len));
    if (GetU32(buf + 4) == 0) return answer;
  }
}

}  // namespace kuml::kumld
