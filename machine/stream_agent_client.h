// StreamAgentClient: AgentClient over a byte stream to the guest agent
// (guest/agent/kuml_agent.c) -- in kuml the host end of the virtio-console
// port "org.kuml.agent"; in tests a socketpair to the agent run on the host.
//
// Frames (all u32 little-endian):
//   request  len(text) | seq | text
//   reply    len(status + text) | seq | status ('0' ok, '1' error) | text
// A call waits up to `timeout` for the reply with its own sequence number;
// replies to earlier calls that timed out are skipped, so one slow answer
// never shifts the answers of later calls.
#ifndef KUML_MACHINE_STREAM_AGENT_CLIENT_H_
#define KUML_MACHINE_STREAM_AGENT_CLIENT_H_

#include <cstdint>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "machine/agent_client.h"

namespace kuml {

inline constexpr size_t kMaxAgentRequest = 4096;
inline constexpr size_t kMaxAgentReply = (1 << 20) + 1;

std::string EncodeAgentRequest(uint32_t seq, absl::string_view text);

class StreamAgentClient : public AgentClient {
 public:
  // `fd` is not owned; reads and writes may block up to `timeout`.
  StreamAgentClient(int fd, absl::Duration timeout)
      : fd_(fd), timeout_(timeout) {}

  absl::StatusOr<std::string> Call(absl::string_view request) override;
  absl::StatusOr<std::string> CallWithin(absl::string_view request,
                                         absl::Duration timeout) override;

 private:
  // Reads exactly n bytes before `deadline`.
  absl::Status ReadFull(void* buf, size_t n, absl::Time deadline);
  absl::Status WriteFull(const std::string& bytes, absl::Time deadline);

  const int fd_;
  const absl::Duration timeout_;
  absl::Mutex mu_;  // one call at a time on the stream
  uint32_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace kuml

#endif  // KUML_MACHINE_STREAM_AGENT_CLIENT_H_
