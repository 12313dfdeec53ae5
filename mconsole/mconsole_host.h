// MconsoleHost: everything mconsole in one kuml process -- the umid
// directory, the command core over a MachineControl, both doors (the legacy
// `mconsole` socket and the `grpc` socket) and the notify: socket.
//
// The launcher creates it before the first boot, tells it when each boot
// starts and ends, and destroys it on the way out (which stops the doors
// after the request in progress is answered and removes the umid dir).
#ifndef KUML_MCONSOLE_MCONSOLE_HOST_H_
#define KUML_MCONSOLE_MCONSOLE_HOST_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "frontend/machine_spec.h"
#include "machine/line_factory.h"
#include "machine/machine.h"
#include "mconsole/command_core.h"
#include "mconsole/legacy_server.h"
#include "mconsole/machine_control.h"
#include "mconsole/umid_dir.h"

namespace kuml::mconsole {

// The other door (gRPC), started on a socket path over the same core. Kept
// behind a function so this library does not depend on gRPC.
class Door {
 public:
  virtual ~Door() = default;
  virtual void Shutdown() = 0;
};
using DoorFactory = std::function<absl::StatusOr<std::unique_ptr<Door>>(
    const std::string& socket_path, CommandCore* core)>;

struct MconsoleHostOptions {
  MachineSpec spec;
  std::string kernel_path;
  AgentClient* agent = nullptr;  // not owned; may be null
  // Opens the lines added at run time (MachineControlOptions::lines); not
  // owned, may be null.
  LineFactory* lines = nullptr;
  bool jailed = false;     // MachineControlOptions::jailed
  GdbStub* gdb = nullptr;  // MachineControlOptions::gdb; not owned
  DoorFactory grpc_door;   // may be empty: no gRPC socket
};

class MconsoleHost {
 public:
  static absl::StatusOr<std::unique_ptr<MconsoleHost>> Start(
      MconsoleHostOptions options);
  ~MconsoleHost();

  // Lines for the user (mconsole socket, umid fallback), as UML logs them.
  const std::vector<std::string>& messages() const { return messages_; }
  const UmidDir& dir() const { return *dir_; }

  // Around Machine::Run() of each boot.
  void BootStarting(Machine* machine);
  void BootEnded(const MachineStop& stop);
  // mconsole halt was given (also between boots).
  bool halt_requested() { return control_->halt_requested(); }

  CommandCore& core() { return *core_; }

 private:
  MconsoleHost() = default;
  void Notify(NotifyType type, const std::string& data);

  std::string notify_socket_;
  std::unique_ptr<UmidDir> dir_;
  std::unique_ptr<MachineControl> control_;
  std::unique_ptr<CommandCore> core_;
  std::unique_ptr<LegacyServer> legacy_;
  std::unique_ptr<Door> grpc_;
  std::vector<std::string> messages_;
};

}  // namespace kuml::mconsole

#endif  // KUML_MCONSOLE_MCONSOLE_HOST_H_
