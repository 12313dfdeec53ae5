// Manifest: the text-format file that names a fleet (proto/host.proto,
// message Manifest; documented in kumld/README.md) -> one GuestSpec per
// guest, templates expanded and {i} / {umid} substituted.
//
// Every error is InvalidArgument and names the place: "<file>:<line>:
// guest[1].cmdline: mem=lots: ...", so a bad manifest is fixed in one look.
// Pure apart from nothing: no files are read or created here.
#ifndef KUML_KUMLD_MANIFEST_H_
#define KUML_KUMLD_MANIFEST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/host.pb.h"

namespace kuml::kumld {

struct CgroupLimits {
  std::string
      memory_max;       // the memory.max text ("100663296", "max"); empty: none
  std::string cpu_max;  // the cpu.max text ("50000 100000"); empty: none
  bool empty() const { return memory_max.empty() && cpu_max.empty(); }
};

struct FileCopy {
  std::string path;
  std::string copy_of;
};

// Everything kumld needs to run one guest.
struct GuestSpec {
  std::string umid;
  std::vector<std::string> argv;  // argv[0] is the VMM; ends with umid=<umid>
  std::string workdir;
  host::RestartPolicy restart = host::NEVER;
  CgroupLimits limits;
  std::vector<FileCopy> prepare;
  std::string ready_pattern;
  int64_t stop_timeout_ms = 10000;
  int64_t backoff_ms = 1000;
  int64_t backoff_max_ms = 30000;
};

struct ManifestContext {
  std::string name;         // the file name used in messages
  std::string base_dir;     // default workdir; relative paths resolve here
  std::string default_vmm;  // the kuml binary
  // When set, every guest gets uml_dir=<this> unless it names its own, so
  // its <umid>/ directory lands where kumld looks.
  std::string uml_dir;
};

// Parses and expands a manifest. The kuml command line of every guest whose
// VMM is kuml is checked with kuml's own parser.
absl::StatusOr<std::vector<GuestSpec>> ParseManifest(
    absl::string_view text, const ManifestContext& context);

// cgroup v2 texts from the manifest's forms: "96M" -> "100663296",
// "50%" -> "50000 100000", "max" stays.
absl::StatusOr<std::string> MemoryMaxText(absl::string_view value);
absl::StatusOr<std::string> CpuMaxText(absl::string_view value);

}  // namespace kuml::kumld

#endif  // KUML_KUMLD_MANIFEST_H_
