// C layouts of the variable-length KVM ioctl arguments.
//
// <linux/kvm.h> declares their trailing arrays with __DECLARE_FLEX_ARRAY,
// which in C++ puts a one-byte empty struct in front of the array: sizeof and
// the array offset differ from C (kvm_cpuid2: 12 vs 8 bytes, entries at 12 vs
// 8), and since the ioctl numbers encode sizeof, KVM rejects them with EINVAL.
// kuml therefore builds these requests itself: a fixed header with the C
// layout followed directly by the elements.
#ifndef KUML_VMM_KVM_KVM_ABI_H_
#define KUML_VMM_KVM_KVM_ABI_H_

#include <linux/kvm.h>

#include <cstdint>

namespace kuml {

struct KvmCpuid2Header {  // then kvm_cpuid_entry2[nent]
  uint32_t nent;
  uint32_t padding;
};
struct KvmMsrsHeader {  // then kvm_msr_entry[nmsrs]
  uint32_t nmsrs;
  uint32_t pad;
};
struct KvmMsrListHeader {  // then uint32_t[nmsrs]
  uint32_t nmsrs;
};

static_assert(sizeof(KvmCpuid2Header) == 8, "C layout");
static_assert(sizeof(KvmMsrsHeader) == 8, "C layout");
static_assert(sizeof(KvmMsrListHeader) == 4, "C layout");

constexpr unsigned long kKvmGetSupportedCpuid =
    _IOWR(KVMIO, 0x05, KvmCpuid2Header);
constexpr unsigned long kKvmSetCpuid2 = _IOW(KVMIO, 0x90, KvmCpuid2Header);
constexpr unsigned long kKvmGetMsrIndexList =
    _IOWR(KVMIO, 0x02, KvmMsrListHeader);
constexpr unsigned long kKvmSetMsrs = _IOW(KVMIO, 0x89, KvmMsrsHeader);
constexpr unsigned long kKvmGetMsrs = _IOWR(KVMIO, 0x88, KvmMsrsHeader);

}  // namespace kuml

#endif  // KUML_VMM_KVM_KVM_ABI_H_
