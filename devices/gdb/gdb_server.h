// GdbServer: the gdb remote serial protocol's stub side, as a state machine
// over a DebugTarget, with no I/O of its own: the transport feeds it the
// debugger's bytes (Receive) and it hands back the bytes to send (the send
// callback). gdb_socket_server.h drives it over a socket.
//
// The protocol is gdb's all-stop mode without extended-remote or
// multiprocess. The packets it answers:
//   qSupported       PacketSize, QStartNoAckMode+, qXfer:features:read+,
//                    vContSupported+, swbreak+, hwbreak+; notes whether gdb
//                    understands swbreak/hwbreak stop reasons
//   QStartNoAckMode  OK, then no more '+'/'-'
//   qXfer:features:read:target.xml:<off>,<len>   target_description.h
//   ?                the last stop (after Attach(): T05 on thread 1)
//   g G p P          registers of the selected thread (Hg)
//   m M X            memory by guest virtual address, through the selected
//                    thread's paging; any failure is an E reply
//   Z0-4 z0-4        InsertBreakpoint/RemoveBreakpoint; empty reply when the
//                    target says Unimplemented
//   vCont? vCont;... c s C S [addr]   Resume(); the reply is the stop reply
//                    when the target reports the stop. c/s resume the Hc
//                    thread (s) or every thread (c, or only the Hc thread
//                    when one is named); an address sets that thread's rip
//                    first
//   0x03             (while running) Interrupt(); ignored while stopped
//   H g|c <tid>      thread selection; 0 and -1 mean "the current thread"
//                    (the one of the last stop) for g, "all" for c
//   qfThreadInfo qsThreadInfo qC T<tid> qThreadExtraInfo ("vCPU <n>")
//   qAttached        1 (gdb detaches on quit instead of killing)
//   D                Detach(), OK; the session is over
//   k                Kill(), no reply; the session is over
//   anything else    the empty reply ("not supported")
// While the machine runs only 0x03 is looked at; any other packet is
// answered E10 (gdb sends none in all-stop mode).
// Error replies: E03 no such thread, E0e memory not accessible, E16 bad
// packet or argument, E07 packet too big, E01 the target failed otherwise.
//
// Threads: every method but OnStop() is called from one thread, the
// transport's (the "server thread"), which is also the thread every
// DebugTarget call comes from. OnStop() may be called from any thread, also
// from inside a DebugTarget call (a target that stops at once): it queues
// the event and calls the wakeup callback; the transport then calls
// DeliverStops() on the server thread. Receive() delivers queued stops
// itself after each packet, so a transport that feeds bytes in one thread
// needs no wakeup for stops caused by its own packets.
#ifndef KUML_DEVICES_GDB_GDB_SERVER_H_
#define KUML_DEVICES_GDB_GDB_SERVER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "devices/gdb/debug_target.h"
#include "devices/gdb/gdb_packets.h"
#include "devices/gdb/rsp_packet.h"

namespace kuml {

class GdbServer : public StopSink {
 public:
  // Bytes for the debugger; called on the server thread.
  using SendFn = std::function<void(absl::string_view bytes)>;
  // "Call DeliverStops() on the server thread"; called from any thread.
  using WakeupFn = std::function<void()>;

  // `target` must outlive the server; the server installs itself as its
  // StopSink until destroyed.
  GdbServer(DebugTarget* target, SendFn send, WakeupFn wakeup = nullptr);
  ~GdbServer() override;
  GdbServer(const GdbServer&) = delete;
  GdbServer& operator=(const GdbServer&) = delete;

  // A debugger connected: fresh protocol state, and Attach() stops the
  // machine. On error the connection should be refused.
  absl::Status Connect();
  // The connection is gone: Detach() unless the session ended already (D,
  // k, or the guest exited). Safe to call when not connected.
  void Disconnect();

  // The debugger's bytes, in chunks of any size.
  void Receive(absl::string_view bytes);
  // Sends the stop reply for a stop OnStop() queued.
  void DeliverStops();

  // StopSink; any thread.
  void OnStop(const StopEvent& event) override;

  bool connected() const { return connected_; }
  // Resumed, waiting for the target's stop.
  bool running() const { return running_; }
  // D or k was handled or the guest exited: the transport should close the
  // connection (after what was sent).
  bool session_over() const { return session_over_; }
  // The last error a target call or a packet caused (for logs and tests).
  const std::string& last_error() const { return last_error_; }
  // Stops reported while the server was not waiting for one.
  uint64_t dropped_stops() const { return dropped_stops_; }

 private:
  // The reply to one packet, or nullopt for none (resume, k).
  std::optional<std::string> Handle(absl::string_view packet);
  std::optional<std::string> HandleQuery(absl::string_view packet);
  std::string HandleSupported(absl::string_view features);
  std::string HandleXfer(absl::string_view args);
  std::string HandleSetThread(absl::string_view args);
  std::string ReadAllRegisters();
  std::string WriteAllRegisters(absl::string_view hex);
  std::string ReadOneRegister(absl::string_view args);
  std::string WriteOneRegister(absl::string_view args);
  std::string ReadMemory(absl::string_view args);
  std::string WriteMemory(absl::string_view args, bool binary);
  std::string Breakpoint(absl::string_view args, bool insert);
  std::optional<std::string> HandleVCont(absl::string_view args);
  std::optional<std::string> LegacyResume(absl::string_view packet);
  std::optional<std::string> Resume(const std::vector<ResumeAction>& actions);
  std::string HandleDetach();
  void HandleKill();

  void SendPacket(absl::string_view payload);
  void Interrupt();
  // The thread g/m/... act on, and the current (last stopped) thread.
  int GeneralThread() const;
  bool ValidThread(int thread) const;
  // Records `status` as last_error() and returns `reply`.
  std::string Fail(const absl::Status& status, const char* reply);

  DebugTarget* const target_;
  const SendFn send_;
  const WakeupFn wakeup_;

  RspDecoder decoder_;
  bool connected_ = false;
  bool attached_ = false;  // Attach() done, Detach()/Kill() not yet
  bool running_ = false;
  bool session_over_ = false;
  bool swbreak_ = false;  // gdb understands the swbreak stop reason
  bool hwbreak_ = false;
  int current_thread_ = 1;             // the thread of the last stop
  int general_thread_ = 0;             // Hg; 0 = current
  int continue_thread_ = kAllThreads;  // Hc
  bool enter_no_ack_ = false;  // QStartNoAckMode answered: switch after it
  // An exit reported while stopped, for the next resume to answer.
  std::optional<StopEvent> pending_exit_;
  std::string last_stop_;  // the reply to '?'
  std::string last_sent_;  // for a '-' from the debugger
  std::string last_error_;
  uint64_t dropped_stops_ = 0;

  absl::Mutex mu_;
  std::vector<StopEvent> stops_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kuml

#endif  // KUML_DEVICES_GDB_GDB_SERVER_H_
