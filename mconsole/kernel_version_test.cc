#include "mconsole/kernel_version.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace kuml::mconsole {
namespace {

std::string WriteFile(const std::string& name, const std::string& bytes) {
  std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(KernelVersionTest, ParsesVmlinuxBanner) {
  auto v = ParseLinuxBanner(
      "Linux version 6.1.192 (kuml@kuml) (gcc (Debian 12.2.0-14+deb12u1) "
      "12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP "
      "kuml-d0cd7c5f6b91d632\n");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->release, "6.1.192");
  EXPECT_EQ(v->version, "#1 SMP kuml-d0cd7c5f6b91d632");
  EXPECT_EQ(v->nodename, "(none)");
  EXPECT_EQ(v->machine, "x86_64");
}

TEST(KernelVersionTest, ParsesBzImageBanner) {
  auto v = ParseLinuxBanner(
      "Linux version 6.1.176 (user@host) #1 Sat Jul  4 15:38:16 UTC 2026");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->release, "6.1.176");
  EXPECT_EQ(v->version, "#1 Sat Jul  4 15:38:16 UTC 2026");
}

TEST(KernelVersionTest, RefusesNonBanners) {
  EXPECT_FALSE(ParseLinuxBanner("hello").ok());
  EXPECT_FALSE(ParseLinuxBanner("Linux version ").ok());
}

TEST(KernelVersionTest, VmlinuxPrefersTheBannerWithABuildNumber) {
  std::string image =
      std::string(4096, '\x7f') + "Linux version %s (%s@%s) (%s) %s\n" + '\0' +
      "Linux version 6.1.9 (a@b) (gcc (X) 12) # SMP weak\n" + '\0' +
      std::string(100, 'z') +
      "Linux version 6.1.9 (a@b) (gcc (X) 12) #7 SMP real\n" + '\0';
  auto v = ReadKernelVersion(WriteFile("vmlinux", image));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->version, "#7 SMP real");
}

TEST(KernelVersionTest, FileWithoutBannerIsNotFound) {
  auto v = ReadKernelVersion(WriteFile("payload.bin", std::string(9000, 'x')));
  EXPECT_TRUE(absl::IsNotFound(v.status())) << v.status();
  EXPECT_FALSE(ReadKernelVersion("/no/such/kernel").ok());
}

}  // namespace
}  // namespace kuml::mconsole
