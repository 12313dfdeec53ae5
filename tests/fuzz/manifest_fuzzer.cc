// libFuzzer target: kumld's fleet manifest (kumld/manifest.cc): protobuf
// text format (proto/host.proto Manifest), template expansion with {i} and
// {umid}, cgroup limit texts, and every kuml guest command line checked by
// kuml's own parser (frontend/).
//
// Input: the manifest text, as is (inputs of odd length are parsed with a
// context that sets uml_dir, so both paths run). Also MemoryMaxText and
// CpuMaxText on the input's first line.
// Checks beyond ASan/UBSan: errors are InvalidArgument and start with the
// file name; a parsed manifest has at least one guest, unique umids, and
// every argv starts with the VMM and carries umid=<umid>.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "kumld/manifest.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuml;         // NOLINT
  using namespace kuml::fuzz;   // NOLINT
  using namespace kuml::kumld;  // NOLINT
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  ManifestContext context;
  context.name = "fleet.textproto";
  context.base_dir = "/srv/fleet";
  context.default_vmm = "/opt/kuml/bin/kuml";
  if (size % 2) context.uml_dir = "/run/kumld/uml";

  absl::StatusOr<std::vector<GuestSpec>> guests = ParseManifest(text, context);
  if (Debug()) {
    std::fprintf(stderr, "%s\n",
                 guests.ok() ? absl::StrCat(guests->size(), " guests").c_str()
                             : guests.status().ToString().c_str());
  }
  if (!guests.ok()) {
    Check(guests.status().code() == absl::StatusCode::kInvalidArgument);
    Check(absl::StartsWith(guests.status().message(), "fleet.textproto:"));
  } else {
    Check(!guests->empty());
    std::set<std::string> umids;
    for (const GuestSpec& g : *guests) {
      Check(umids.insert(g.umid).second);
      Check(g.argv.size() >= 2 && !g.argv[0].empty());
      bool has_umid = false;
      for (const std::string& a : g.argv) {
        has_umid = has_umid || a == absl::StrCat("umid=", g.umid);
      }
      Check(has_umid);
      Check(!g.workdir.empty());
    }
  }

  const absl::string_view line = text.substr(0, text.find('\n'));
  absl::StatusOr<std::string> mem = MemoryMaxText(line);
  if (!mem.ok()) {
    Check(mem.status().code() == absl::StatusCode::kInvalidArgument);
  }
  absl::StatusOr<std::string> cpu = CpuMaxText(line);
  if (!cpu.ok()) {
    Check(cpu.status().code() == absl::StatusCode::kInvalidArgument);
  }
  return 0;
}
