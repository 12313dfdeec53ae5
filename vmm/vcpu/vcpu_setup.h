// Puts a freshly created vCPU into the state a kernel expects at its entry:
// CPUID, MSRs, FPU, local APIC wiring, and (for the boot vCPU) the registers
// of the boot protocol.
#ifndef KUML_VMM_VCPU_VCPU_SETUP_H_
#define KUML_VMM_VCPU_VCPU_SETUP_H_

#include <linux/kvm.h>

#include <vector>

#include "absl/status/status.h"
#include "vmm/boot/cpu_state.h"
#include "vmm/cpu/host_kvm.h"
#include "vmm/kvm/kvm.h"

namespace kuml {

struct VcpuSetup {
  const std::vector<kvm_cpuid_entry2>* supported_cpuid = nullptr;
  uint32_t num_vcpus = 1;
  KvmFlavor flavor = KvmFlavor::kHardware;
};

// CPUID, MSRs, FPU and LAPIC LINT0/LINT1 for any vCPU.
absl::Status ConfigureVcpu(Vcpu& vcpu, const VcpuSetup& setup);

// The boot vCPU's registers from the loader's BootCpuState.
absl::Status ApplyBootState(Vcpu& vcpu, const BootCpuState& state);

// The conversion itself, kept apart so it can be tested without KVM.
void BootStateToKvm(const BootCpuState& state, kvm_regs* regs,
                    kvm_sregs* sregs);

}  // namespace kuml

#endif  // KUML_VMM_VCPU_VCPU_SETUP_H_
