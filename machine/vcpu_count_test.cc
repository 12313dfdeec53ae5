#include "machine/vcpu_count.h"

#include "gtest/gtest.h"

namespace kuml {
namespace {

VcpuLimits Limits(int host_max, int host_cpus, std::optional<int> kernel) {
  VcpuLimits limits;
  limits.host_max = host_max;
  limits.host_recommended = host_cpus;
  limits.kernel_max = kernel;
  return limits;
}

TEST(CheckVcpuCount, WithinEveryLimitIsQuiet) {
  std::vector<std::string> warnings;
  EXPECT_TRUE(CheckVcpuCount(2, Limits(1024, 2, 8), &warnings).ok());
  EXPECT_TRUE(CheckVcpuCount(1, Limits(1024, 2, std::nullopt), &warnings).ok());
  EXPECT_TRUE(warnings.empty());
}

TEST(CheckVcpuCount, RefusesMoreThanTheKernelRuns) {
  std::vector<std::string> warnings;
  absl::Status s = CheckVcpuCount(9, Limits(1024, 16, 8), &warnings);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(s.message(),
            "ncpus=9: the guest kernel runs at most 8 CPUs (its "
            "CONFIG_NR_CPUS)");
  s = CheckVcpuCount(2, Limits(1024, 16, 1), &warnings);
  EXPECT_EQ(s.message(),
            "ncpus=2: the guest kernel runs at most 1 CPU (built without "
            "CONFIG_SMP)");
}

TEST(CheckVcpuCount, RefusesMoreThanTheHostKvmAllows) {
  std::vector<std::string> warnings;
  absl::Status s = CheckVcpuCount(5, Limits(4, 4, std::nullopt), &warnings);
  EXPECT_EQ(s.message(),
            "ncpus=5: this host's KVM allows at most 4 vCPUs per guest "
            "(KVM_CAP_MAX_VCPUS)");
}

TEST(CheckVcpuCount, WarnsWhenSharingHostCpusOrKernelLimitUnknown) {
  std::vector<std::string> warnings;
  EXPECT_TRUE(CheckVcpuCount(4, Limits(1024, 2, std::nullopt), &warnings).ok());
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("cannot check its CPU limit"), std::string::npos);
  EXPECT_EQ(warnings[1],
            "ncpus=4: more vCPUs than this host's 2 CPUs; they will share "
            "them");
}

}  // namespace
}  // namespace kuml
