// Interoperability of kuml's COW disks with the real UML, through a kuml
// guest: a tiny payload (tests/payloads/blk_cow.c) reads, over virtio-blk, a
// COW file the real UML kernel wrote (disk/testdata) and must see what
// uml_moo merges; then it writes through kuml into that COW file, and the
// real uml_moo must merge the result into exactly the expected image.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "disk/host_file.h"
#include "disk/ubd_open.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/payload_runner.h"
#include "util/unique_fd.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;

std::string Runfile(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  return absl::StrCat(srcdir ? srcdir : ".", "/kuml/", path);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Sh(const std::string& cmd) {
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

std::string Fnv(const std::string& data) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return absl::StrFormat("blk_cow: hash 0x%08x 0x%08x\n",
                         static_cast<uint32_t>(h >> 32),
                         static_cast<uint32_t>(h));
}

TEST(CowPayloadTest, GuestReadsAUmlWrittenCowAndWritesOneUmlMooMerges) {
  std::string dir = testing::TempDir();
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const std::string base = dir + "/base.img", cow = dir + "/uml.cow";
  Sh("gzip -dc " + Runfile("disk/testdata/base.img.gz") + " > " + base);
  Sh("gzip -dc " + Runfile("disk/testdata/uml_written.cow.gz") + " > " + cow);
  // The fixture's header names the generator's backing file and mtime: give
  // ours that mtime, and name it on the command line (UML's switch rule).
  {
    UniqueFd fd(::open(cow.c_str(), O_RDONLY));
    auto header = ReadCowHeader(fd.get(), cow);
    ASSERT_TRUE(header.ok() && header->has_value()) << header.status();
    struct timespec t[2] = {{(*header)->mtime, 0}, {(*header)->mtime, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, base.c_str(), t, 0), 0);
  }
  // What the real uml_moo makes of UML's COW file.
  Sh(absl::StrCat("uml_moo -b ", base, " ", cow, " ", dir, "/moo1.img"));
  const std::string merged1 = Slurp(dir + "/moo1.img");
  ASSERT_EQ(merged1.size(), 512u * 512);
  ASSERT_NE(merged1, Slurp(base)) << "the fixture holds no writes";

  std::vector<std::string> notices;
  UbdOpenOptions options;
  options.file = cow;
  options.backing_file = base;
  auto backend =
      OpenUbd(options, [&](const std::string& s) { notices.push_back(s); });
  ASSERT_TRUE(backend.ok()) << backend.status();
  EXPECT_THAT(notices, ::testing::ElementsAre("Switching backing file to '" +
                                              base + "'"));

  PayloadDisk disk;
  disk.path = cow;
  disk.backend = *backend;
  auto run = RunPayload("blk_cow", {disk});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->stop.reason, StopReason::kPowerOff) << run->stop.detail;

  std::string merged2 = merged1;
  merged2.replace(5 * 512, 512, std::string(512, 'K'));
  for (int i = 0; i < 4096; ++i) {
    merged2[100 * 512 + i] = static_cast<char>(i * 3 + 11);
  }
  merged2.replace(511 * 512, 512, std::string(512, 'L'));
  EXPECT_EQ(run->console,
            "blk_cow: capacity 512\n" + Fnv(merged1) +
                "blk_cow: write status 0\nblk_cow: write status 0\n"
                "blk_cow: write status 0\nblk_cow: flush status 0\n" +
                Fnv(merged2));

  backend->reset();
  disk.backend.reset();  // closes the COW file (flushing its bitmap)
  Sh(absl::StrCat("uml_moo ", cow, " ", dir, "/moo2.img"));
  EXPECT_TRUE(Slurp(dir + "/moo2.img") == merged2)
      << "uml_moo's merge of the COW file kuml wrote is not the guest's disk";
}

}  // namespace
}  // namespace kuml
