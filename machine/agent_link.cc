#include "machine/agent_link.h"

#include <sys/socket.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "devices/chan/fd_channel.h"
#include "devices/virtio/console_channel_port.h"
#include "machine/stream_agent_client.h"
#include "util/errno_status.h"
#include "util/unique_fd.h"

namespace kuml {

// One boot's link: the host end of the socketpair and whether the guest
// has the port open.
struct AgentLink::Boot {
  UniqueFd host;
  std::unique_ptr<StreamAgentClient> client;
  std::atomic<bool> guest_open{false};
};

namespace {

// The port's host side: the guest's end of the socketpair as a channel
// (ConsoleChannelPort moves the bytes on the machine's event loop), plus
// the guest's open/close of the port.
class AgentPortHandler : public ConsolePortHandler {
 public:
  AgentPortHandler(EventLoop* loop, std::unique_ptr<Channel> channel,
                   std::shared_ptr<std::atomic<bool>> open)
      : channel_(std::move(channel)),
        port_(loop, channel_.get()),
        open_(std::move(open)) {}

  void Bind(VirtioConsole* console, uint32_t port) override {
    port_.Bind(console, port);
  }
  size_t OnGuestOutput(absl::Span<const uint8_t> data) override {
    return port_.OnGuestOutput(data);
  }
  void OnGuestOpen(bool open) override { open_->store(open); }

 private:
  std::unique_ptr<Channel> channel_;  // before port_: it outlives it
  ConsoleChannelPort port_;
  std::shared_ptr<std::atomic<bool>> open_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<ConsolePortHandler>> AgentLink::NewBoot(
    EventLoop* loop) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return ErrnoStatus("socketpair for the kuml agent's port");
  }
  auto boot = std::make_shared<Boot>();
  boot->host = UniqueFd(fds[0]);
  FdChannel::Options options;
  options.in_fd = fds[1];
  options.out_fd = fds[1];
  options.ownership = FdChannel::Ownership::kOwned;
  options.raw = false;
  absl::StatusOr<std::unique_ptr<FdChannel>> channel =
      FdChannel::Create(options);  // closes fds[1] on failure
  if (!channel.ok()) return channel.status();
  boot->client =
      std::make_unique<StreamAgentClient>(boot->host.get(), timeout_);
  // The handler reports into the boot's flag; shared so that either may
  // go first.
  std::shared_ptr<std::atomic<bool>> open(boot, &boot->guest_open);
  auto handler = std::make_shared<AgentPortHandler>(
      loop, std::unique_ptr<Channel>(std::move(*channel)), std::move(open));
  absl::MutexLock lock(&mu_);
  boot_ = std::move(boot);
  return std::shared_ptr<ConsolePortHandler>(std::move(handler));
}

absl::StatusOr<std::string> AgentLink::Call(absl::string_view request) {
  return CallWithin(request, timeout_);
}

absl::StatusOr<std::string> AgentLink::CallWithin(absl::string_view request,
                                                  absl::Duration timeout) {
  std::shared_ptr<Boot> boot;
  {
    absl::MutexLock lock(&mu_);
    boot = boot_;
  }
  if (boot == nullptr || !boot->guest_open.load()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "The guest has no kuml agent running (nothing in the guest has its "
        "port ",
        kAgentPortName,
        " open; the default root_fs starts /usr/libexec/kuml/kuml-agent at "
        "boot)"));
  }
  absl::StatusOr<std::string> answer =
      boot->client->CallWithin(request, timeout);
  if (absl::IsDeadlineExceeded(answer.status())) {
    return absl::DeadlineExceededError(
        absl::StrCat("The guest's kuml agent did not answer within ",
                     absl::FormatDuration(timeout)));
  }
  return answer;
}

}  // namespace kuml
