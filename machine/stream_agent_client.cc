#include "machine/stream_agent_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "util/errno_status.h"

namespace kuml {
namespace {

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

uint32_t GetU32(const unsigned char* p) {
  return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24;
}

absl::Status WaitFor(int fd, short events, absl::Time deadline) {
  for (;;) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          "the kuml agent did not answer in time");
    }
    pollfd p{fd, events, 0};
    int n =
        ::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("poll on the agent channel");
    if (n > 0) return absl::OkStatus();
  }
}

}  // namespace

std::string EncodeAgentRequest(uint32_t seq, absl::string_view text) {
  std::string frame;
  PutU32(frame, static_cast<uint32_t>(text.size()));
  PutU32(frame, seq);
  frame.append(text.data(), text.size());
  return frame;
}

absl::Status StreamAgentClient::ReadFull(void* buf, size_t n,
                                         absl::Time deadline) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    absl::Status s = WaitFor(fd_, POLLIN, deadline);
    if (!s.ok()) return s;
    ssize_t got = ::read(fd_, p, n);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got < 0) return ErrnoStatus("reading from the kuml agent");
    if (got == 0) return absl::UnavailableError("the kuml agent went away");
    p += got;
    n -= static_cast<size_t>(got);
  }
  return absl::OkStatus();
}

absl::Status StreamAgentClient::WriteFull(const std::string& bytes,
                                          absl::Time deadline) {
  size_t done = 0;
  while (done < bytes.size()) {
    absl::Status s = WaitFor(fd_, POLLOUT, deadline);
    if (!s.ok()) return s;
    // send() with MSG_NOSIGNAL where the stream is a socket: a vanished
    // agent must be an error here, not a SIGPIPE for the whole VMM.
    ssize_t put =
        ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (put < 0 && errno == ENOTSOCK) {
      put = ::write(fd_, bytes.data() + done, bytes.size() - done);
    }
    if (put < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (put < 0) return ErrnoStatus("writing to the kuml agent");
    done += static_cast<size_t>(put);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> StreamAgentClient::Call(absl::string_view request) {
  return CallWithin(request, timeout_);
}

absl::StatusOr<std::string> StreamAgentClient::CallWithin(
    absl::string_view request, absl::Duration timeout) {
  if (request.size() > kMaxAgentRequest) {
    return absl::InvalidArgumentError("Request too large for the kuml agent");
  }
  absl::MutexLock lock(&mu_);
  const uint32_t seq = next_seq_++;
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status s = WriteFull(EncodeAgentRequest(seq, request), deadline);
  if (!s.ok()) return s;
  for (;;) {
    unsigned char head[9];
    s = ReadFull(head, sizeof(head), deadline);
    if (!s.ok()) return s;
    uint32_t len = GetU32(head);
    uint32_t got_seq = GetU32(head + 4);
    if (len < 1 || len > kMaxAgentReply) {
      return absl::DataLossError(
          absl::StrCat("the kuml agent sent a reply of ", len, " bytes"));
    }
    std::string text(len - 1, '\0');
    s = ReadFull(text.data(), text.size(), deadline);
    if (!s.ok()) return s;
    if (got_seq != seq) continue;  // a late answer to a call that gave up
    if (head[8] == '0') return text;
    // The agent's texts are UML's ("Failed to open file", ...).
    if (text == "Failed to open file" || text == "Couldn't find that pid") {
      return absl::NotFoundError(text);
    }
    return absl::FailedPreconditionError(text);
  }
}

}  // namespace kuml
