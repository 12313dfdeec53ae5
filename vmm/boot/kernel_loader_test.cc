#include "vmm/boot/kernel_loader.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "vmm/boot/initrd.h"
#include "vmm/boot/layout.h"
#include "vmm/boot/pvh.h"
#include "vmm/boot/test_images.h"
#include "vmm/guest_memory.h"

namespace kuml {
namespace {

using testing::Bytes;
using testing::BzImageSpec;
using testing::Pattern;
using testing::SimpleVmlinux;
using testing::WriteTempFile;

constexpr uint64_t kMiB = 1 << 20;

std::string TestName() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

class KernelLoaderTest : public ::testing::Test {
 protected:
  void MakeGuest(uint64_t bytes) {
    mem_ = std::move(GuestMemory::Create(bytes)).value();
  }
  void SetUp() override {
    MakeGuest(64 * kMiB);
    vmlinux_ = WriteTempFile(
        TestName() + ".vmlinux",
        SimpleVmlinux(0x1000000, Pattern(4096, 1), 0x10000, 0x100));
    bzimage_ =
        WriteTempFile(TestName() + ".bzImage", BuildBzImage(BzImageSpec()));
  }

  std::string ReadCmdline() {
    std::string s(layout::kCmdlineMaxBytes, '\0');
    EXPECT_TRUE(mem_->Read(layout::kCmdlineAddr, s.data(), s.size()).ok());
    return s.substr(0, s.find('\0'));
  }

  void ExpectError(const KernelLoadRequest& req, const std::string& file,
                   const std::string& what) {
    auto r = LoadKernel(*mem_, req);
    ASSERT_FALSE(r.ok()) << "expected: " << what;
    EXPECT_TRUE(absl::StrContains(r.status().message(), file)) << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(), what)) << r.status();
  }

  std::unique_ptr<GuestMemory> mem_;
  std::string vmlinux_;
  std::string bzimage_;
};

TEST_F(KernelLoaderTest, VmlinuxBootsThroughPvh) {
  KernelLoadRequest req;
  req.kernel_path = vmlinux_;
  req.cmdline = "console=ttyS0 root=/dev/vda rw";
  auto state = LoadKernel(*mem_, req);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->rip, 0x1000100u);
  EXPECT_EQ(state->efer, 0u) << "32-bit entry";
  EXPECT_EQ(state->rbx, layout::kPvhStartInfoAddr);
  EXPECT_EQ(ReadCmdline(), req.cmdline);
  auto info = mem_->ReadObject<HvmStartInfo>(layout::kPvhStartInfoAddr);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->magic, kHvmStartMagic);
  EXPECT_EQ(info->nr_modules, 0u);
}

TEST_F(KernelLoaderTest, BzImageBootsInLongMode) {
  KernelLoadRequest req;
  req.kernel_path = bzimage_;
  req.cmdline = "quiet";
  auto state = LoadKernel(*mem_, req);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->rip, 0x1000200u);
  EXPECT_TRUE(state->efer & kEferLma);
  EXPECT_EQ(ReadCmdline(), "quiet");
}

TEST_F(KernelLoaderTest, NotAKernel) {
  KernelLoadRequest req;
  req.kernel_path = WriteTempFile("text", Bytes(5000, 'x'));
  ExpectError(req, req.kernel_path, "not a kernel kuml can boot");
  req.kernel_path = WriteTempFile("empty", Bytes());
  ExpectError(req, req.kernel_path, "not a kernel kuml can boot");
  req.kernel_path = testing::TempPath("does-not-exist");
  auto r = LoadKernel(*mem_, req);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(r.status().message(), req.kernel_path));
  req.kernel_path = ::testing::TempDir();  // a directory
  EXPECT_FALSE(LoadKernel(*mem_, req).ok());
}

TEST_F(KernelLoaderTest, CommandLineLimits) {
  KernelLoadRequest req;
  req.kernel_path = vmlinux_;
  req.cmdline = std::string(layout::kCmdlineMaxBytes - 1, 'a');
  ASSERT_TRUE(LoadKernel(*mem_, req).ok());
  EXPECT_EQ(ReadCmdline(), req.cmdline);
  req.cmdline += 'b';
  ExpectError(req, vmlinux_, "command line too long");
  req.cmdline = std::string("a\0b", 3);
  ExpectError(req, vmlinux_, "NUL");

  // A bzImage says how long a line it takes.
  BzImageSpec spec;
  spec.cmdline_size = 100;
  req.kernel_path = WriteTempFile("short.bzImage", BuildBzImage(spec));
  req.cmdline = std::string(100, 'c');
  ASSERT_TRUE(LoadKernel(*mem_, req).ok());
  req.cmdline += 'c';
  ExpectError(req, req.kernel_path, "at most 100 fit");
}

TEST_F(KernelLoaderTest, InitrdGoesPageAlignedToTheTopOfRam) {
  const Bytes initrd = Pattern(5000, 9);
  KernelLoadRequest req;
  req.kernel_path = vmlinux_;
  req.initrd_path = WriteTempFile("initrd.img", initrd);
  auto state = LoadKernel(*mem_, req);
  ASSERT_TRUE(state.ok()) << state.status();
  auto info = mem_->ReadObject<HvmStartInfo>(layout::kPvhStartInfoAddr);
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->nr_modules, 1u);
  auto mod = mem_->ReadObject<HvmModlistEntry>(info->modlist_paddr);
  ASSERT_TRUE(mod.ok());
  EXPECT_EQ(mod->size, initrd.size());
  EXPECT_EQ(mod->paddr % 4096, 0u);
  EXPECT_LE(mod->paddr + mod->size, 64 * kMiB);
  EXPECT_GT(mod->paddr + 4096 + mod->size, 64 * kMiB) << "at the very top";
  Bytes back(initrd.size());
  ASSERT_TRUE(mem_->Read(mod->paddr, back.data(), back.size()).ok());
  EXPECT_EQ(back, initrd);
}

TEST_F(KernelLoaderTest, BzImageInitrdRespectsInitrdAddrMax) {
  MakeGuest(2048 * kMiB);
  BzImageSpec spec;
  spec.initrd_addr_max = 0x37ffffff;
  KernelLoadRequest req;
  req.kernel_path = WriteTempFile("max.bzImage", BuildBzImage(spec));
  req.initrd_path = WriteTempFile("initrd.img", Pattern(3 * kMiB + 5, 2));
  auto state = LoadKernel(*mem_, req);
  ASSERT_TRUE(state.ok()) << state.status();
  auto image = mem_->ReadObject<uint32_t>(layout::kZeroPageAddr + 0x218);
  auto size = mem_->ReadObject<uint32_t>(layout::kZeroPageAddr + 0x21c);
  ASSERT_TRUE(image.ok() && size.ok());
  EXPECT_EQ(*size, 3 * kMiB + 5);
  EXPECT_LE(uint64_t{*image} + *size, 0x38000000u);
  EXPECT_GT(uint64_t{*image} + *size + 4096, 0x38000000u);
  EXPECT_EQ(*image % 4096, 0u);
}

TEST_F(KernelLoaderTest, InitrdThatDoesNotFit) {
  KernelLoadRequest req;
  req.kernel_path = vmlinux_;
  // 64 MiB guest, kernel up to ~16 MiB + 68 KiB: 48 MiB cannot fit.
  req.initrd_path = WriteTempFile("big.img", Bytes(48 * kMiB, 1));
  ExpectError(req, *req.initrd_path, "initrd does not fit");
  req.initrd_path = WriteTempFile("empty.img", Bytes());
  ExpectError(req, *req.initrd_path, "initrd is empty");
  req.initrd_path = testing::TempPath("missing.img");
  ExpectError(req, *req.initrd_path, "open");
}

TEST(PlaceInitrdTest, NeverOverlapsTheKernel) {
  auto mem = std::move(GuestMemory::Create(64 * kMiB)).value();
  // Exactly fits between kernel end and the top.
  auto a = PlaceInitrd(*mem, "i", 32 * kMiB, 32 * kMiB, UINT64_MAX);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 32 * kMiB);
  // One byte more does not.
  EXPECT_FALSE(
      PlaceInitrd(*mem, "i", 32 * kMiB + 1, 32 * kMiB, UINT64_MAX).ok());
  // Alignment pushes it down; the kernel end must still be respected.
  EXPECT_FALSE(
      PlaceInitrd(*mem, "i", 32 * kMiB - 1, 32 * kMiB + 1, UINT64_MAX).ok());
  // Limits below the kernel, and sizes that overflow naive sums.
  EXPECT_FALSE(PlaceInitrd(*mem, "i", 4096, 32 * kMiB, 16 * kMiB).ok());
  EXPECT_FALSE(PlaceInitrd(*mem, "i", UINT64_MAX, 0, UINT64_MAX).ok());
  EXPECT_FALSE(PlaceInitrd(*mem, "i", 4096, UINT64_MAX, UINT64_MAX).ok());
}

TEST(PlaceInitrdTest, StaysBelowTheHoleAnd4GiB) {
  auto mem = std::move(GuestMemory::Create(4096 * kMiB)).value();
  auto a = PlaceInitrd(*mem, "i", 10 * kMiB, 32 * kMiB, UINT64_MAX);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a + 10 * kMiB, GuestMemory::kMmioHoleStart);
}

TEST_F(KernelLoaderTest, KernelTooBigForTheGuest) {
  KernelLoadRequest req;
  req.kernel_path = WriteTempFile(
      "huge.vmlinux", SimpleVmlinux(0x1000000, Pattern(4096, 1), 80 * kMiB, 0));
  ExpectError(req, req.kernel_path, "raise mem=");
}

TEST(KernelVersionTest, FromVmlinux) {
  Bytes f = SimpleVmlinux(0x1000000, Pattern(4096, 1), 0, 0);
  const std::string decoy = std::string("Linux version %s (%s)\n") + '\0';
  const std::string banner =
      "Linux version 6.1.99-kuml (me@host) (gcc 12) #1 SMP PREEMPT_DYNAMIC";
  f.insert(f.end(), decoy.begin(), decoy.end());
  f.insert(f.end(), banner.begin(), banner.end());
  f.push_back('\n');
  f.push_back(0);
  auto v = KernelVersionString(WriteTempFile("banner.vmlinux", f));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, banner);
}

TEST(KernelVersionTest, BannerAcrossAReadChunkBoundary) {
  Bytes f = SimpleVmlinux(0x1000000, Pattern(4096, 1), 0, 0);
  const std::string banner = "Linux version 5.10.0 #2";
  f.resize((1 << 20) - 7, 'z');  // the banner straddles the 1 MiB mark
  f.insert(f.end(), banner.begin(), banner.end());
  f.push_back(0);
  f.resize(3 << 20, 'q');
  auto v = KernelVersionString(WriteTempFile("chunk.vmlinux", f));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, banner);
}

TEST(KernelVersionTest, FromBzImageAndErrors) {
  BzImageSpec spec;
  auto v = KernelVersionString(WriteTempFile("v.bzImage", BuildBzImage(spec)));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "Linux version " + spec.version_string);

  const std::string none = WriteTempFile(
      "none.vmlinux", SimpleVmlinux(0x1000000, Pattern(4096, 1), 0, 0));
  v = KernelVersionString(none);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(v.status().message(), none));
  EXPECT_FALSE(KernelVersionString(WriteTempFile("junk", Bytes(100, 3))).ok());
}

// A vmlinux whose note segment holds `notes` after the PVH note.
Bytes VmlinuxWithNotes(const Bytes& notes, uint64_t align = 4) {
  testing::TestSegment text;
  text.paddr = 0x1000000;
  text.data = Pattern(4096, 1);
  testing::TestSegment note;
  note.type = testing::kPtNote;
  note.align = align;
  note.data = testing::ElfNote("GNU", 3, Pattern(20, 3), align);
  Bytes pvh = testing::ElfNote("Xen", 18, {0x00, 0x00, 0x00, 0x01}, align);
  note.data.insert(note.data.end(), pvh.begin(), pvh.end());
  note.data.insert(note.data.end(), notes.begin(), notes.end());
  return testing::BuildElf({text, note});
}

Bytes Le32(uint32_t v) {
  Bytes b;
  testing::PutLe32(b, 0, v);
  return b;
}

TEST(KernelNotesTest, KumlsUmlNamesNote) {
  auto n = ReadKernelNotes(WriteTempFile(
      "names.vmlinux", VmlinuxWithNotes(testing::ElfNote("kuml", 1, Le32(1)))));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_TRUE(n->uml_device_names);
  // 8-byte aligned notes (the name pads differently) and a later version.
  n = ReadKernelNotes(WriteTempFile(
      "names8.vmlinux",
      VmlinuxWithNotes(testing::ElfNote("kuml", 1, Le32(2), 8), 8)));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_TRUE(n->uml_device_names);
  // The note in a second note segment counts too.
  testing::TestSegment text;
  text.paddr = 0x1000000;
  text.data = Pattern(4096, 1);
  testing::TestSegment pvh, kuml;
  pvh.type = kuml.type = testing::kPtNote;
  pvh.data = testing::ElfNote("Xen", 18, {0x00, 0x00, 0x00, 0x01});
  kuml.data = testing::ElfNote("kuml", 1, Le32(1));
  n = ReadKernelNotes(
      WriteTempFile("two.vmlinux", testing::BuildElf({text, pvh, kuml})));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_TRUE(n->uml_device_names);
}

TEST(KernelNotesTest, WithoutTheNoteTheKernelKeepsItsNames) {
  for (const Bytes& other : {Bytes(),
                             // Another owner, another type, no version, a
                             // version 0, a longer name with the same start.
                             testing::ElfNote("Linux", 1, Le32(1)),
                             testing::ElfNote("kuml", 2, Le32(1)),
                             testing::ElfNote("kuml", 1, Bytes()),
                             testing::ElfNote("kuml", 1, Le32(0)),
                             testing::ElfNote("kumlx", 1, Le32(1))}) {
    auto n = ReadKernelNotes(
        WriteTempFile("plain.vmlinux", VmlinuxWithNotes(other)));
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_FALSE(n->uml_device_names);
  }
  // A bzImage's notes are compressed: it keeps its names.
  auto n =
      ReadKernelNotes(WriteTempFile("n.bzImage", testing::BuildBzImage({})));
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_FALSE(n->uml_device_names);
}

TEST(KernelNotesTest, Errors) {
  EXPECT_EQ(ReadKernelNotes("/nonexistent/vmlinux").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(ReadKernelNotes(WriteTempFile("junk", Bytes(100, 3))).ok());
  // A note that runs past its segment.
  Bytes bad = testing::ElfNote("kuml", 1, Le32(1));
  testing::PutLe32(bad, 4, 4096);  // descsz
  auto n = ReadKernelNotes(WriteTempFile("bad.vmlinux", VmlinuxWithNotes(bad)));
  ASSERT_FALSE(n.ok());
  EXPECT_TRUE(absl::StrContains(n.status().message(), "corrupt ELF note"))
      << n.status();
}

}  // namespace
}  // namespace kuml
