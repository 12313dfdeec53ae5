// kumld: runs a fleet of kuml guests on this host and serves the Host gRPC
// service on a unix socket (see kumld/README.md).
//
//   kumld [--socket=PATH] [--state_dir=DIR] [--log_dir=DIR] [--uml_dir=DIR]
//         [--kuml=PATH] [--cgroup_parent=DIR]
//
// Stopping kumld leaves the guests running; the next kumld re-adopts them.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "kumld/fleet.h"
#include "kumld/host_service.h"
#include "kumld/paths.h"
#include "util/unique_fd.h"

ABSL_FLAG(std::string, socket, "",
          "the Host gRPC service's unix socket (default: $KUMLD_SOCKET, "
          "else ~/.uml/kumld.sock)");
ABSL_FLAG(std::string, state_dir, "",
          "kumld's own state (default: <uml_dir>/kumld.d)");
ABSL_FLAG(std::string, log_dir, "",
          "the guests' console logs (default: <state_dir>/log)");
ABSL_FLAG(std::string, uml_dir, "",
          "the guests' umid directories, as kuml's uml_dir= (default: ~/.uml)");
ABSL_FLAG(std::string, kuml, "",
          "the VMM to run (default: $KUML_BIN, else the kuml beside kumld, "
          "else kuml on PATH)");
ABSL_FLAG(uint64_t, log_max_mib, 16,
          "a guest's console log is rotated (to <umid>.log.1) past this many "
          "MiB");
ABSL_FLAG(std::string, cgroup_parent, "/sys/fs/cgroup/kumld",
          "the cgroup v2 directory the guests' cgroups go under (empty: "
          "none)");

namespace kuml::kumld {
namespace {

constexpr const char* kUsage =
    "runs a fleet of kuml guests and serves the Host gRPC service.\n"
    "usage: kumld [--socket=PATH] [--state_dir=DIR] [--log_dir=DIR] "
    "[--uml_dir=DIR] [--kuml=PATH] [--cgroup_parent=DIR (empty: none)] "
    "[--log_max_mib=N]";

void Say(const std::string& s) { std::cerr << "kumld: " << s << std::endl; }

std::string ExeDir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string path(buf, n);
  return path.substr(0, path.rfind('/'));
}

// $KUML_BIN, else a kuml beside kumld (out/bin/, or Bazel's bazel-bin/cli/),
// else kuml on PATH.
std::string DefaultKuml() {
  if (const char* env = getenv("KUML_BIN"); env != nullptr && *env != '\0') {
    return env;
  }
  std::string dir = ExeDir();
  const std::string beside = dir + "/kuml";
  if (access(beside.c_str(), X_OK) == 0) {
    char real[PATH_MAX];
    return realpath(beside.c_str(), real) != nullptr ? real : beside;
  }
  return "kuml";
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    Say(absl::StrCat("unknown argument '", rest[1], "'"));
    std::cerr << kUsage << "\n";
    return 2;
  }
  FleetOptions options;
  const std::string uml_dir = absl::GetFlag(FLAGS_uml_dir);
  options.paths.uml_dir = uml_dir.empty() ? DefaultUmlDir() : uml_dir;
  const std::string state_dir = absl::GetFlag(FLAGS_state_dir);
  options.paths.state_dir =
      state_dir.empty() ? options.paths.uml_dir + "/kumld.d" : state_dir;
  const std::string log_dir = absl::GetFlag(FLAGS_log_dir);
  options.paths.log_dir =
      log_dir.empty() ? options.paths.state_dir + "/log" : log_dir;
  const std::string kuml = absl::GetFlag(FLAGS_kuml);
  options.kuml_binary = kuml.empty() ? DefaultKuml() : kuml;
  options.cgroup_parent = absl::GetFlag(FLAGS_cgroup_parent);
  options.log_max_bytes = absl::GetFlag(FLAGS_log_max_mib) << 20;
  std::string socket = absl::GetFlag(FLAGS_socket);
  if (socket.empty()) socket = DefaultSocketPath();

  // Block the stop signals before any thread starts; one thread takes them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&stop_signals, s);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> messages;
  absl::StatusOr<std::unique_ptr<Fleet>> fleet =
      Fleet::Create(options, &messages);
  if (!fleet.ok()) {
    Say(std::string(fleet.status().message()));
    return 1;
  }
  // One kumld per state directory.
  std::string lock_path = options.paths.state_dir + "/kumld.lock";
  UniqueFd lock(open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock || flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    Say("another kumld is running with state directory " +
        options.paths.state_dir);
    return 1;
  }
  for (const std::string& m : messages) Say(m);

  unlink(socket.c_str());  // a stale one: the lock says no kumld owns it
  HostService service(fleet->get());
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  mode_t old_mask = umask(077);  // owner-only from the first moment
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  umask(old_mask);
  if (server == nullptr) {
    Say("cannot serve on unix:" + socket);
    return 1;
  }
  chmod(socket.c_str(), 0600);
  Say("serving on unix:" + socket + "; VMM " + options.kuml_binary +
      "; console logs in " + options.paths.log_dir);

  std::thread loop([&] { (*fleet)->Run(); });
  int sig = 0;
  sigwait(&stop_signals, &sig);
  Say(absl::StrCat("signal ", sig, ": stopping; the guests keep running"));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  (*fleet)->Shutdown();
  loop.join();
  unlink(socket.c_str());
  return 0;
}

}  // namespace
}  // namespace kuml::kumld

int main(int argc, char** argv) { return kuml::kumld::Main(argc, argv); }
