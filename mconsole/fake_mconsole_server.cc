// Serves both mconsole doors over a FakeGuestControl, for clients written in
// other languages (tests/node) and for benchmarks of the doors themselves:
//   fake_mconsole_server <uml_dir> <umid>
// prints "ready" once <uml_dir>/<umid>/{mconsole,grpc} answer, and runs until
// its stdin closes.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "mconsole/fake_guest_control.h"
#include "mconsole/grpc_service.h"
#include "mconsole/legacy_server.h"
#include "mconsole/umid_dir.h"

int main(int argc, char** argv) {
  using namespace kuml::mconsole;
  if (argc != 3) {
    std::cerr << "usage: fake_mconsole_server <uml_dir> <umid>\n";
    return 2;
  }
  auto dir = UmidDir::Create(argv[1], argv[2]);
  if (!dir.ok()) {
    std::cerr << dir.status() << "\n";
    return 1;
  }
  FakeGuestControl control;
  CommandCore core(&control);
  auto legacy = LegacyServer::Start((*dir)->File("mconsole"), &core);
  auto grpc = GrpcDoor::Start((*dir)->File("grpc"), &core);
  if (!legacy.ok() || !grpc.ok()) {
    std::cerr << legacy.status() << " " << grpc.status() << "\n";
    return 1;
  }
  std::cout << "ready" << std::endl;
  char buf[256];
  while (read(0, buf, sizeof(buf)) > 0) {
  }
  return 0;
}
