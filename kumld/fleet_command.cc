#include "kumld/fleet_command.h"

#include <limits.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "grpcpp/grpcpp.h"
#include "kumld/paths.h"
#include "proto/host.grpc.pb.h"

namespace kuml::kumld {
namespace {

constexpr const char* kUsage =
    "usage: umlctl fleet [--socket=PATH] up [--no-wait] [--timeout=SECONDS] "
    "<manifest>\n"
    "       umlctl fleet [--socket=PATH] ls\n"
    "       umlctl fleet [--socket=PATH] down [<umid>]\n"
    "       umlctl fleet [--socket=PATH] stop|start|destroy <umid>\n"
    "       umlctl fleet [--socket=PATH] <umid> <mconsole command...>\n";

std::string StateName(host::GuestState s) {
  std::string name = host::GuestState_Name(s);
  return name.empty() ? "?" : name;
}

std::string Mib(uint64_t bytes) {
  return bytes == 0 ? "-" : absl::StrFormat("%.1fM", bytes / 1048576.0);
}

std::string Uptime(double seconds) {
  if (seconds <= 0) return "-";
  if (seconds < 120) return absl::StrFormat("%.1fs", seconds);
  if (seconds < 7200)
    return absl::StrFormat("%dm", static_cast<int>(seconds / 60));
  return absl::StrFormat("%dh", static_cast<int>(seconds / 3600));
}

int Failed(const grpc::Status& s, std::ostream& err) {
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
    err << "umlctl fleet: kumld is not reachable (" << s.error_message()
        << "); start it with `kumld`\n";
  } else {
    err << "umlctl fleet: " << s.error_message() << "\n";
  }
  return 1;
}

void PrintGuest(const host::GuestInfo& g, std::ostream& out) {
  out << absl::StrFormat(
      "%-20s %-9s %7s %8s %8s %8s %8s %4u  %s", g.umid(), StateName(g.state()),
      g.pid() > 0 ? std::to_string(g.pid()) : "-", Uptime(g.uptime_seconds()),
      Mib(g.pss_bytes()), Mib(g.rss_bytes()), Mib(g.cgroup_memory_bytes()),
      g.restarts(), g.last_exit());
  if (!g.note().empty()) out << "  (" << g.note() << ")";
  out << "\n";
}

int Up(host::Host::Stub& stub, const std::vector<std::string>& args,
       std::ostream& out, std::ostream& err) {
  host::UpRequest request;
  request.set_wait_ready(true);
  std::string manifest;
  for (const std::string& a : args) {
    uint32_t seconds = 0;
    if (a == "--no-wait") {
      request.set_wait_ready(false);
    } else if (absl::StartsWith(a, "--timeout=") &&
               absl::SimpleAtoi(a.substr(10), &seconds)) {
      request.set_ready_timeout_ms(seconds * 1000);
    } else if (manifest.empty() && !absl::StartsWith(a, "--")) {
      manifest = a;
    } else {
      err << kUsage;
      return 2;
    }
  }
  if (manifest.empty()) {
    err << kUsage;
    return 2;
  }
  std::ifstream in(manifest);
  if (!in) {
    err << "umlctl fleet: cannot read " << manifest << "\n";
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  request.set_manifest_text(text.str());
  request.set_manifest_name(manifest);
  char real[PATH_MAX];
  std::string abs =
      realpath(manifest.c_str(), real) != nullptr ? real : manifest;
  request.set_base_dir(abs.substr(0, abs.rfind('/')));

  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<host::UpProgress>> reader =
      stub.Up(&context, request);
  host::UpProgress p;
  while (reader->Read(&p)) {
    if (p.umid().empty()) {
      out << p.message() << "\n";
      continue;
    }
    out << absl::StrFormat("[%u/%u up] %-20s %-9s pid %-7d %6.2fs", p.ready(),
                           p.total(), p.umid(), StateName(p.state()), p.pid(),
                           p.elapsed_seconds());
    if (!p.message().empty()) out << "  " << p.message();
    out << "\n" << std::flush;
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Failed(s, err);
  return 0;
}

}  // namespace

int RunFleetCommand(const std::vector<std::string>& all_args, std::ostream& out,
                    std::ostream& err) {
  std::vector<std::string> args = all_args;
  std::string socket = DefaultSocketPath();
  if (!args.empty() && absl::StartsWith(args[0], "--socket=")) {
    socket = args[0].substr(9);
    args.erase(args.begin());
  }
  if (args.empty() || args[0] == "--help" || args[0] == "help") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? 2 : 0;
  }
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
  std::unique_ptr<host::Host::Stub> stub = host::Host::NewStub(channel);
  const std::string& verb = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());

  if (verb == "up") return Up(*stub, rest, out, err);
  if (verb == "ls") {
    if (!rest.empty()) {
      err << kUsage;
      return 2;
    }
    grpc::ClientContext context;
    host::ListReply reply;
    grpc::Status s = stub->List(&context, host::ListRequest(), &reply);
    if (!s.ok()) return Failed(s, err);
    out << absl::StrFormat("%-20s %-9s %7s %8s %8s %8s %8s %4s  %s\n", "UMID",
                           "STATE", "PID", "UPTIME", "PSS", "RSS", "CGROUP",
                           "RST", "LAST EXIT");
    for (const host::GuestInfo& g : reply.guest()) PrintGuest(g, out);
    return 0;
  }
  if (verb == "down") {
    if (rest.size() > 1) {
      err << kUsage;
      return 2;
    }
    grpc::ClientContext context;
    host::GuestRequest request;
    if (!rest.empty()) request.set_umid(rest[0]);
    host::DownReply reply;
    grpc::Status s = stub->Down(&context, request, &reply);
    for (const host::GuestInfo& g : reply.guest()) {
      out << "destroyed " << g.umid() << "\n";
    }
    return s.ok() ? 0 : Failed(s, err);
  }
  if (verb == "stop" || verb == "start" || verb == "destroy") {
    if (rest.size() != 1) {
      err << kUsage;
      return 2;
    }
    grpc::ClientContext context;
    host::GuestRequest request;
    request.set_umid(rest[0]);
    host::GuestReply reply;
    grpc::Status s = verb == "stop" ? stub->Stop(&context, request, &reply)
                     : verb == "start"
                         ? stub->Start(&context, request, &reply)
                         : stub->Destroy(&context, request, &reply);
    if (!s.ok()) return Failed(s, err);
    PrintGuest(reply.guest(), out);
    return 0;
  }
  // <umid> <mconsole command...>, printed as uml_mconsole prints replies.
  if (rest.empty() || absl::StartsWith(verb, "-")) {
    err << kUsage;
    return 2;
  }
  grpc::ClientContext context;
  host::MconsoleRequest request;
  request.set_umid(verb);
  request.set_command(absl::StrJoin(rest, " "));
  host::MconsoleReply reply;
  grpc::Status s = stub->Mconsole(&context, request, &reply);
  if (!s.ok()) return Failed(s, err);
  out << (reply.err() == 0 ? "OK " : "ERR ") << reply.text() << "\n";
  return reply.err() == 0 ? 0 : 1;
}

}  // namespace kuml::kumld
