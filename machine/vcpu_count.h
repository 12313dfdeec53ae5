// ncpus= (UML's SMP switch) against what can actually run it: the host's
// KVM (KVM_CAP_MAX_VCPUS) and the guest kernel (CONFIG_SMP, CONFIG_NR_CPUS
// from the configuration kept beside it, vmm/boot/kernel_config.h). Checked
// before anything is built, so a count nothing can run is a clear error and
// not a guest that silently ignores some of its CPUs (Linux drops MP table
// entries past NR_CPUS, and the extra vCPUs would wait for a SIPI forever).
#ifndef KUML_MACHINE_VCPU_COUNT_H_
#define KUML_MACHINE_VCPU_COUNT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "vmm/kvm/kvm.h"

namespace kuml {

struct VcpuLimits {
  int host_max = 1;          // KVM_CAP_MAX_VCPUS: KVM refuses more
  int host_recommended = 1;  // KVM_CAP_NR_VCPUS: the host's CPUs
  // From the kernel's configuration; nullopt when it is not beside the
  // kernel (a foreign kernel: then kuml cannot tell).
  std::optional<int> kernel_max;
};

// What the KVM says (KVM's documented fallbacks when a capability is
// missing: MAX_VCPUS = NR_VCPUS, NR_VCPUS = 4) and what the kernel's
// configuration says (1 without CONFIG_SMP).
VcpuLimits ReadVcpuLimits(const Kvm& kvm, const std::string& kernel_path);

// OK for a count within every limit; InvalidArgument naming ncpus= and the
// limit otherwise. Adds warnings for a count above the host's CPUs (they
// will share them) and for a kernel whose limit is unknown.
absl::Status CheckVcpuCount(uint32_t ncpus, const VcpuLimits& limits,
                            std::vector<std::string>* warnings);

}  // namespace kuml

#endif  // KUML_MACHINE_VCPU_COUNT_H_
