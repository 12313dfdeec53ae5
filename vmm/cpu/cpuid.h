// The CPUID table a guest vCPU sees.
//
// It starts from KVM_GET_SUPPORTED_CPUID (what this KVM can virtualize), adds
// the per-vCPU topology, and on a software-assisted KVM clears the features
// whose instructions that KVM's ring-0 emulator refuses (kCpuidQuirks: one
// entry per feature, each with its reason). Linux checks CPUID before it uses
// any of them, so clearing the bit keeps the guest kernel away from them.
#ifndef KUML_VMM_CPU_CPUID_H_
#define KUML_VMM_CPU_CPUID_H_

#include <linux/kvm.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "vmm/cpu/host_kvm.h"

namespace kuml {

enum class CpuidRegister { kEax, kEbx, kEcx, kEdx };

// One CPUID feature bit cleared on a software-assisted KVM.
struct CpuidQuirk {
  uint32_t function;
  uint32_t index;  // sub-leaf
  CpuidRegister reg;
  int bit;
  const char* feature;
  const char* reason;
};

// The table, documented entry by entry in cpuid.cc.
absl::Span<const CpuidQuirk> SoftwareKvmCpuidQuirks();

// Guest kernel arguments that make a Linux guest clear the same features
// itself ("noxsave", "clearcpuid=cx16,popcnt,smap"), for a software-assisted
// KVM only. Needed because a newer kvm_pvm (host kernel 6.18, measured
// 2026-11-25) shows the guest the host's own CPUID for these bits whatever
// KVM_SET_CPUID2 said: the default guest then saw XSAVE and died on its
// first ring-0 xrstor. Linux applies both before it patches alternatives.
// Other guests ignore them.
std::vector<std::string> SoftwareKvmGuestKernelArgs();

// kuml's own CPUID leaf: eax = the leaf itself, ebx/ecx/edx = "KUML" each.
// The default guest kernel looks for it before it uses kuml's power-off and
// panic ports (guest/patches/0002-*).
constexpr uint32_t kKumlCpuidLeaf = 0x40000100;
constexpr uint32_t kKumlCpuidSignature = 0x4c4d554b;  // "KUML"

struct GuestCpuidOptions {
  uint32_t vcpu_id = 0;
  uint32_t num_vcpus = 1;
  KvmFlavor flavor = KvmFlavor::kHardware;
};

std::vector<kvm_cpuid_entry2> BuildGuestCpuid(
    const std::vector<kvm_cpuid_entry2>& supported,
    const GuestCpuidOptions& options);

// Finds an entry (nullptr when absent).
const kvm_cpuid_entry2* FindCpuid(const std::vector<kvm_cpuid_entry2>& table,
                                  uint32_t function, uint32_t index = 0);

}  // namespace kuml

#endif  // KUML_VMM_CPU_CPUID_H_
