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
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "kumld/fleet.h"
#include "kumld/host_service.h"
#include "kumld/paths.h"
#include "util/unique_fd.h"

namespace kuml::kumld {
namespace {

constexpr const char* kUsage =
    "usage: kumld [--socket=PATH] [--state_dir=DIR] [--log_dir=DIR] "
    "[--uml_dir=DIR] [--kuml=PATH] [--cgroup_parent=DIR (empty: none)]\n";

void Say(const std::string& s) { std::cerr << "kumld: " << s << std::endl; }

std::string ExeDir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string path(buf, n);
  return path.substr(0, path.rfind('/'));
}

// $KUML_BIN, else a kuml beside kumld (out/bin/), else in Bazel's tree
// (bazel-bin/kumld/ -> bazel-bin/cli/kuml), else kuml on PATH.
std::string DefaultKuml() {
  if (const char* env = getenv("KUML_BIN"); env != nullptr && *env != '\0') {
    return env;
  }
  std::string dir = ExeDir();
  for (const std::string& p : {dir + "/kuml", dir + "/../cli/kuml"}) {
    if (access(p.c_str(), X_OK) == 0) {
      char real[PATH_MAX];
      return realpath(p.c_str(), real) != nullptr ? real : p;
    }
  }
  return "kuml";
}

int Main(int argc, char** argv) {
  std::map<std::string, std::string> flags = {
      {"socket", DefaultSocketPath()},
      {"state_dir", ""},
      {"log_dir", ""},
      {"uml_dir", DefaultUmlDir()},
      {"kuml", ""},
      {"cgroup_parent", "/sys/fs/cgroup/kumld"},
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
    size_t eq = a.find('=');
    std::string name = absl::StartsWith(a, "--") && eq != std::string::npos
                           ? a.substr(2, eq - 2)
                           : "";
    if (name.empty() || flags.count(name) == 0) {
      Say("unknown argument '" + a + "'");
      std::cerr << kUsage;
      return 2;
    }
    flags[name] = a.substr(eq + 1);
  }
  FleetOptions options;
  options.paths.uml_dir = flags["uml_dir"];
  options.paths.state_dir = flags["state_dir"].empty()
                                ? options.paths.uml_dir + "/kumld.d"
                                : flags["state_dir"];
  options.paths.log_dir = flags["log_dir"].empty()
                              ? options.paths.state_dir + "/log"
                              : flags["log_dir"];
  options.kuml_binary = flags["kuml"].empty() ? DefaultKuml() : flags["kuml"];
  options.cgroup_parent = flags["cgroup_parent"];

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

  const std::string& socket = flags["socket"];
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
