// Runs a test payload (tests/payloads) in a real KVM machine and collects
// what it printed on ttyS0 and why the machine stopped.
#ifndef KUML_TESTS_PAYLOAD_RUNNER_H_
#define KUML_TESTS_PAYLOAD_RUNNER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "disk/block_backend.h"
#include "machine/machine.h"

namespace kuml {

struct PayloadRun {
  MachineStop stop;
  std::string console;  // everything the guest wrote to ttyS0
  uint64_t exits = 0;
  double seconds = 0;  // Machine::Run() wall time
};

// A virtio disk for a payload: the raw image at `path`, opened by the runner,
// or `backend` when the test opened one itself (`path` then only names it).
struct PayloadDisk {
  std::string path;
  bool read_only = false;
  std::string serial;  // virtio-blk GET_ID string (<= 20 bytes)
  std::shared_ptr<BlockBackend> backend;
};

// Path of payload `name` ("hello") in the test's runfiles.
std::string PayloadPath(const std::string& name);

absl::StatusOr<PayloadRun> RunPayload(const std::string& name,
                                      std::vector<PayloadDisk> disks = {},
                                      uint64_t mem_bytes = 64ull << 20);

}  // namespace kuml

#endif  // KUML_TESTS_PAYLOAD_RUNNER_H_
