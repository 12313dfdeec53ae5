// AgentLink: kuml's end of the guest agent (guest/agent/kuml_agent.c): the
// virtio-console port "org.kuml.agent" that kuml always gives the guest,
// and the mconsole AgentClient over it.
//
// The link is made anew for every boot: the port's handler (made when the
// boot's Machine is built) is one end of a fresh socketpair, a
// StreamAgentClient the other. So nothing of one boot's conversation (a
// request the agent never read, a late answer, half a frame) reaches the
// next boot's agent, and a call in progress when the machine goes away ends
// at once ("the kuml agent went away") instead of waiting for its time
// limit.
//
// A guest without an agent: the guest opens the port only when a program
// (the agent) opens /dev/vport<D>p<P>; until then a call fails at once with
// "The guest has no kuml agent ..." rather than waiting, and requests are
// never left queued for an agent that may start later (a stale `cad` would
// otherwise restart the guest then). An agent that has the port open but
// does not answer costs `timeout` per call.
#ifndef KUML_MACHINE_AGENT_LINK_H_
#define KUML_MACHINE_AGENT_LINK_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "devices/virtio/console_device.h"
#include "machine/agent_client.h"
#include "vmm/event_loop.h"

namespace kuml {

inline constexpr char kAgentPortName[] = "org.kuml.agent";

class AgentLink : public AgentClient {
 public:
  explicit AgentLink(absl::Duration timeout) : timeout_(timeout) {}

  // The host side of the agent's port for a new boot; `loop` is that
  // machine's event loop. Replaces the previous boot's link.
  absl::StatusOr<std::shared_ptr<ConsolePortHandler>> NewBoot(EventLoop* loop);

  absl::StatusOr<std::string> Call(absl::string_view request) override;
  absl::StatusOr<std::string> CallWithin(absl::string_view request,
                                         absl::Duration timeout) override;

 private:
  struct Boot;
  const absl::Duration timeout_;
  absl::Mutex mu_;
  std::shared_ptr<Boot> boot_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kuml

#endif  // KUML_MACHINE_AGENT_LINK_H_
