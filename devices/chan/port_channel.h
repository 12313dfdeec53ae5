// UML's `port:<tcp port>` channel: a built-in telnet server.
//
// One PortServer listens per TCP port (on all addresses, from the moment
// the line is configured, as UML does: anyone who can reach the port gets
// the line, so give such guests a firewall) and serves every line attached
// to that port. Each connection gets the next free line, in the order the
// lines were created (con before ssl, lower numbers first); connections
// beyond the free lines are accepted, greeted and wait, unserved, until a
// line's client leaves (HOWTO 5.2) -- at most kMaxWaiting of them: further
// ones are told every line is in use and closed, and a waiting one that
// hangs up is dropped at once. When the process runs out of descriptors the
// server refuses the connection (accept into a spare descriptor, close)
// instead of spinning on a listening socket it cannot empty. A client that
// leaves frees its line for the next waiting connection; the guest does not
// notice.
//
// A line without a client:
//  * output waits (WriteSome, the virtio-console ports and the 8250): nothing
//    is consumed, the guest's writers to the line are held back, and the
//    output is shown to the next client;
//  * unless the line discards without a client (set_discard_without_client:
//    con0, whose writers include the kernel's own console; the boot waits
//    for its first client before it starts, WaitForClient, as UML's boot
//    does), or the output is blocking (Write), which is always discarded.
// A slow client holds back its line's output only: nothing here blocks.
// Input arrives only from a client.
//
// Threads: an accept thread per server; Read/WriteSome on the event loop;
// Write on vCPU threads.
#ifndef KUML_DEVICES_CHAN_PORT_CHANNEL_H_
#define KUML_DEVICES_CHAN_PORT_CHANNEL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "devices/chan/channel.h"
#include "devices/chan/telnet.h"
#include "util/net_address.h"
#include "util/unique_fd.h"

namespace kuml {

class PortChannel;

class PortServer : public std::enable_shared_from_this<PortServer> {
 public:
  // Binds <address>:<port> (every address when none, as UML does;
  // SO_REUSEADDR) and starts accepting. Errors name the port ("port:9000:
  // bind: Address already in use"). Port 0 picks a free one (tests); port()
  // tells which.
  static absl::StatusOr<std::shared_ptr<PortServer>> Listen(
      uint16_t port, std::optional<Ipv4Address> address = std::nullopt);
  ~PortServer();
  PortServer(const PortServer&) = delete;
  PortServer& operator=(const PortServer&) = delete;

  uint16_t port() const { return port_; }
  const std::optional<Ipv4Address>& address() const { return address_; }
  // Connections waiting for a line beyond which new ones are turned away.
  static constexpr size_t kMaxWaiting = 16;

  // A channel for one more line on this port.
  absl::StatusOr<std::unique_ptr<PortChannel>> NewLine();
  // Connections accepted and not yet given a line.
  size_t waiting() const;
  // Connections turned away: every line busy and kMaxWaiting waiting, or
  // no descriptor left.
  uint64_t refused() const;

 private:
  friend class PortChannel;
  PortServer(uint16_t port, std::optional<Ipv4Address> address,
             UniqueFd listen_fd, UniqueFd stop_fd);
  void AcceptLoop();
  // Accepts one connection and greets it, or turns it away; false when
  // accepting failed for want of descriptors even with the spare one.
  bool AcceptOne(const std::string& greeting);
  // Drops waiting connections whose peer has gone.
  void DropHungUpWaiting();
  // Hands waiting connections to free lines, in line order.
  void Assign();
  void Unregister(PortChannel* line);

  const uint16_t port_;
  const std::optional<Ipv4Address> address_;
  UniqueFd listen_fd_;
  UniqueFd stop_fd_;  // eventfd: ends the accept thread
  // Held open so that one descriptor is always there to accept (and
  // close) a connection with, when the process has run out of them.
  UniqueFd spare_fd_;
  mutable absl::Mutex mu_;
  std::vector<PortChannel*> lines_ ABSL_GUARDED_BY(mu_);
  std::deque<UniqueFd> waiting_ ABSL_GUARDED_BY(mu_);
  uint64_t refused_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread accept_thread_;
};

class PortChannel : public Channel {
 public:
  ~PortChannel() override;

  uint16_t port() const { return server_->port(); }
  bool has_client() const;
  // Waits up to `timeout` for a client; true when there is one.
  bool WaitForClient(absl::Duration timeout);
  // WriteSome() without a client takes and drops the output instead of
  // holding it for the next client (see the top of this file).
  void set_discard_without_client(bool discard);

  // A stable fd (an epoll set holding the client's socket while there is
  // one): the event loop's registration survives clients coming and going.
  int input_fd() const override { return in_epoll_.get(); }
  // Unavailable while there is no client or after the client left (the
  // line stays; the next client continues it); never end of input.
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> buffer) override;
  absl::Status Write(absl::Span<const uint8_t> data) override;
  absl::StatusOr<size_t> WriteSome(absl::Span<const uint8_t> data) override;
  // An epoll set that is readable while a client's socket is writable.
  Wakeup output_wakeup() const override;
  void Close() override;

 private:
  friend class PortServer;
  using Client = std::shared_ptr<UniqueFd>;
  PortChannel(std::shared_ptr<PortServer> server, UniqueFd in_epoll,
              UniqueFd out_epoll)
      : server_(std::move(server)),
        in_epoll_(std::move(in_epoll)),
        out_epoll_(std::move(out_epoll)) {}

  // Takes `fd` if the line is free (called by the server with its lock).
  bool TryAttach(UniqueFd& fd);
  // Drops `client` if it is still the current one, then lets the server
  // hand the line to the next waiting connection.
  void DropClient(const Client& client);
  // Sends all of `wire` to `client`, waiting in poll; false when it left.
  static bool SendAll(const Client& client, const std::string& wire);

  std::shared_ptr<PortServer> server_;
  UniqueFd in_epoll_;
  UniqueFd out_epoll_;
  mutable absl::Mutex mu_;
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);  // orders Write calls
  Client client_ ABSL_GUARDED_BY(mu_);
  TelnetDecoder decoder_ ABSL_GUARDED_BY(mu_);
  // Escaped output a non-blocking send left over, for client_.
  std::string pending_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool discard_without_client_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace kuml

#endif  // KUML_DEVICES_CHAN_PORT_CHANNEL_H_
