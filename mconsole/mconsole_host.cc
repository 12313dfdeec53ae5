#include "mconsole/mconsole_host.h"

#include "absl/strings/str_cat.h"
#include "mconsole/kernel_version.h"

namespace kuml::mconsole {

absl::StatusOr<std::unique_ptr<MconsoleHost>> MconsoleHost::Start(
    MconsoleHostOptions options) {
  std::unique_ptr<MconsoleHost> host(new MconsoleHost());
  absl::StatusOr<std::unique_ptr<UmidDir>> dir =
      UmidDir::Create(options.spec.uml_dir, options.spec.umid);
  if (!dir.ok()) return dir.status();
  host->dir_ = std::move(*dir);
  if (!host->dir_->warning().empty()) {
    host->messages_.push_back(host->dir_->warning());
  }

  MachineControlOptions control;
  absl::StatusOr<KernelVersion> version =
      ReadKernelVersion(options.kernel_path);
  if (version.ok()) {
    control.version = *version;
  } else {
    // A test payload or a foreign kernel without a banner.
    control.version.release = "unknown";
    control.version.version =
        absl::StrCat("(no Linux banner in ", options.kernel_path, ")");
  }
  control.spec = options.spec;
  control.agent = options.agent;
  control.lines = options.lines;
  control.jailed = options.jailed;
  control.gdb = options.gdb;
  host->control_ = std::make_unique<MachineControl>(std::move(control));
  host->core_ = std::make_unique<CommandCore>(host->control_.get());

  const std::string mconsole_path = host->dir_->File("mconsole");
  absl::StatusOr<std::unique_ptr<LegacyServer>> legacy =
      LegacyServer::Start(mconsole_path, host->core_.get());
  if (!legacy.ok()) return legacy.status();
  host->legacy_ = std::move(*legacy);
  host->messages_.push_back(
      absl::StrCat("mconsole (version 2) initialized on ", mconsole_path));
  if (options.grpc_door) {
    const std::string grpc_path = host->dir_->File("grpc");
    absl::StatusOr<std::unique_ptr<Door>> door =
        options.grpc_door(grpc_path, host->core_.get());
    if (!door.ok()) return door.status();
    host->grpc_ = std::move(*door);
    host->messages_.push_back(
        absl::StrCat("mconsole gRPC service on unix:", grpc_path));
  }
  if (options.spec.mconsole_notify.has_value()) {
    host->notify_socket_ = options.spec.mconsole_notify->socket_path;
  }
  return host;
}

MconsoleHost::~MconsoleHost() {
  // Doors first: the request in progress gets its answer, no new one
  // reaches a control whose machine is gone.
  if (grpc_ != nullptr) grpc_->Shutdown();
  if (legacy_ != nullptr) legacy_->Shutdown();
  grpc_.reset();
  legacy_.reset();
}

void MconsoleHost::BootStarting(Machine* machine) {
  control_->Attach(machine);
  // UML sends MCONSOLE_SOCKET at boot and after each reboot.
  Notify(NotifyType::kSocket, legacy_->path() + '\0');
}

void MconsoleHost::BootEnded(const MachineStop& stop) {
  control_->Detach();
  if (stop.reason == StopReason::kGuestPanic) {
    Notify(NotifyType::kPanic, stop.detail + '\0');
  }
}

void MconsoleHost::Notify(NotifyType type, const std::string& data) {
  if (notify_socket_.empty()) return;
  // UML ignores a notify socket that is not there; so does kuml.
  (void)SendNotify(notify_socket_, type, data);
}

}  // namespace kuml::mconsole
