#include "cli/umlctl.h"

#include <dirent.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "disk/cow_command.h"
#include "kumld/fleet_command.h"
#include "mconsole/command_core.h"
#include "mconsole/umid_dir.h"
#include "proto/kuml.grpc.pb.h"

namespace kuml {
namespace {

using mconsole::Command;

constexpr absl::string_view kUsage =
    "usage: umlctl [--json] [--uml-dir=DIR] <umid|socket> <command> [args...]\n"
    "       umlctl [--json] [--uml-dir=DIR] list\n"
    "       umlctl cow <create|merge|info> ...\n"
    "       umlctl fleet <up|ls|down|UMID command> ...\n"
    "commands: version halt reboot config remove sysrq help cad stop go log "
    "proc stack\n";

constexpr int kExitUsage = 2;

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string JsonOf(const google::protobuf::Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, options);
  return json;
}

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          static const char* hex = "0123456789abcdef";
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out + "\"";
}

// One call's result, in uml_mconsole's terms.
struct Result {
  bool answered = true;  // the server gave an mconsole answer
  int32_t uml_err = 0;
  std::string text;  // what follows "OK " / "ERR "
  std::string json;  // the reply message, for --json
  grpc::Status status;
};

template <typename Reply>
Result Finish(const grpc::Status& status, const grpc::ClientContext& context,
              const Reply& reply, std::string ok_text) {
  Result r;
  r.status = status;
  if (status.ok()) {
    r.text = std::move(ok_text);
    r.json = JsonOf(reply);
    return r;
  }
  r.uml_err = 1;
  auto trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find(mconsole::kUmlErrKey);
  r.answered = it != trailers.end();
  if (it != trailers.end()) {
    int v = 1;
    if (absl::SimpleAtoi(
            absl::string_view(it->second.data(), it->second.size()), &v)) {
      r.uml_err = v;
    }
  }
  r.text = status.error_message();
  return r;
}

// Calls the typed RPC for `line` (the command as uml_mconsole would send
// it).
Result Call(v1::MConsole::Stub& stub, const std::string& line,
            Command command) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(120));
  absl::string_view args =
      absl::string_view(line).substr(mconsole::CommandName(command).size());
  absl::string_view trimmed = args;
  while (!trimmed.empty() && (trimmed[0] == ' ' || trimmed[0] == '\t')) {
    trimmed.remove_prefix(1);
  }
  switch (command) {
    case Command::kVersion: {
      v1::VersionReply reply;
      grpc::Status s = stub.Version(&context, {}, &reply);
      return Finish(s, context, reply, reply.text());
    }
    case Command::kHalt: {
      v1::HaltReply reply;
      return Finish(stub.Halt(&context, {}, &reply), context, reply, "");
    }
    case Command::kReboot: {
      v1::RebootReply reply;
      return Finish(stub.Reboot(&context, {}, &reply), context, reply, "");
    }
    case Command::kConfig: {
      v1::ConfigRequest request;
      size_t eq = trimmed.find('=');
      request.set_device(std::string(trimmed.substr(0, eq)));
      if (eq != absl::string_view::npos) {
        request.set_spec(std::string(trimmed.substr(eq + 1)));
      }
      v1::ConfigReply reply;
      grpc::Status s = stub.Config(&context, request, &reply);
      return Finish(s, context, reply, reply.config());
    }
    case Command::kRemove: {
      v1::RemoveRequest request;
      request.set_device(std::string(trimmed));
      v1::RemoveReply reply;
      return Finish(stub.Remove(&context, request, &reply), context, reply, "");
    }
    case Command::kSysrq: {
      v1::SysrqRequest request;
      request.set_key(std::string(trimmed.substr(0, 1)));
      v1::SysrqReply reply;
      grpc::Status s = stub.Sysrq(&context, request, &reply);
      return Finish(s, context, reply, reply.output());
    }
    case Command::kHelp: {
      v1::HelpReply reply;
      grpc::Status s = stub.Help(&context, {}, &reply);
      return Finish(s, context, reply, reply.text());
    }
    case Command::kCad: {
      v1::CadReply reply;
      return Finish(stub.Cad(&context, {}, &reply), context, reply, "");
    }
    case Command::kStop: {
      v1::StopReply reply;
      return Finish(stub.Stop(&context, {}, &reply), context, reply, "stopped");
    }
    case Command::kGo: {
      v1::GoReply reply;
      return Finish(stub.Go(&context, {}, &reply), context, reply, "");
    }
    case Command::kLog: {
      v1::LogRequest request;
      // mconsole_log takes what follows "log ".
      request.set_text(std::string(args.empty() ? args : args.substr(1)));
      v1::LogReply reply;
      return Finish(stub.Log(&context, request, &reply), context, reply, "");
    }
    case Command::kProc: {
      v1::ProcRequest request;
      request.set_file(std::string(trimmed));
      v1::ProcReply reply;
      grpc::Status s = stub.Proc(&context, request, &reply);
      return Finish(s, context, reply, "\n" + reply.contents());
    }
    case Command::kStack: {
      // The server parses the pid as UML does; send the text through the
      // raw door so "stack" alone and "stack 0x1" behave the same.
      int pid = 0;
      if (trimmed.empty() || !absl::SimpleAtoi(trimmed, &pid)) {
        v1::CommandRequest request;
        request.set_command(line);
        v1::CommandReply reply;
        grpc::Status s = stub.Command(&context, request, &reply);
        Result r;
        r.status = s;
        r.uml_err = s.ok() ? reply.err() : 1;
        r.text = s.ok() ? reply.text() : s.error_message();
        r.json = JsonOf(reply);
        if (s.ok() && reply.err() != 0) {
          r.status =
              grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, reply.text());
        }
        return r;
      }
      v1::StackRequest request;
      request.set_pid(pid);
      v1::StackReply reply;
      grpc::Status s = stub.Stack(&context, request, &reply);
      return Finish(s, context, reply, reply.trace());
    }
  }
  Result r;
  r.uml_err = 1;
  r.text = "Unknown command";
  r.status = grpc::Status(grpc::StatusCode::UNIMPLEMENTED, r.text);
  return r;
}

int List(const std::string& uml_dir, bool json, std::ostream& out) {
  const std::string base = mconsole::ResolveUmlDir(uml_dir);
  std::vector<std::string> umids;
  if (DIR* d = ::opendir(base.c_str()); d != nullptr) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      if (mconsole::LivePid(base + "/" + name) != 0) umids.push_back(name);
    }
    ::closedir(d);
  }
  std::sort(umids.begin(), umids.end());
  if (json) {
    std::vector<std::string> items;
    for (const std::string& umid : umids) {
      std::string dir = base + "/" + umid;
      items.push_back(absl::StrCat(
          "{\"umid\":", JsonString(umid), ",\"pid\":", mconsole::LivePid(dir),
          ",\"mconsole\":", JsonString(dir + "/mconsole"),
          ",\"grpc\":", JsonString(dir + "/grpc"), "}"));
    }
    out << "[" << absl::StrJoin(items, ",") << "]\n";
    return 0;
  }
  for (const std::string& umid : umids) {
    std::string dir = base + "/" + umid;
    out << umid << "\t" << mconsole::LivePid(dir) << "\t" << dir << "/grpc\n";
  }
  return 0;
}

// `umlctl cow ...`: the COW tools of disk/ (create = uml_mkcow, merge =
// uml_moo, info).
int RunCow(const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err) {
  return RunCowCommand(args, out, err);
}

}  // namespace

std::string ResolveGrpcSocket(const std::string& target,
                              const std::string& uml_dir) {
  if (target.find('/') != std::string::npos) {
    return IsDir(target) ? target + "/grpc" : target;
  }
  return mconsole::ResolveUmlDir(uml_dir) + "/" + target + "/grpc";
}

int RunUmlctl(const std::vector<std::string>& all_args, std::ostream& out,
              std::ostream& err) {
  bool json = false;
  std::string uml_dir;
  std::vector<std::string> args;
  for (size_t i = 0; i < all_args.size(); ++i) {
    const std::string& a = all_args[i];
    if (args.empty() && a == "--json") {
      json = true;
    } else if (args.empty() && absl::StartsWith(a, "--uml-dir=")) {
      uml_dir = a.substr(10);
    } else if (args.empty() && (a == "-h" || a == "--help")) {
      out << kUsage;
      return 0;
    } else if (args.empty() && absl::StartsWith(a, "-")) {
      err << "umlctl: unknown option " << a << "\n" << kUsage;
      return kExitUsage;
    } else {
      args.push_back(a);
    }
  }
  if (args.empty()) {
    err << kUsage;
    return kExitUsage;
  }
  if (args[0] == "cow") {
    return RunCow(std::vector<std::string>(args.begin() + 1, args.end()), out,
                  err);
  }
  if (args[0] == "fleet") {  // kumld's fleets (kumld/fleet_command.h)
    return kumld::RunFleetCommand(
        std::vector<std::string>(args.begin() + 1, args.end()), out, err);
  }
  if (args[0] == "list" && args.size() == 1) return List(uml_dir, json, out);
  if (args.size() < 2) {
    err << "umlctl: no command for " << args[0] << "\n" << kUsage;
    return kExitUsage;
  }
  const std::string line = absl::StrJoin(args.begin() + 1, args.end(), " ");
  std::optional<Command> command = mconsole::MatchCommand(line);
  if (!command.has_value()) {
    // As the server would answer (uml_mconsole sends it and prints this).
    if (json) {
      out << "{\"err\":1,\"error\":\"Unknown command\"}\n";
    } else {
      out << "ERR Unknown command\n";
    }
    return 1;
  }
  const std::string socket = ResolveGrpcSocket(args[0], uml_dir);
  auto channel =
      grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
  v1::MConsole::Stub stub(channel);
  Result r = Call(stub, line, *command);
  // No "uml-err" trailer: the guest was not reached (no mconsole answer).
  if (!r.status.ok() && !r.answered) {
    err << "umlctl: cannot reach " << socket << ": " << r.text << "\n";
    return 1;
  }
  if (json) {
    if (r.status.ok()) {
      out << r.json << "\n";
    } else {
      out << "{\"err\":" << r.uml_err
          << ",\"code\":" << static_cast<int>(r.status.error_code())
          << ",\"error\":" << JsonString(r.text) << "}\n";
    }
  } else {
    out << (r.status.ok() ? "OK " : "ERR ") << r.text << "\n";
  }
  return r.status.ok() ? 0 : (r.uml_err & 0xff);
}

}  // namespace kuml
