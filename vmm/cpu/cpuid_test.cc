#include "vmm/cpu/cpuid.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace kuml {
namespace {

kvm_cpuid_entry2 Entry(uint32_t function, uint32_t index, uint32_t eax,
                       uint32_t ebx, uint32_t ecx, uint32_t edx,
                       bool indexed = false) {
  kvm_cpuid_entry2 e{};
  e.function = function;
  e.index = index;
  e.flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
  e.eax = eax;
  e.ebx = ebx;
  e.ecx = ecx;
  e.edx = edx;
  return e;
}

// The leaf 1 and 7 values measured on a kvm_pvm host (kvm-here.md), plus
// popcnt and xsave as a host that offered them would.
std::vector<kvm_cpuid_entry2> PvmLikeTable() {
  return {Entry(0, 0, 0xd, 0, 0, 0),
          Entry(1, 0, 0x806f8, 0x800, 0x81202000 | (1u << 23) | (1u << 26),
                0x178bfbff),
          Entry(7, 0, 0, 0x01800002 | (1u << 20), 0, 0, true),
          Entry(0xb, 0, 1, 1, 0x100, 0, true),
          Entry(0xb, 1, 0, 0, 0x201, 0, true)};
}

TEST(CpuidTest, SoftwareKvmClearsEveryQuirkBit) {
  auto table =
      BuildGuestCpuid(PvmLikeTable(), {0, 1, KvmFlavor::kSoftwareAssisted});
  const kvm_cpuid_entry2* leaf1 = FindCpuid(table, 1);
  ASSERT_NE(leaf1, nullptr);
  EXPECT_EQ(leaf1->ecx & (1u << 13), 0u) << "cx16 must be cleared";
  EXPECT_EQ(leaf1->ecx & (1u << 23), 0u) << "popcnt must be cleared";
  EXPECT_EQ(leaf1->ecx & (1u << 26), 0u) << "xsave must be cleared";
  EXPECT_NE(leaf1->ecx & (1u << 21), 0u) << "x2apic kept";
  const kvm_cpuid_entry2* leaf7 = FindCpuid(table, 7, 0);
  ASSERT_NE(leaf7, nullptr);
  EXPECT_EQ(leaf7->ebx & (1u << 20), 0u) << "smap must be cleared";
  EXPECT_EQ(leaf7->ebx, 0x01800002u) << "other leaf 7 bits kept";
}

TEST(CpuidTest, HardwareKvmKeepsFeatures) {
  auto table = BuildGuestCpuid(PvmLikeTable(), {0, 1, KvmFlavor::kHardware});
  EXPECT_NE(FindCpuid(table, 1)->ecx & (1u << 13), 0u);
  EXPECT_NE(FindCpuid(table, 7, 0)->ebx & (1u << 20), 0u);
}

TEST(CpuidTest, TopologyNamesTheVcpu) {
  auto table = BuildGuestCpuid(PvmLikeTable(), {3, 4, KvmFlavor::kHardware});
  const kvm_cpuid_entry2* leaf1 = FindCpuid(table, 1);
  EXPECT_EQ(leaf1->ebx >> 24, 3u);
  EXPECT_EQ((leaf1->ebx >> 16) & 0xff, 4u);
  EXPECT_NE(leaf1->edx & (1u << 28), 0u);
  EXPECT_NE(leaf1->ecx & (1u << 31), 0u) << "hypervisor bit";
  EXPECT_EQ(FindCpuid(table, 0xb, 0)->edx, 3u);
  EXPECT_EQ(FindCpuid(table, 0xb, 1)->edx, 3u);
}

TEST(CpuidTest, KumlSignatureLeaf) {
  auto table = BuildGuestCpuid(PvmLikeTable(), {0, 1, KvmFlavor::kHardware});
  const kvm_cpuid_entry2* kuml = FindCpuid(table, kKumlCpuidLeaf);
  ASSERT_NE(kuml, nullptr);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&kuml->ebx), 4), "KUML");
  EXPECT_EQ(kuml->ecx, kuml->ebx);
  EXPECT_EQ(kuml->edx, kuml->ebx);
}

TEST(CpuidTest, EveryQuirkHasAReason) {
  for (const CpuidQuirk& q : SoftwareKvmCpuidQuirks()) {
    EXPECT_NE(std::string(q.feature), "");
    EXPECT_GT(std::string(q.reason).size(), 20u) << q.feature;
  }
}

// The guest is told to clear what the CPUID table clears (a kvm_pvm may
// show it the host's bits instead): every quirk but osxsave is named.
TEST(CpuidTest, GuestKernelArgsNameEveryQuirk) {
  std::vector<std::string> args = SoftwareKvmGuestKernelArgs();
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[0], "noxsave");
  EXPECT_EQ(args[1], "clearcpuid=cx16,popcnt,smap");
}

TEST(HostKvmTest, FlavorFollowsCpuFlags) {
  std::string dir = testing::TempDir();
  std::string with = dir + "/cpuinfo_svm", without = dir + "/cpuinfo_none";
  std::ofstream(with) << "processor\t: 0\nflags\t\t: fpu vme svm sse2\n";
  std::ofstream(without) << "processor\t: 0\nflags\t\t: fpu vme sse2 "
                            "hypervisor\n";
  EXPECT_EQ(DetectKvmFlavor(with), KvmFlavor::kHardware);
  EXPECT_EQ(DetectKvmFlavor(without), KvmFlavor::kSoftwareAssisted);
}

}  // namespace
}  // namespace kuml
