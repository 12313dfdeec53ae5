#include "vmm/cpu/cpuid.h"

#include "absl/strings/str_cat.h"

namespace kuml {
namespace {

// Features cleared on a software-assisted KVM. The minimal set found on the
// kvm_pvm hosts (../shared/reference/kvm-here.md) is cx16 — the only one of
// these its KVM_GET_SUPPORTED_CPUID still offers; the others are listed so a
// host whose table does offer them cannot lead the guest into them.
constexpr CpuidQuirk kQuirks[] = {
    {1, 0, CpuidRegister::kEcx, 13, "cx16",
     "Linux then uses `lock cmpxchg16b` in ring 0 (SLUB's double-word "
     "cmpxchg); the emulator refuses it"},
    {1, 0, CpuidRegister::kEcx, 26, "xsave",
     "Linux then saves FPU state with xsave/xrstor in ring 0; refused"},
    {1, 0, CpuidRegister::kEcx, 27, "osxsave",
     "mirrors xsave; must not be set without it"},
    {1, 0, CpuidRegister::kEcx, 23, "popcnt",
     "Linux's hweight helpers then use popcnt in ring 0; refused"},
    {7, 0, CpuidRegister::kEbx, 20, "smap",
     "Linux then runs clac/stac around user accesses; clac is refused"},
};

uint32_t* Register(kvm_cpuid_entry2& e, CpuidRegister reg) {
  switch (reg) {
    case CpuidRegister::kEax:
      return &e.eax;
    case CpuidRegister::kEbx:
      return &e.ebx;
    case CpuidRegister::kEcx:
      return &e.ecx;
    case CpuidRegister::kEdx:
      return &e.edx;
  }
  return &e.eax;
}

constexpr int kLeaf1EcxHypervisor = 31;
constexpr int kLeaf1EdxHtt = 28;

}  // namespace

absl::Span<const CpuidQuirk> SoftwareKvmCpuidQuirks() { return kQuirks; }

std::vector<std::string> SoftwareKvmGuestKernelArgs() {
  // From the quirk table: xsave has its own switch (which also drops every
  // feature that depends on it), osxsave follows xsave, the rest go to
  // clearcpuid= by their /proc/cpuinfo names.
  std::vector<std::string> args;
  std::string clear;
  for (const CpuidQuirk& q : kQuirks) {
    std::string feature = q.feature;
    if (feature == "xsave") {
      args.push_back("noxsave");
    } else if (feature != "osxsave") {
      absl::StrAppend(&clear, clear.empty() ? "" : ",", feature);
    }
  }
  if (!clear.empty()) args.push_back(absl::StrCat("clearcpuid=", clear));
  return args;
}

const kvm_cpuid_entry2* FindCpuid(const std::vector<kvm_cpuid_entry2>& table,
                                  uint32_t function, uint32_t index) {
  for (const kvm_cpuid_entry2& e : table) {
    bool indexed = e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
    if (e.function == function && (!indexed || e.index == index)) return &e;
  }
  return nullptr;
}

std::vector<kvm_cpuid_entry2> BuildGuestCpuid(
    const std::vector<kvm_cpuid_entry2>& supported,
    const GuestCpuidOptions& options) {
  std::vector<kvm_cpuid_entry2> table = supported;
  for (kvm_cpuid_entry2& e : table) {
    switch (e.function) {
      case 1:
        // Initial APIC id and the logical processor count of the package.
        e.ebx = (e.ebx & 0x0000ffff) | (options.vcpu_id << 24) |
                ((options.num_vcpus & 0xff) << 16);
        e.ecx |= 1u << kLeaf1EcxHypervisor;
        if (options.num_vcpus > 1) {
          e.edx |= 1u << kLeaf1EdxHtt;
        } else {
          e.edx &= ~(1u << kLeaf1EdxHtt);
        }
        break;
      case 0xb:
      case 0x1f:
        // x2APIC topology: the vCPU's x2APIC id in every sub-leaf.
        e.edx = options.vcpu_id;
        break;
      default:
        break;
    }
  }
  kvm_cpuid_entry2 kuml{};
  kuml.function = kKumlCpuidLeaf;
  kuml.eax = kKumlCpuidLeaf;
  kuml.ebx = kuml.ecx = kuml.edx = kKumlCpuidSignature;
  table.push_back(kuml);
  if (options.flavor == KvmFlavor::kSoftwareAssisted) {
    for (const CpuidQuirk& q : kQuirks) {
      for (kvm_cpuid_entry2& e : table) {
        bool indexed = e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
        if (e.function == q.function && (!indexed || e.index == q.index)) {
          *Register(e, q.reg) &= ~(1u << q.bit);
        }
      }
    }
  }
  return table;
}

}  // namespace kuml
