#include "vmm/boot/bzimage_loader.h"

#include <dirent.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "vmm/boot/e820.h"
#include "vmm/boot/image_file.h"
#include "vmm/boot/kernel_loader.h"
#include "vmm/boot/layout.h"
#include "vmm/boot/le_bytes.h"
#include "vmm/boot/test_images.h"
#include "vmm/guest_memory.h"

namespace kuml {
namespace {

using testing::Bytes;
using testing::BzImageSpec;
using testing::Pattern;
using testing::WriteTempFile;

constexpr uint64_t kMiB = 1 << 20;

// boot_params offsets, from Documentation/arch/x86/zero-page.rst and boot.rst.
constexpr size_t kZpExtRamdiskImage = 0x0c0, kZpExtRamdiskSize = 0x0c4,
                 kZpExtCmdLinePtr = 0x0c8, kZpE820Entries = 0x1e8,
                 kZpTypeOfLoader = 0x210, kZpLoadFlags = 0x211,
                 kZpRamdiskImage = 0x218, kZpRamdiskSize = 0x21c,
                 kZpHeapEndPtr = 0x224, kZpCmdLinePtr = 0x228,
                 kZpSetupData = 0x250, kZpE820Table = 0x2d0;

std::string TestName() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

class BzImageTest : public ::testing::Test {
 protected:
  void MakeGuest(uint64_t bytes) {
    mem_ = std::move(GuestMemory::Create(bytes)).value();
  }
  void SetUp() override { MakeGuest(256 * kMiB); }

  absl::StatusOr<BzImage> Load(const BzImageSpec& spec) {
    file_bytes_ = BuildBzImage(spec);
    path_ = WriteTempFile(TestName() + ".bzImage", file_bytes_);
    absl::StatusOr<ImageFile> f = ImageFile::Open(path_);
    if (!f.ok()) return f.status();
    return LoadBzImage(*mem_, *f);
  }

  void ExpectError(const BzImageSpec& spec, const std::string& what) {
    absl::StatusOr<BzImage> r = Load(spec);
    ASSERT_FALSE(r.ok()) << "expected: " << what;
    EXPECT_TRUE(absl::StrContains(r.status().message(), path_)) << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(), what)) << r.status();
  }

  Bytes ReadRam(uint64_t gpa, size_t len) {
    Bytes b(len);
    EXPECT_TRUE(mem_->Read(gpa, b.data(), len).ok());
    return b;
  }

  std::unique_ptr<GuestMemory> mem_;
  Bytes file_bytes_;
  std::string path_;
};

// Follows the guest page tables from CR3 for a virtual address; returns the
// physical address or ~0 when unmapped.
uint64_t Walk(const GuestMemory& mem, uint64_t cr3, uint64_t va) {
  uint64_t table = cr3;
  for (int level = 3; level >= 0; --level) {
    const uint64_t index = (va >> (12 + 9 * level)) & 511;
    auto e = mem.ReadObject<uint64_t>((table & ~0xfffull) + index * 8);
    if (!e.ok() || !(*e & 1) || !(*e & 2)) return ~0ull;
    if (level == 1 && (*e & 0x80)) {
      return (*e & 0x000fffffffe00000ull) | (va & 0x1fffff);
    }
    if (level == 0) return (*e & 0x000ffffffffff000ull) | (va & 0xfff);
    table = *e & 0x000ffffffffff000ull;
  }
  return ~0ull;
}

TEST_F(BzImageTest, LoadsAndFillsTheZeroPage) {
  // Dirty boot area, as after a reboot.
  Bytes junk(0x4000, 0xcc);
  ASSERT_TRUE(mem_->Write(0x6000, junk.data(), junk.size()).ok());
  BzImageSpec spec;
  spec.setup_data = 0xdead000;  // a hostile pointer must not reach the guest
  absl::StatusOr<BzImage> image = Load(spec);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->load_addr, 0x1000000u);
  EXPECT_EQ(image->kernel_end, 0x1000000u + spec.init_size);
  EXPECT_EQ(image->cmdline_max_bytes, 2048u);
  EXPECT_EQ(image->initrd_limit, 0x80000000u);
  EXPECT_EQ(ReadRam(0x1000000, spec.payload.size()), spec.payload);

  const InitrdPlacement initrd{0x5000000, 0x123456};
  absl::StatusOr<BootCpuState> state = SetupBzImageBoot(*mem_, *image, initrd);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->rip, 0x1000200u);
  EXPECT_EQ(state->rsi, layout::kZeroPageAddr);
  EXPECT_TRUE(state->efer & kEferLma);

  const Bytes zp = ReadRam(layout::kZeroPageAddr, 4096);
  // The setup header as in the file, bytes 0x1f1 .. 0x202 + jump.
  const size_t hdr_end = 0x202 + file_bytes_[0x201];
  for (size_t i = 0x1f1; i < hdr_end; ++i) {
    if ((i >= kZpTypeOfLoader && i < kZpTypeOfLoader + 2) ||
        (i >= kZpRamdiskImage && i < kZpRamdiskImage + 8) ||
        (i >= kZpHeapEndPtr && i < kZpHeapEndPtr + 2) ||
        (i >= kZpCmdLinePtr && i < kZpCmdLinePtr + 4) ||
        (i >= kZpSetupData && i < kZpSetupData + 8)) {
      continue;  // fields the loader writes
    }
    EXPECT_EQ(zp[i], file_bytes_[i]) << "header byte " << std::hex << i;
  }
  // Nothing outside the header and the loader's fields is left over.
  for (size_t i = 0; i < 0xc0; ++i) EXPECT_EQ(zp[i], 0) << i;
  EXPECT_EQ(LoadLe16(&zp[0x1fe]), 0xaa55);
  EXPECT_EQ(zp[kZpTypeOfLoader], 0xff);
  EXPECT_EQ(zp[kZpLoadFlags] & 0x81, 0x81) << "LOADED_HIGH | CAN_USE_HEAP";
  EXPECT_NE(LoadLe16(&zp[kZpHeapEndPtr]), 0);
  EXPECT_EQ(LoadLe32(&zp[kZpCmdLinePtr]), layout::kCmdlineAddr);
  EXPECT_EQ(LoadLe32(&zp[kZpExtCmdLinePtr]), 0u);
  EXPECT_EQ(LoadLe32(&zp[kZpRamdiskImage]), initrd.addr);
  EXPECT_EQ(LoadLe32(&zp[kZpRamdiskSize]), initrd.size);
  EXPECT_EQ(LoadLe32(&zp[kZpExtRamdiskImage]), 0u);
  EXPECT_EQ(LoadLe32(&zp[kZpExtRamdiskSize]), 0u);
  EXPECT_EQ(LoadLe64(&zp[kZpSetupData]), 0u);

  const std::vector<E820Entry> map = BuildE820Map(*mem_);
  ASSERT_EQ(zp[kZpE820Entries], map.size());
  for (size_t i = 0; i < map.size(); ++i) {
    const uint8_t* e = &zp[kZpE820Table + 20 * i];
    EXPECT_EQ(LoadLe64(e), map[i].addr);
    EXPECT_EQ(LoadLe64(e + 8), map[i].size);
    EXPECT_EQ(LoadLe32(e + 16), map[i].type);
  }

  // The identity map covers the kernel, the zero page and the command line,
  // and stops at 1 GiB.
  for (uint64_t va :
       {uint64_t{0}, layout::kZeroPageAddr, layout::kCmdlineAddr, state->rip,
        image->kernel_end - 1, layout::kIdentityMapBytes - 1}) {
    EXPECT_EQ(Walk(*mem_, state->cr3, va), va) << std::hex << va;
  }
  EXPECT_EQ(Walk(*mem_, state->cr3, layout::kIdentityMapBytes), ~0ull);
}

TEST_F(BzImageTest, Setup_sectsZeroMeansFour) {
  BzImageSpec spec;
  spec.setup_sects = 0;
  ASSERT_TRUE(Load(spec).ok());
  EXPECT_EQ(ReadRam(0x1000000, spec.payload.size()), spec.payload);
  spec.setup_sects = 30;  // a bigger setup moves the kernel in the file
  ASSERT_TRUE(Load(spec).ok());
  EXPECT_EQ(ReadRam(0x1000000, spec.payload.size()), spec.payload);
}

TEST_F(BzImageTest, LoadAddressChoice) {
  BzImageSpec spec;
  spec.pref_address = 0x2000000;
  auto r = Load(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->load_addr, 0x2000000u) << "pref_address when it fits";
  spec.pref_address = 0x2001000;  // not aligned to kernel_alignment
  r = Load(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->load_addr, 0x1000000u);
  spec.pref_address = 0xff000000;  // beyond RAM
  r = Load(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->load_addr, 0x1000000u);
  spec.kernel_alignment = 0x4000000;  // 64 MiB: 16 MiB rounds up
  r = Load(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->load_addr, 0x4000000u);
  // Not relocatable: pref_address or nothing.
  spec = BzImageSpec();
  spec.relocatable = 0;
  spec.pref_address = 0x3000000;
  r = Load(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->load_addr, 0x3000000u);
  spec.pref_address = 0x80000;
  ExpectError(spec, "below 1 MiB");
}

TEST_F(BzImageTest, RefusesImagesItCannotEnterIn64BitMode) {
  BzImageSpec spec;
  spec.version = 0x020b;
  ExpectError(spec, "boot protocol 2.11 is too old");
  spec = BzImageSpec();
  spec.xloadflags = 0;
  ExpectError(spec, "XLF_KERNEL_64");
  spec = BzImageSpec();
  spec.loadflags = 0;
  ExpectError(spec, "LOADED_HIGH");
  spec = BzImageSpec();
  spec.boot_flag = 0x1234;
  ExpectError(spec, "boot flag");
  spec = BzImageSpec();
  spec.magic = "HdrX";
  ExpectError(spec, "not a bzImage");
  spec = BzImageSpec();
  spec.jump_disp = 0x20;  // header claims to end at 0x222
  ExpectError(spec, "setup header ends");
  spec = BzImageSpec();
  spec.kernel_alignment = 0x300000;
  ExpectError(spec, "kernel_alignment");
  spec = BzImageSpec();
  spec.payload.clear();
  ExpectError(spec, "no protected-mode kernel");
}

TEST_F(BzImageTest, TruncatedFiles) {
  BzImageSpec spec;
  file_bytes_ = BuildBzImage(spec);
  for (size_t len : {size_t{0}, size_t{0x100}, size_t{0x250}}) {
    Bytes cut(file_bytes_.begin(), file_bytes_.begin() + len);
    path_ = WriteTempFile(absl::StrCat("cut", len), cut);
    auto f = ImageFile::Open(path_);
    ASSERT_TRUE(f.ok());
    auto r = LoadBzImage(*mem_, *f);
    ASSERT_FALSE(r.ok()) << len;
    EXPECT_TRUE(absl::StrContains(r.status().message(), "truncated"))
        << r.status();
  }
}

TEST_F(BzImageTest, TooBigForTheGuest) {
  MakeGuest(64 * kMiB);
  BzImageSpec spec;
  spec.init_size = 60 * kMiB;  // 16 + 60 = 76 MiB > 64 MiB
  ExpectError(spec, "kernel needs 76 MiB; guest has 64 MiB: raise mem=");
  MakeGuest(2048 * kMiB);
  spec.init_size = 0x3f800000;  // fits RAM, not the 1 GiB identity map
  ExpectError(spec, "1 GiB");
}

TEST_F(BzImageTest, VersionString) {
  BzImageSpec spec;
  path_ = WriteTempFile("v.bzImage", BuildBzImage(spec));
  auto f = ImageFile::Open(path_);
  ASSERT_TRUE(f.ok());
  auto v = BzImageVersionString(*f);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "Linux version " + spec.version_string);
  // kernel_version pointing past the setup code.
  Bytes bad = BuildBzImage(spec);
  testing::PutLe16(bad, 0x20e, 0x7000);
  path_ = WriteTempFile("v2.bzImage", bad);
  f = ImageFile::Open(path_);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(BzImageVersionString(*f).ok());
}

// Optional: the distribution kernel of the build machine, when there is one.
// The synthetic images above cover the logic; this checks real-world headers.
TEST(HostKernelTest, LoadsAnInstalledBzImage) {
  std::string kernel;
  if (DIR* dir = opendir("/boot")) {
    while (dirent* e = readdir(dir)) {
      if (std::strncmp(e->d_name, "vmlinuz-", 8) == 0) {
        kernel = absl::StrCat("/boot/", e->d_name);
        break;
      }
    }
    closedir(dir);
  }
  if (kernel.empty()) GTEST_SKIP() << "no /boot/vmlinuz-* on this machine";
  if (access(kernel.c_str(), R_OK) != 0) {
    GTEST_SKIP() << kernel << " is not readable by this user";
  }
  const std::string release = kernel.substr(std::strlen("/boot/vmlinuz-"));
  auto mem = std::move(GuestMemory::Create(512 * kMiB)).value();
  KernelLoadRequest req;
  req.kernel_path = kernel;
  req.cmdline = "console=ttyS0 root=/dev/vda";
  // Its initrd too, when there is one we may read.
  const std::string initrd = "/boot/initrd.img-" + release;
  if (access(initrd.c_str(), R_OK) == 0) req.initrd_path = initrd;
  auto state = LoadKernel(*mem, req);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(state->efer & kEferLma);
  EXPECT_EQ(state->rip & 0xfff, 0x200u);
  EXPECT_GE(state->rip, 0x100000u);
  auto zp_hdr = mem->ReadObject<uint32_t>(layout::kZeroPageAddr + 0x202);
  ASSERT_TRUE(zp_hdr.ok());
  EXPECT_EQ(*zp_hdr, 0x53726448u) << "HdrS";

  if (req.initrd_path.has_value()) {
    auto image = mem->ReadObject<uint32_t>(layout::kZeroPageAddr + 0x218);
    auto size = mem->ReadObject<uint32_t>(layout::kZeroPageAddr + 0x21c);
    auto max = mem->ReadObject<uint32_t>(layout::kZeroPageAddr + 0x22c);
    ASSERT_TRUE(image.ok() && size.ok() && max.ok());
    EXPECT_GT(*size, 0u);
    EXPECT_EQ(*image % 4096, 0u);
    EXPECT_LE(uint64_t{*image} + *size - 1, *max);
    EXPECT_LE(uint64_t{*image} + *size, 512 * kMiB);
  }

  auto version = KernelVersionString(kernel);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_TRUE(absl::StartsWith(*version, "Linux version " + release))
      << *version;
}

}  // namespace
}  // namespace kuml
