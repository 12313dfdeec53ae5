// What kind of KVM this host offers, and what that means for guests.
//
// A hardware KVM (VT-x / AMD-V) runs guest code natively. A software-assisted
// KVM (Linux's kvm_pvm, found on hosts that are themselves VMs without nested
// virtualization) runs guest ring-3 code natively but emulates guest ring-0
// code instruction by instruction: slow, and some instructions are refused.
// See ../shared/reference/kvm-here.md for the measurements.
#ifndef KUML_VMM_CPU_HOST_KVM_H_
#define KUML_VMM_CPU_HOST_KVM_H_

#include <string>

namespace kuml {

enum class KvmFlavor {
  kHardware,
  kSoftwareAssisted,
};

// Decides from the host's CPU flags: without a vmx or svm flag in `cpuinfo`
// the KVM behind /dev/kvm cannot be hardware-backed (on the hosts we know it
// is kvm_pvm), so it must be emulating guest ring 0.
KvmFlavor DetectKvmFlavor(const std::string& cpuinfo_path = "/proc/cpuinfo");

const char* KvmFlavorName(KvmFlavor flavor);

}  // namespace kuml

#endif  // KUML_VMM_CPU_HOST_KVM_H_
