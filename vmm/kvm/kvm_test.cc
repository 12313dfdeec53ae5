// Runs against a real KVM (see tests/kvmhost/with-kvm.sh).
#include "vmm/kvm/kvm.h"

#include <cstring>

#include "gtest/gtest.h"
#include "util/mapping.h"

namespace kuml {
namespace {

TEST(KvmTest, OpensAndReportsCpuid) {
  auto kvm = Kvm::Open();
  ASSERT_TRUE(kvm.ok()) << kvm.status();
  auto cpuid = kvm->GetSupportedCpuid();
  ASSERT_TRUE(cpuid.ok()) << cpuid.status();
  EXPECT_GT(cpuid->size(), 4u);
  EXPECT_GT(kvm->vcpu_mmap_size(), 0);
  auto msrs = kvm->GetMsrIndexList();
  ASSERT_TRUE(msrs.ok()) << msrs.status();
  EXPECT_FALSE(msrs->empty());
}

TEST(KvmTest, MissingDeviceSaysSo) {
  auto kvm = Kvm::Open("/nonexistent/kvm");
  ASSERT_FALSE(kvm.ok());
  EXPECT_NE(kvm.status().message().find("no KVM"), std::string::npos);
}

// Real mode: out 0x42, al (al = 0x5a) then hlt. Without an in-kernel irqchip
// HLT comes back to user space, which ends the run.
TEST(KvmTest, RunsRealModeCodeToHlt) {
  auto kvm = std::move(Kvm::Open()).value();
  auto vm = kvm.CreateVm();
  ASSERT_TRUE(vm.ok()) << vm.status();
  auto mem = Mapping::Anonymous(0x10000, "test memory");
  ASSERT_TRUE(mem.ok());
  const uint8_t code[] = {0xb0, 0x5a, 0xe6, 0x42, 0xf4};
  std::memcpy(mem->data() + 0x1000, code, sizeof code);
  ASSERT_TRUE(vm->SetUserMemoryRegion(0, 0, mem->size(), mem->data()).ok());
  auto vcpu = vm->CreateVcpu(0);
  ASSERT_TRUE(vcpu.ok()) << vcpu.status();
  kvm_sregs sregs;
  ASSERT_TRUE(vcpu->GetSregs(&sregs).ok());
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  ASSERT_TRUE(vcpu->SetSregs(sregs).ok());
  kvm_regs regs{};
  regs.rip = 0x1000;
  regs.rflags = 2;
  ASSERT_TRUE(vcpu->SetRegs(regs).ok());

  ASSERT_EQ(vcpu->Run(), 0);
  kvm_run* run = vcpu->run();
  ASSERT_EQ(run->exit_reason, KVM_EXIT_IO);
  EXPECT_EQ(run->io.direction, KVM_EXIT_IO_OUT);
  EXPECT_EQ(run->io.port, 0x42);
  EXPECT_EQ(reinterpret_cast<uint8_t*>(run)[run->io.data_offset], 0x5a);
  ASSERT_EQ(vcpu->Run(), 0);
  EXPECT_EQ(run->exit_reason, KVM_EXIT_HLT);
  ASSERT_TRUE(vcpu->GetRegs(&regs).ok());
  EXPECT_EQ(regs.rip, 0x1005u);
}

TEST(KvmTest, OverlappingMemorySlotIsRefused) {
  auto kvm = std::move(Kvm::Open()).value();
  auto vm = std::move(kvm.CreateVm()).value();
  auto mem = std::move(Mapping::Anonymous(0x20000, "m")).value();
  ASSERT_TRUE(vm.SetUserMemoryRegion(0, 0, 0x20000, mem.data()).ok());
  absl::Status s = vm.SetUserMemoryRegion(1, 0x10000, 0x10000, mem.data());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("KVM_SET_USER_MEMORY_REGION"), std::string::npos);
}

}  // namespace
}  // namespace kuml

namespace kuml {
namespace {

// Sets a CPUID table and MSRs through the hand-built (C layout) requests.
TEST(KvmTest, SetsCpuidAndMsrs) {
  auto kvm = std::move(Kvm::Open()).value();
  auto vm = std::move(kvm.CreateVm()).value();
  auto vcpu = std::move(vm.CreateVcpu(0)).value();
  auto cpuid = std::move(kvm.GetSupportedCpuid()).value();
  bool has_leaf0 = false;
  for (const auto& e : cpuid) has_leaf0 |= e.function == 0;
  EXPECT_TRUE(has_leaf0);
  EXPECT_TRUE(vcpu.SetCpuid(cpuid).ok());
  kvm_msr_entry misc{};
  misc.index = 0x1a0;  // IA32_MISC_ENABLE
  misc.data = 1;       // fast strings
  EXPECT_TRUE(vcpu.SetMsrs({misc}).ok());
}

}  // namespace
}  // namespace kuml
