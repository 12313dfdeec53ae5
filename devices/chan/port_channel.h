// UML's `port:<tcp port>` channel: a built-in telnet server.
//
// One PortServer listens per TCP port (on all addresses, from the moment
// the line is configured, as UML does) and serves every line attached to
// that port. Each connection gets the next free line, in the order the
// lines were created (con before ssl, lower numbers first); connections
// beyond the free lines are accepted, greeted and wait, unserved, until a
// line's client leaves (HOWTO 5.2). A client that leaves frees its line
// for the next waiting connection; the guest does not notice.
//
// A line without a client:
//  * event-driven output (WriteSome, virtio-console ports) waits: nothing is
//    consumed, the guest is back-pressured, and the output is shown to the
//    next client;
//  * blocking output (Write, the 8250 console) is discarded, because
//    blocking a vCPU for a client that may never come would hang the whole
//    guest. The boot console therefore waits for its first client before
//    the boot starts (WaitForClient), as UML's boot does.
// Input arrives only from a client.
//
// Threads: an accept thread per server; Read/WriteSome on the event loop;
// Write on vCPU threads.
#ifndef KUML_DEVICES_CHAN_PORT_CHANNEL_H_
#define KUML_DEVICES_CHAN_PORT_CHANNEL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "devices/chan/channel.h"
#include "devices/chan/telnet.h"
#include "util/unique_fd.h"

namespace kuml {

class PortChannel;

class PortServer : public std::enable_shared_from_this<PortServer> {
 public:
  // Binds 0.0.0.0:<port> (SO_REUSEADDR) and starts accepting. Errors name
  // the port ("port:9000: bind: Address already in use"). Port 0 picks a
  // free one (tests); port() tells which.
  static absl::StatusOr<std::shared_ptr<PortServer>> Listen(uint16_t port);
  ~PortServer();
  PortServer(const PortServer&) = delete;
  PortServer& operator=(const PortServer&) = delete;

  uint16_t port() const { return port_; }
  // A channel for one more line on this port.
  absl::StatusOr<std::unique_ptr<PortChannel>> NewLine();
  // Connections accepted and not yet given a line.
  size_t waiting() const;

 private:
  friend class PortChannel;
  PortServer(uint16_t port, UniqueFd listen_fd, UniqueFd stop_fd);
  void AcceptLoop();
  // Hands waiting connections to free lines, in line order.
  void Assign();
  void Unregister(PortChannel* line);

  const uint16_t port_;
  UniqueFd listen_fd_;
  UniqueFd stop_fd_;  // eventfd: ends the accept thread
  mutable absl::Mutex mu_;
  std::vector<PortChannel*> lines_ ABSL_GUARDED_BY(mu_);
  std::deque<UniqueFd> waiting_ ABSL_GUARDED_BY(mu_);
  std::thread accept_thread_;
};

class PortChannel : public Channel {
 public:
  ~PortChannel() override;

  uint16_t port() const { return server_->port(); }
  bool has_client() const;
  // Waits up to `timeout` for a client; true when there is one.
  bool WaitForClient(absl::Duration timeout);

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
};

}  // namespace kuml

#endif  // KUML_DEVICES_CHAN_PORT_CHANNEL_H_
