// GdbSocketServer: serves one GdbServer to debuggers on a socket --
// `target remote 127.0.0.1:<port>` or `target remote <unix socket path>` --
// one debugger at a time, from a thread of its own (the server thread of
// gdb_server.h: every DebugTarget call is made from it).
//
//  - TCP listens on 127.0.0.1 only: a debugger controls the whole guest, so
//    it is reachable only from this host. A unix socket is made with the
//    process's umask; a stale socket file at the path (nothing listening)
//    is replaced, any other file is an error. Finding out means connecting
//    to it: a stub listening there sees a debugger that leaves at once.
//  - A debugger that connects is attached at once (DebugTarget::Attach()
//    stops the machine). If attaching fails, it is refused (as below) with
//    "E.kuml: cannot attach: <why>".
//  - A second debugger while one is connected is refused: it is answered
//    "+" and the packet "E.kuml: another debugger is already connected",
//    then the end of the stream. The answer goes out when its first bytes
//    arrive (gdb discards what arrives before it sends its first packet;
//    it then shows "Remote failure reply: E.kuml: another debugger is
//    already connected"), or after kRefusalLinger if it sends nothing (a
//    person with nc). After that, what it sends is read and dropped until
//    it closes or kRefusalLinger passes, so that closing does not reset
//    the connection before the text is read. At most kMaxRefused refused
//    connections are kept; further ones are closed at once. The connected
//    debugger is unaffected.
//  - When the debugger's connection drops (or it stops reading for
//    kSendTimeout), it is treated as a detach: breakpoints go, the machine
//    runs. After D, k or the guest's exit the connection is closed by us.
//  - Destroying the server stops its thread, detaches a connected debugger
//    and removes the unix socket file.
#ifndef KUML_DEVICES_GDB_GDB_SOCKET_SERVER_H_
#define KUML_DEVICES_GDB_GDB_SOCKET_SERVER_H_

#include <poll.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "devices/gdb/debug_target.h"
#include "devices/gdb/gdb_server.h"
#include "util/unique_fd.h"

namespace kuml {

// Where the stub listens.
struct GdbEndpoint {
  // 127.0.0.1:<port>; port 0 picks a free one (GdbSocketServer::port()).
  static GdbEndpoint Tcp(uint16_t port) { return {false, port, ""}; }
  static GdbEndpoint Unix(std::string path) {
    return {true, 0, std::move(path)};
  }
  // "tcp:127.0.0.1:1234" or "unix:/path", for messages.
  std::string ToString() const;

  bool is_unix = false;
  uint16_t port = 0;
  std::string path;
};

class GdbSocketServer {
 public:
  // A debugger that does not take our output for this long is dropped.
  static constexpr absl::Duration kSendTimeout = absl::Seconds(10);
  static constexpr char kBusyMessage[] =
      "kuml: another debugger is already connected";
  static constexpr absl::Duration kRefusalLinger = absl::Seconds(2);
  static constexpr size_t kMaxRefused = 8;

  // Binds, listens and starts the thread. Errors name the endpoint
  // ("gdb tcp:127.0.0.1:1234: bind: Address already in use"). `target`
  // must outlive the server.
  static absl::StatusOr<std::unique_ptr<GdbSocketServer>> Start(
      const GdbEndpoint& endpoint, DebugTarget* target);
  ~GdbSocketServer();
  GdbSocketServer(const GdbSocketServer&) = delete;
  GdbSocketServer& operator=(const GdbSocketServer&) = delete;

  const GdbEndpoint& endpoint() const { return endpoint_; }
  // The TCP port bound (the chosen one for port 0); 0 for a unix socket.
  uint16_t port() const { return port_; }
  bool connected() const { return connected_.load(); }
  // Debuggers served so far, and turned away because one was connected.
  uint64_t sessions() const { return sessions_.load(); }
  uint64_t refused() const { return refused_.load(); }

 private:
  GdbSocketServer(const GdbEndpoint& endpoint, uint16_t port,
                  UniqueFd listen_fd, UniqueFd wake_fd, DebugTarget* target);
  void Loop();
  void Accept();
  // Turns `fd` away with the packet "E.<message>".
  void Refuse(UniqueFd fd, absl::string_view message);
  // Answers, drains and closes the refused connections.
  void ServeRefused(const struct pollfd* fds, size_t n);
  // Reads what the debugger sent and feeds it to the server.
  void ReadClient();
  void DropClient();
  // Sends all of `bytes` to the client; on failure marks it for dropping.
  void Send(absl::string_view bytes);
  void Wake();

  const GdbEndpoint endpoint_;
  const uint16_t port_;
  UniqueFd listen_fd_;
  UniqueFd wake_fd_;  // eventfd: stop events queued, or shutting down
  UniqueFd client_fd_;
  // Refused connections, until they leave or their deadline.
  struct Refused {
    UniqueFd fd;
    absl::Time deadline;
    std::string message;
    bool told = false;  // the refusal was sent
  };
  std::vector<Refused> refused_conns_;
  bool client_broken_ = false;  // a send failed
  std::unique_ptr<GdbServer> server_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> sessions_{0};
  std::atomic<uint64_t> refused_{0};
  std::thread thread_;
};

}  // namespace kuml

#endif  // KUML_DEVICES_GDB_GDB_SOCKET_SERVER_H_
