#include "vmm/boot/multiboot_loader.h"

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "vmm/boot/kernel_loader.h"
#include "vmm/boot/layout.h"
#include "vmm/boot/test_images.h"

namespace kuml {
namespace {

// A flat multiboot binary loaded at 1 MiB: a jump, the header at offset 4,
// code, then `bss` bytes of bss.
std::vector<uint8_t> FlatImage(uint32_t flags = 0x10000, uint32_t bss = 0,
                               uint32_t entry_offset = 0x30) {
  std::vector<uint8_t> img(0x100, 0x90);
  auto put = [&](size_t off, uint32_t v) { std::memcpy(&img[off], &v, 4); };
  const uint32_t base = 0x100000;
  put(4, kMultibootHeaderMagic);
  put(8, flags);
  put(12, 0u - kMultibootHeaderMagic - flags);
  put(16, base + 4);  // header_addr
  put(20, base);      // load_addr
  put(24, 0);         // load_end_addr: whole file
  put(28, bss ? base + img.size() + bss : 0);
  put(32, base + entry_offset);
  return img;
}

class MultibootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mem_ = std::move(GuestMemory::Create(16 << 20)).value();
  }
  absl::StatusOr<BootCpuState> Load(const std::vector<uint8_t>& img,
                                    const std::string& cmdline = "a=b") {
    KernelLoadRequest req;
    req.kernel_path = testing::WriteTempFile(
        ::testing::UnitTest::GetInstance()->current_test_info()->name(), img);
    req.cmdline = cmdline;
    return LoadKernel(*mem_, req);
  }
  std::unique_ptr<GuestMemory> mem_;
};

TEST_F(MultibootTest, FindsTheHeader) {
  auto img = FlatImage();
  auto h = FindMultibootHeader(img.data(), img.size());
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->file_offset, 4u);
  EXPECT_EQ(h->entry_addr, 0x100030u);
  img[12] ^= 1;  // checksum broken
  EXPECT_FALSE(FindMultibootHeader(img.data(), img.size()).has_value());
}

TEST_F(MultibootTest, LoadsAndEntersWithMagicAndInfo) {
  auto img = FlatImage(0x10000, /*bss=*/0x1000);
  // Dirty the bss area first: the loader must zero it.
  std::vector<uint8_t> junk(0x1000, 0xee);
  ASSERT_TRUE(mem_->Write(0x100100, junk.data(), junk.size()).ok());
  auto state = Load(img, "hello world");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->rip, 0x100030u);
  EXPECT_EQ(state->rax, kMultibootBootloaderMagic);
  EXPECT_EQ(state->rbx, layout::kZeroPageAddr);
  EXPECT_EQ(state->cr0 & kCr0Pg, 0u);
  uint8_t b = 0;
  ASSERT_TRUE(mem_->Read(0x100000, &b, 1).ok());
  EXPECT_EQ(b, 0x90);
  ASSERT_TRUE(mem_->Read(0x100100 + 0xfff, &b, 1).ok());
  EXPECT_EQ(b, 0) << "bss zeroed";
  uint32_t info[5];
  ASSERT_TRUE(mem_->Read(layout::kZeroPageAddr, info, sizeof info).ok());
  EXPECT_EQ(info[0], 0x5u) << "memory and cmdline valid";
  EXPECT_EQ(info[2], (16u << 20) / 1024 - 1024) << "KiB above 1 MiB";
  char cmdline[12] = {};
  ASSERT_TRUE(mem_->Read(info[4], cmdline, 11).ok());
  EXPECT_STREQ(cmdline, "hello world");
}

TEST_F(MultibootTest, RefusesWhatItCannotDo) {
  // No address fields (an ELF multiboot kernel would need them parsed).
  EXPECT_FALSE(Load(FlatImage(0)).ok());
  // A video mode requirement (flag bit 2).
  auto r = Load(FlatImage(0x10004));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("requires features"), std::string::npos);
  // Entry outside the image.
  EXPECT_FALSE(Load(FlatImage(0x10000, 0, 0x5000)).ok());
  // Bigger than guest RAM through its bss.
  EXPECT_FALSE(Load(FlatImage(0x10000, 64u << 20)).ok());
}

}  // namespace
}  // namespace kuml
