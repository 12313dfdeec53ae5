// LegacyServer: UML's mconsole socket, so the real `uml_mconsole` (and
// anything else speaking the version-2 datagram protocol) drives kuml.
//
// An AF_UNIX datagram socket bound at <umid dir>/mconsole. Requests are
// decoded by wire.h, run through the CommandCore and answered to the
// sender's address exactly as received (uml_mconsole binds an abstract
// address). One thread serves the socket, so commands run one at a time as
// in UML, and never on a vCPU or the machine's event loop: a flood of
// requests costs the guest nothing.
//
// Only the guest's owner (and root) may command it: the socket has
// SO_PASSCRED set, so every datagram carries the sender's credentials
// (SCM_CREDENTIALS; SO_PEERCRED means nothing for unconnected datagram
// sockets). Others get "ERR Permission denied".
//
// Unlike UML, reply packets are never dropped: UML sends on a non-blocking
// socket and loses whatever does not fit the client's receive queue (10
// datagrams), and uml_mconsole then waits forever for the last packet. Here
// a send waits for room, up to `send_timeout` per packet (a client that
// stopped reading loses the rest of its reply, nobody else waits longer).
#ifndef KUML_MCONSOLE_LEGACY_SERVER_H_
#define KUML_MCONSOLE_LEGACY_SERVER_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "mconsole/command_core.h"
#include "mconsole/wire.h"
#include "util/unique_fd.h"

namespace kuml::mconsole {

struct LegacyServerOptions {
  // Besides root, the one uid allowed to send commands (default: ours).
  uid_t owner_uid = static_cast<uid_t>(-1);
  bool allow_root = true;
  absl::Duration send_timeout = absl::Seconds(2);
};

struct LegacyServerStats {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> packets_sent{0};
  std::atomic<uint64_t> packets_lost{0};  // send failed or timed out
  std::atomic<uint64_t> refused_peers{0};
};

class LegacyServer {
 public:
  // Binds `path` (an existing socket file there is replaced) and starts
  // serving. `core` is not owned and must outlive the server.
  static absl::StatusOr<std::unique_ptr<LegacyServer>> Start(
      const std::string& path, CommandCore* core,
      LegacyServerOptions options = {});
  // Shutdown(), then removes the socket file.
  ~LegacyServer();

  LegacyServer(const LegacyServer&) = delete;
  LegacyServer& operator=(const LegacyServer&) = delete;

  // Finishes the request in progress (its reply goes out), stops the
  // thread. Idempotent.
  void Shutdown();

  const std::string& path() const { return path_; }
  const LegacyServerStats& stats() const { return stats_; }

 private:
  LegacyServer(std::string path, UniqueFd socket, UniqueFd wake,
               CommandCore* core, LegacyServerOptions options);
  void Loop();
  void HandleDatagram();
  void Send(const std::string& packet, const void* addr, socklen_t addr_len);

  std::string path_;
  UniqueFd socket_;
  UniqueFd wake_;  // eventfd: ends the loop
  CommandCore* core_;
  LegacyServerOptions options_;
  LegacyServerStats stats_;
  std::thread thread_;
};

// Sends one notification datagram to `socket_path` (mconsole=notify:).
absl::Status SendNotify(const std::string& socket_path, NotifyType type,
                        absl::string_view data);

}  // namespace kuml::mconsole

#endif  // KUML_MCONSOLE_LEGACY_SERVER_H_
