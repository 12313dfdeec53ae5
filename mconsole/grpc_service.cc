#include "mconsole/grpc_service.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "mconsole/kernel_version.h"

namespace kuml::mconsole {
namespace {

// Finishes the outcome after the reply is built (the RPC's response goes
// out when the handler returns; the action only requests a stop, and the
// launcher shuts this server down -- waiting for in-flight calls -- before
// the process exits).
grpc::Status Finish(grpc::ServerContext* context, Outcome outcome) {
  const Reply reply = outcome.reply;
  outcome.Finish();
  if (reply.ok()) return grpc::Status::OK;
  context->AddTrailingMetadata(kUmlErrKey, absl::StrCat(reply.err));
  return grpc::Status(static_cast<grpc::StatusCode>(reply.code), reply.text);
}

}  // namespace

grpc::Status MConsoleService::Version(grpc::ServerContext* context,
                                      const v1::VersionRequest*,
                                      v1::VersionReply* out) {
  KernelVersion v = core_->control()->Version();
  out->set_sysname(v.sysname);
  out->set_nodename(v.nodename);
  out->set_release(v.release);
  out->set_version(v.version);
  out->set_machine(v.machine);
  Outcome o = core_->Version();
  out->set_text(o.reply.text);
  return Finish(context, std::move(o));
}

grpc::Status MConsoleService::Halt(grpc::ServerContext* context,
                                   const v1::HaltRequest*, v1::HaltReply*) {
  return Finish(context, core_->Halt());
}

grpc::Status MConsoleService::Reboot(grpc::ServerContext* context,
                                     const v1::RebootRequest*,
                                     v1::RebootReply*) {
  return Finish(context, core_->Reboot());
}

grpc::Status MConsoleService::Config(grpc::ServerContext* context,
                                     const v1::ConfigRequest* request,
                                     v1::ConfigReply* out) {
  std::string args = absl::StrCat(" ", request->device());
  if (request->has_spec()) absl::StrAppend(&args, "=", request->spec());
  Outcome o = core_->Config(args);
  if (!request->has_spec() && o.reply.ok()) out->set_config(o.reply.text);
  return Finish(context, std::move(o));
}

grpc::Status MConsoleService::Remove(grpc::ServerContext* context,
                                     const v1::RemoveRequest* request,
                                     v1::RemoveReply*) {
  return Finish(context, core_->Remove(absl::StrCat(" ", request->device())));
}

grpc::Status MConsoleService::Sysrq(grpc::ServerContext* context,
                                    const v1::SysrqRequest* request,
                                    v1::SysrqReply* out) {
  Outcome o = core_->Sysrq(absl::StrCat(" ", request->key()));
  out->set_output(o.reply.text);
  return Finish(context, std::move(o));
}

grpc::Status MConsoleService::Help(grpc::ServerContext* context,
                                   const v1::HelpRequest*, v1::HelpReply* out) {
  Outcome o = core_->Help();
  out->set_text(o.reply.text);
  return Finish(context, std::move(o));
}

grpc::Status MConsoleService::Cad(grpc::ServerContext* context,
                                  const v1::CadRequest*, v1::CadReply*) {
  return Finish(context, core_->Cad());
}

grpc::Status MConsoleService::Stop(grpc::ServerContext* context,
                                   const v1::StopRequest*, v1::StopReply*) {
  return Finish(context, core_->Stop());
}

grpc::Status MConsoleService::Go(grpc::ServerContext* context,
                                 const v1::GoRequest*, v1::GoReply*) {
  return Finish(context, core_->Go());
}

grpc::Status MConsoleService::Log(grpc::ServerContext* context,
                                  const v1::LogRequest* request,
                                  v1::LogReply*) {
  return Finish(context, core_->Log(absl::StrCat(" ", request->text())));
}

grpc::Status MConsoleService::Proc(grpc::ServerContext* context,
                                   const v1::ProcRequest* request,
                                   v1::ProcReply* out) {
  Outcome o = core_->Proc(absl::StrCat(" ", request->file()));
  // The core starts the contents on a new line, as UML's reply does; the
  // structured answer is the file itself.
  if (o.reply.ok()) out->set_contents(o.reply.text.substr(1));
  return Finish(context, std::move(o));
}

grpc::Status MConsoleService::Stack(grpc::ServerContext* context,
                                    const v1::StackRequest* request,
                                    v1::StackReply* out) {
  Outcome o = core_->Stack(absl::StrCat(" ", request->pid()));
  out->set_trace(o.reply.text);
  return Finish(context, std::move(o));
}

grpc::Status MConsoleService::Command(grpc::ServerContext* context,
                                      const v1::CommandRequest* request,
                                      v1::CommandReply* out) {
  Outcome o = core_->Execute(request->command());
  // The raw door: UML's err and text in the reply itself, status OK.
  out->set_err(o.reply.err);
  out->set_text(o.reply.text);
  o.Finish();
  return grpc::Status::OK;
}

absl::StatusOr<std::unique_ptr<GrpcDoor>> GrpcDoor::Start(
    const std::string& socket_path, CommandCore* core) {
  static const bool reflection = [] {
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    return true;
  }();
  (void)reflection;
  std::unique_ptr<GrpcDoor> door(new GrpcDoor(core));
  door->path_ = socket_path;
  ::unlink(socket_path.c_str());
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket_path,
                           grpc::InsecureServerCredentials());
  builder.RegisterService(&door->service_);
  // Owner-only from the moment the socket exists: gRPC binds it inside
  // BuildAndStart, so narrow the umask around that call (the chmod below
  // covers a thread that changed the umask meanwhile).
  mode_t old_mask = ::umask(0077);
  door->server_ = builder.BuildAndStart();
  ::umask(old_mask);
  if (door->server_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve gRPC on unix:", socket_path));
  }
  if (::chmod(socket_path.c_str(), 0600) != 0) {
    return absl::InternalError(absl::StrCat("chmod 0600 ", socket_path));
  }
  return door;
}

GrpcDoor::~GrpcDoor() {
  Shutdown();
  ::unlink(path_.c_str());
}

void GrpcDoor::Shutdown() {
  if (server_ == nullptr) return;
  // In-flight calls finish (their replies go out); new ones are refused.
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server_->Wait();
  server_.reset();
}

}  // namespace kuml::mconsole
