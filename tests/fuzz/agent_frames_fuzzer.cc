// libFuzzer target: the guest agent's reply framing as StreamAgentClient
// (machine/stream_agent_client.cc) reads it. The input is what a hostile
// guest agent sends: it is written into one end of a socketpair whose
// sending side is then shut down, and the client makes its calls on the
// other end. Every call must come back -- with a text or an error -- well
// within its time limit: no crash, no hang, no read past what was sent.
//
// Input: u8 calls (1..4 calls on one client, so sequence numbers advance
// and late replies are skipped), then the agent's bytes (at most what a
// socket buffer holds without a reader; -max_len 16384 in the scripts).
// Checks beyond ASan/UBSan: every call's result (text, or error code and
// message) is what an independent model of the framing (Model below) makes
// of the same bytes.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "machine/stream_agent_client.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

// What the client must make of the agent's bytes (stream_agent_client.h),
// written independently: frames len | seq | status | text, replies with
// another sequence number skipped, a bad length an error that has consumed
// the frame header, the end of the stream "the agent went away".
struct Model {
  std::string bytes;
  size_t pos = 0;
  uint32_t next_seq = 1;

  uint32_t U32(size_t at) const {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = v << 8 | uint8_t(bytes[at + i]);
    return v;
  }
  absl::StatusOr<std::string> Call(const std::string& request) {
    if (request.size() > kuml::kMaxAgentRequest) {
      return absl::InvalidArgumentError("Request too large for the kuml agent");
    }
    const uint32_t seq = next_seq++;
    for (;;) {
      if (bytes.size() - pos < 9) {
        pos = bytes.size();
        return absl::UnavailableError("the kuml agent went away");
      }
      const uint32_t len = U32(pos), got = U32(pos + 4);
      const char status = bytes[pos + 8];
      pos += 9;
      if (len < 1 || len > kuml::kMaxAgentReply) {
        return absl::DataLossError(
            absl::StrCat("the kuml agent sent a reply of ", len, " bytes"));
      }
      if (bytes.size() - pos < len - 1) {
        pos = bytes.size();
        return absl::UnavailableError("the kuml agent went away");
      }
      std::string text = bytes.substr(pos, len - 1);
      pos += len - 1;
      if (got != seq) continue;
      if (status == '0') return text;
      if (text == "Failed to open file" || text == "Couldn't find that pid") {
        return absl::NotFoundError(text);
      }
      return absl::FailedPreconditionError(text);
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuml;        // NOLINT
  using namespace kuml::fuzz;  // NOLINT
  if (size > 60000) return 0;  // more than the socket would take unread
  FuzzInput in(data, size);
  const int calls = 1 + in.U8() % 4;
  const std::string agent = in.Rest();

  int sv[2];
  Check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  // Room for the agent's bytes and our requests without a reader.
  int buf = 1 << 20;
  ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  ::setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  Check(::send(sv[1], agent.data(), agent.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(agent.size()));
  ::shutdown(sv[1], SHUT_WR);  // the agent says nothing more

  StreamAgentClient client(sv[0], absl::Seconds(5));
  Model model{agent};
  for (int i = 0; i < calls; ++i) {
    const std::string request =
        i % 2 ? "proc uptime" : std::string(i * 2100, 'x');
    // Everything is already in the socket, so an answer never has to wait:
    // a call that runs into its time limit (DeadlineExceeded) disagrees with
    // the model, and one that blocks for good trips libFuzzer's -timeout.
    absl::StatusOr<std::string> r =
        i % 2 ? client.Call(request)
              : client.CallWithin(request, absl::Seconds(3));
    absl::StatusOr<std::string> want = model.Call(request);
    if (Debug()) {
      std::fprintf(
          stderr, "call %d: %s\n", i,
          r.ok() ? ("'" + *r + "'").c_str() : r.status().ToString().c_str());
    }
    Check(r.status().code() == want.status().code());
    if (r.ok()) {
      Check(*r == *want);
    } else if (want.status().code() != absl::StatusCode::kUnavailable) {
      Check(r.status().message() == want.status().message());
    }
  }
  ::close(sv[0]);
  ::close(sv[1]);
  return 0;
}
