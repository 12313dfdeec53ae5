// The gRPC door: kuml.v1.MConsole (proto/kuml.proto) over the command core,
// served on a unix socket only the owner may open.
#ifndef KUML_MCONSOLE_GRPC_SERVICE_H_
#define KUML_MCONSOLE_GRPC_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "mconsole/command_core.h"
#include "mconsole/mconsole_host.h"
#include "proto/kuml.grpc.pb.h"

namespace kuml::mconsole {

class MConsoleService final : public kuml::v1::MConsole::Service {
 public:
  explicit MConsoleService(CommandCore* core) : core_(core) {}

  grpc::Status Version(grpc::ServerContext*, const v1::VersionRequest*,
                       v1::VersionReply*) override;
  grpc::Status Halt(grpc::ServerContext*, const v1::HaltRequest*,
                    v1::HaltReply*) override;
  grpc::Status Reboot(grpc::ServerContext*, const v1::RebootRequest*,
                      v1::RebootReply*) override;
  grpc::Status Config(grpc::ServerContext*, const v1::ConfigRequest*,
                      v1::ConfigReply*) override;
  grpc::Status Remove(grpc::ServerContext*, const v1::RemoveRequest*,
                      v1::RemoveReply*) override;
  grpc::Status Sysrq(grpc::ServerContext*, const v1::SysrqRequest*,
                     v1::SysrqReply*) override;
  grpc::Status Help(grpc::ServerContext*, const v1::HelpRequest*,
                    v1::HelpReply*) override;
  grpc::Status Cad(grpc::ServerContext*, const v1::CadRequest*,
                   v1::CadReply*) override;
  grpc::Status Stop(grpc::ServerContext*, const v1::StopRequest*,
                    v1::StopReply*) override;
  grpc::Status Go(grpc::ServerContext*, const v1::GoRequest*,
                  v1::GoReply*) override;
  grpc::Status Log(grpc::ServerContext*, const v1::LogRequest*,
                   v1::LogReply*) override;
  grpc::Status Proc(grpc::ServerContext*, const v1::ProcRequest*,
                    v1::ProcReply*) override;
  grpc::Status Stack(grpc::ServerContext*, const v1::StackRequest*,
                     v1::StackReply*) override;
  grpc::Status Command(grpc::ServerContext*, const v1::CommandRequest*,
                       v1::CommandReply*) override;

 private:
  CommandCore* core_;
};

// Serves MConsoleService (and server reflection) on unix:`socket_path`,
// mode 0600.
class GrpcDoor : public Door {
 public:
  static absl::StatusOr<std::unique_ptr<GrpcDoor>> Start(
      const std::string& socket_path, CommandCore* core);
  ~GrpcDoor() override;
  void Shutdown() override;

 private:
  explicit GrpcDoor(CommandCore* core) : service_(core) {}
  MConsoleService service_;
  std::unique_ptr<grpc::Server> server_;
  std::string path_;
};

}  // namespace kuml::mconsole

#endif  // KUML_MCONSOLE_GRPC_SERVICE_H_
