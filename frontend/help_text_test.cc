#include "frontend/help_text.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(VersionStringTest, NamesKumlAndVersion) {
  EXPECT_EQ(VersionString(), "kuml 0.1.0");
}

TEST(HelpTextTest, ListsEverySwitch) {
  const std::string help = HelpText();
  EXPECT_THAT(help, StartsWith("kuml 0.1.0"));
  for (const char* name :
       {"kernel=",   "mem=",      "ubd<n><flags>=", "ubd=sync",
        "con[<n>]=", "ssl[<n>]=", "ssl-non-raw",    "eth<n>=",
        "vec<n>:",   "umid=",     "uml_dir=",       "mconsole=notify:",
        "initrd=",   "hostfs=",   "iomem=",         "xterm=",
        "stderr=",   "root=",     "init=",          "console=",
        "quiet",     "noreboot",  "debug",          "nosysemu",
        "--help",    "--version", "--showconfig",   "gdb=",
        "ncpus="}) {
    EXPECT_THAT(help, HasSubstr("  " + std::string(name))) << name;
  }
}

TEST(HelpTextTest, FitsAnEightyColumnTerminal) {
  std::istringstream lines(HelpText());
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    EXPECT_LE(line.size(), 80u) << line;
    ++count;
  }
  EXPECT_GT(count, 20);
}

}  // namespace
}  // namespace kuml
