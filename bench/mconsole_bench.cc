// mconsole latencies, figures side by side in one run:
//   mconsole_bench doors [N]            round trip of `version` through the
//                                       legacy datagram door (raw client, as
//                                       uml_mconsole sends it) and the gRPC
//                                       door (C++ stub), same core, fake guest
//   mconsole_bench socket <path> [N]   round trip of `version` to a running
//                                       guest's mconsole socket: a whole kuml
//                                       process or the real UML, same client
//   mconsole_bench stop <payload> [N]   stop-to-parked: Machine::Pause() on
//                                       the counter payload (needs a KVM), and
//                                       go for comparison
// Prints p50 / p99 / max in microseconds.
#include <grpcpp/grpcpp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "machine/machine.h"
#include "mconsole/fake_guest_control.h"
#include "mconsole/grpc_service.h"
#include "mconsole/legacy_server.h"
#include "proto/kuml.grpc.pb.h"
#include "vmm/cpu/host_kvm.h"
#include "vmm/kvm/kvm.h"

ABSL_FLAG(std::string, mode, "doors",
          "doors: both doors of one process over a fake guest; socket: the "
          "legacy socket --target of a running kuml or UML; stop: stop/go "
          "of a Machine running payload --target");
ABSL_FLAG(std::string, target, "", "the socket (socket) or payload (stop)");
ABSL_FLAG(int, count, 0,
          "round trips (default 2000; stop/go pairs for stop: 200)");

constexpr char kUsage[] =
    "usage: mconsole_bench [--mode=doors] [--count=N] | --mode=socket "
    "--target=<mconsole socket> [--count=N] | --mode=stop "
    "--target=<payload> [--count=N]";

namespace kuml::mconsole {
namespace {

using Clock = std::chrono::steady_clock;

void Report(const char* what, std::vector<double> us) {
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    return us[static_cast<size_t>(q * (us.size() - 1))];
  };
  std::printf("%-34s n=%zu  p50 %8.1f us  p99 %8.1f us  max %8.1f us\n", what,
              us.size(), at(0.5), at(0.99), us.back());
}

double Since(Clock::time_point t) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t).count();
}

// A raw legacy-protocol client, as uml_mconsole is: bound to an abstract
// address (the server replies to it), sending full 524-byte requests to
// `path`. Times `n` round trips of `version` after 100 of warm-up; false
// when a request gets no answer within 5 s.
bool TimeVersionRoundTrips(const std::string& path, int n,
                           std::vector<double>* us) {
  sockaddr_un to{};
  to.sun_family = AF_UNIX;
  if (path.size() >= sizeof(to.sun_path)) {
    std::fprintf(stderr, "socket path too long: %s\n", path.c_str());
    return false;
  }
  memcpy(to.sun_path, path.data(), path.size());
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un self{};
  self.sun_family = AF_UNIX;
  std::string name = "kuml-bench-" + std::to_string(getpid());
  memcpy(self.sun_path + 1, name.data(), name.size());
  bind(fd, reinterpret_cast<sockaddr*>(&self),
       sizeof(sa_family_t) + 1 + name.size());
  timeval limit{5, 0};  // a guest that does not answer ends the run
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  std::string request = EncodeRequest("version");
  char buf[600];
  for (int i = 0; i < n + 100; ++i) {
    auto t = Clock::now();
    if (sendto(fd, request.data(), request.size(), 0,
               reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0 ||
        recv(fd, buf, sizeof(buf), 0) <= 0) {
      std::fprintf(stderr, "no answer from %s after %d requests\n",
                   path.c_str(), i);
      close(fd);
      return false;
    }
    if (i >= 100) us->push_back(Since(t));  // after warm-up
  }
  close(fd);
  return true;
}

int Doors(int n) {
  std::string dir = "/tmp/kuml-bench-" + std::to_string(getpid());
  mkdir(dir.c_str(), 0700);
  FakeGuestControl control;
  CommandCore core(&control);
  auto legacy = LegacyServer::Start(dir + "/mconsole", &core);
  auto grpc_door = GrpcDoor::Start(dir + "/grpc", &core);
  if (!legacy.ok() || !grpc_door.ok()) {
    std::fprintf(stderr, "cannot start the doors\n");
    return 1;
  }
  std::vector<double> legacy_us, grpc_us;
  if (!TimeVersionRoundTrips(dir + "/mconsole", n, &legacy_us)) return 1;
  auto channel = grpc::CreateChannel("unix:" + dir + "/grpc",
                                     grpc::InsecureChannelCredentials());
  v1::MConsole::Stub stub(channel);
  for (int i = 0; i < n + 100; ++i) {
    grpc::ClientContext context;
    v1::VersionReply reply;
    auto t = Clock::now();
    grpc::Status s = stub.Version(&context, {}, &reply);
    if (!s.ok()) {
      std::fprintf(stderr, "gRPC: %s\n", s.error_message().c_str());
      return 1;
    }
    if (i >= 100) grpc_us.push_back(Since(t));
  }
  Report("version, legacy datagram door", legacy_us);
  Report("version, gRPC door (unix socket)", grpc_us);
  std::printf("ratio gRPC/legacy p50: %.2f\n", [&] {
    std::sort(legacy_us.begin(), legacy_us.end());
    std::sort(grpc_us.begin(), grpc_us.end());
    return grpc_us[grpc_us.size() / 2] / legacy_us[legacy_us.size() / 2];
  }());
  (*legacy).reset();
  (*grpc_door).reset();
  rmdir(dir.c_str());
  return 0;
}

// The same raw client as Doors(), against any UML-protocol socket. A reply
// may come in several packets; `version` is one.
int Socket(const std::string& path, int n) {
  std::vector<double> us;
  if (!TimeVersionRoundTrips(path, n, &us)) return 1;
  Report("version, this guest's socket", us);
  return 0;
}

int Stop(const std::string& payload, int n) {
  absl::StatusOr<Kvm> kvm = Kvm::Open();
  if (!kvm.ok()) {
    std::fprintf(stderr, "%s\n", std::string(kvm.status().message()).c_str());
    return 1;
  }
  MachineConfig config;
  config.kernel_path = payload;
  auto machine = Machine::Create(*kvm, DetectKvmFlavor(), config);
  if (!machine.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(machine.status().message()).c_str());
    return 1;
  }
  Machine* m = machine->get();
  std::thread runner([m] { m->Run(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::vector<double> stop_us, go_us;
  for (int i = 0; i < n; ++i) {
    auto t = Clock::now();
    absl::Status s = m->Pause();
    stop_us.push_back(Since(t));
    if (!s.ok()) {
      std::fprintf(stderr, "pause: %s\n", std::string(s.message()).c_str());
      break;
    }
    t = Clock::now();
    (void)m->Resume();
    go_us.push_back(Since(t));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  m->RequestStop(StopReason::kHalt, "bench over");
  runner.join();
  Report("stop: vCPU parked + disks flushed", stop_us);
  Report("go: gate opened", go_us);
  return 0;
}

}  // namespace
}  // namespace kuml::mconsole

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  absl::ParseCommandLine(argc, argv);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  const std::string target = absl::GetFlag(FLAGS_target);
  const int count = absl::GetFlag(FLAGS_count);
  if (mode == "doors") {
    return kuml::mconsole::Doors(count > 0 ? count : 2000);
  }
  if (mode == "socket" && !target.empty()) {
    return kuml::mconsole::Socket(target, count > 0 ? count : 2000);
  }
  if (mode == "stop" && !target.empty()) {
    return kuml::mconsole::Stop(target, count > 0 ? count : 200);
  }
  std::fprintf(stderr, "%s\n", kUsage);
  return 2;
}
