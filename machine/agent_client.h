// AgentClient: kuml's side of the guest agent (guest/agent), which performs
// the mconsole commands that need the guest's cooperation: log, proc, stack,
// cad and the bind/unbind steps of hot-plug. See agent_protocol.h for the
// byte protocol.
#ifndef KUML_MACHINE_AGENT_CLIENT_H_
#define KUML_MACHINE_AGENT_CLIENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kuml {

class AgentClient {
 public:
  virtual ~AgentClient() = default;
  // Sends one request ("proc uptime") and returns the agent's answer. The
  // agent's own failures come back as errors whose message is its text.
  // Unavailable when no agent answers (none in the guest, or not started).
  virtual absl::StatusOr<std::string> Call(absl::string_view request) = 0;
  // The same with its own time limit (hot-plug's bind waits for the guest
  // kernel to probe a disk); by default the client's usual one.
  virtual absl::StatusOr<std::string> CallWithin(absl::string_view request,
                                                 absl::Duration timeout) {
    return Call(request);
  }
};

}  // namespace kuml

#endif  // KUML_MACHINE_AGENT_CLIENT_H_
