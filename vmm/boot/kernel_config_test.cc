#include "vmm/boot/kernel_config.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace kuml {
namespace {

TEST(KernelConfigNumber, FindsTheOptionAndNotItsNamesakes) {
  const char* config =
      "# CONFIG_NR_CPUS_RANGE_BEGIN is not set\n"
      "CONFIG_NR_CPUS_DEFAULT=64\n"
      "CONFIG_NR_CPUS=8\n"
      "CONFIG_SMP=y\n";
  EXPECT_EQ(KernelConfigNumber(config, "CONFIG_NR_CPUS"), 8);
  EXPECT_EQ(KernelConfigNumber(config, "CONFIG_NR_CPUS_DEFAULT"), 64);
  EXPECT_EQ(KernelConfigNumber(config, "CONFIG_SMP"), std::nullopt);
  EXPECT_EQ(KernelConfigNumber(config, "CONFIG_HZ"), std::nullopt);
  EXPECT_EQ(KernelConfigNumber("", "CONFIG_NR_CPUS"), std::nullopt);
}

TEST(KernelConfigPath, ResolvesTheKernelSymlinkAndPrefersConfig) {
  char dir_template[] = "/tmp/kernel_config_testXXXXXX";
  const std::string dir = mkdtemp(dir_template);
  const std::string build = dir + "/kernel-1234";
  ASSERT_EQ(mkdir(build.c_str(), 0755), 0);
  std::ofstream(build + "/vmlinux") << "x";
  ASSERT_EQ(symlink("kernel-1234/vmlinux", (dir + "/vmlinux").c_str()), 0);
  EXPECT_EQ(KernelConfigPath(dir + "/vmlinux"), std::nullopt);

  std::ofstream(build + "/.config") << "CONFIG_NR_CPUS=4\n";
  EXPECT_EQ(KernelConfigPath(dir + "/vmlinux"), build + "/.config");
  std::ofstream(build + "/config") << "CONFIG_NR_CPUS=8\n";
  EXPECT_EQ(KernelConfigPath(dir + "/vmlinux"), build + "/config");
  EXPECT_EQ(KernelConfigPath(dir + "/missing"), std::nullopt);
}

}  // namespace
}  // namespace kuml
