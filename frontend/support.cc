#include "frontend/support.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace kuml {
namespace {

using Uses = std::vector<std::string>;

// eth<n>= is supported (machine/net_factory.h refuses the obsolete transports
// with its own message), and so is vec<n>:transport=tap.
void FindVec(const MachineSpec& spec, Uses& uses) {
  for (const auto& [index, vec] : spec.vec) {
    if (vec.transport != VecTransportType::kTap) {
      uses.push_back(vec.switch_text);
    }
  }
}

void FindHostfs(const MachineSpec& spec, Uses& uses) {
  if (spec.hostfs.has_value()) uses.push_back(spec.hostfs->switch_text);
}

void FindIomem(const MachineSpec& spec, Uses& uses) {
  for (const IomemSpec& iomem : spec.iomem) uses.push_back(iomem.switch_text);
}

void FindVirtioUml(const MachineSpec& spec, Uses& uses) {
  for (const std::string& text : spec.virtio_uml_devices) {
    uses.push_back(text);
  }
}

struct MissingFeature {
  absl::string_view what;  // for readers of this table
  void (*find)(const MachineSpec&, Uses&);
};

// One entry per feature the VMM lacks. Delete an entry when it lands.
constexpr MissingFeature kMissingFeatures[] = {
    {"vec<n>: vector transports other than tap", FindVec},
    {"hostfs=", FindHostfs},
    {"iomem=", FindIomem},
    {"virtio_uml.device=", FindVirtioUml},
};

}  // namespace

std::vector<std::string> UnsupportedSwitches(const MachineSpec& spec) {
  Uses uses;
  for (const MissingFeature& feature : kMissingFeatures) {
    Uses found;
    feature.find(spec, found);
    for (std::string& text : found) {
      // con=pts reaches many lines, and a disk may break several rules:
      // name each switch once.
      if (std::find(uses.begin(), uses.end(), text) == uses.end()) {
        uses.push_back(std::move(text));
      }
    }
  }
  return uses;
}

absl::Status CheckSupported(const MachineSpec& spec) {
  const std::vector<std::string> uses = UnsupportedSwitches(spec);
  if (uses.empty()) return absl::OkStatus();
  return absl::UnimplementedError(
      absl::StrCat("not supported yet: ", absl::StrJoin(uses, " ")));
}

}  // namespace kuml
