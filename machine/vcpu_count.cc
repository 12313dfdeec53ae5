#include "machine/vcpu_count.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "vmm/boot/kernel_config.h"

namespace kuml {

VcpuLimits ReadVcpuLimits(const Kvm& kvm, const std::string& kernel_path) {
  VcpuLimits limits;
  int recommended = kvm.CheckExtension(KVM_CAP_NR_VCPUS);
  if (recommended <= 0) recommended = 4;  // KVM API: "assume 4"
  int max = kvm.CheckExtension(KVM_CAP_MAX_VCPUS);
  if (max <= 0) max = recommended;
  limits.host_recommended = recommended;
  limits.host_max = max;
  if (std::optional<std::string> path = KernelConfigPath(kernel_path)) {
    std::ifstream in(*path);
    std::stringstream text;
    text << in.rdbuf();
    const std::string config = "\n" + text.str();
    if (config.find("\nCONFIG_SMP=y\n") == std::string::npos) {
      limits.kernel_max = 1;
    } else if (std::optional<int64_t> nr =
                   KernelConfigNumber(config, "CONFIG_NR_CPUS")) {
      limits.kernel_max = static_cast<int>(*nr);
    }
  }
  return limits;
}

absl::Status CheckVcpuCount(uint32_t ncpus, const VcpuLimits& limits,
                            std::vector<std::string>* warnings) {
  const std::string arg = absl::StrCat("ncpus=", ncpus);
  if (limits.kernel_max.has_value() &&
      static_cast<int64_t>(ncpus) > *limits.kernel_max) {
    return absl::InvalidArgumentError(absl::StrCat(
        arg, ": the guest kernel runs at most ", *limits.kernel_max,
        *limits.kernel_max == 1 ? " CPU (built without CONFIG_SMP)"
                                : " CPUs (its CONFIG_NR_CPUS)"));
  }
  if (static_cast<int64_t>(ncpus) > limits.host_max) {
    return absl::InvalidArgumentError(
        absl::StrCat(arg, ": this host's KVM allows at most ", limits.host_max,
                     " vCPUs per guest (KVM_CAP_MAX_VCPUS)"));
  }
  if (ncpus > 1 && !limits.kernel_max.has_value()) {
    warnings->push_back(absl::StrCat(
        arg,
        ": no kernel configuration beside the kernel, so kuml cannot "
        "check its CPU limit; a kernel built for fewer CPUs ignores the rest"));
  }
  if (static_cast<int64_t>(ncpus) > limits.host_recommended) {
    warnings->push_back(absl::StrCat(arg, ": more vCPUs than this host's ",
                                     limits.host_recommended,
                                     " CPUs; they will share them"));
  }
  return absl::OkStatus();
}

}  // namespace kuml
