// GdbStub: kuml's gdb stub for the life of the process -- the debug target
// every boot's Machine is bound to, and the socket server gdb connects to,
// started from the command line (gdb=, debug) or later by mconsole's
// `config gdb=<port|path>`, and stopped by `remove gdb`.
#ifndef KUML_MACHINE_GDB_STUB_H_
#define KUML_MACHINE_GDB_STUB_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "devices/gdb/gdb_socket_server.h"
#include "frontend/machine_spec.h"
#include "machine/kvm_debug_target.h"
#include "machine/machine.h"
#include "vmm/kvm/kvm.h"

namespace kuml {

class GdbStub {
 public:
  // `notice` prints a line for the user (kuml's stderr).
  GdbStub(const Kvm& kvm, KvmFlavor flavor,
          std::function<void(const std::string&)> notice);
  ~GdbStub();
  GdbStub(const GdbStub&) = delete;
  GdbStub& operator=(const GdbStub&) = delete;

  // Starts listening. FailedPrecondition when it already listens (UML
  // allows one debugger connection; so does kuml: stop it first).
  absl::Status Listen(const GdbListen& where);
  // Stops listening (a connected debugger is detached). NotFound when not
  // listening.
  absl::Status Stop();
  // "tcp:127.0.0.1:1234" or "unix:/path" while listening.
  std::optional<std::string> endpoint() const;
  // What to type to attach, for messages: the `target remote` argument.
  std::optional<std::string> remote_argument() const;

  // Around each boot's Machine::Run().
  void Bind(Machine* machine) { target_->Bind(machine); }
  void Unbind() { target_->Unbind(0); }

 private:
  // The target outlives the server, which calls it.
  std::unique_ptr<KvmDebugTarget> target_;
  mutable absl::Mutex mu_;
  std::unique_ptr<GdbSocketServer> server_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kuml

#endif  // KUML_MACHINE_GDB_STUB_H_
