#include "vmm/boot/pvh.h"

#include <vector>

#include "gtest/gtest.h"
#include "vmm/boot/e820.h"
#include "vmm/boot/layout.h"
#include "vmm/guest_memory.h"

namespace kuml {
namespace {

void CheckMemmap(const GuestMemory& mem, const HvmStartInfo& info) {
  const std::vector<E820Entry> want = BuildE820Map(mem);
  ASSERT_EQ(info.memmap_entries, want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    auto e = mem.ReadObject<HvmMemmapTableEntry>(
        info.memmap_paddr + i * sizeof(HvmMemmapTableEntry));
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->addr, want[i].addr) << i;
    EXPECT_EQ(e->size, want[i].size) << i;
    EXPECT_EQ(e->type, want[i].type) << i;
    EXPECT_EQ(e->reserved, 0u) << i;
  }
}

TEST(PvhTest, StartInfoWithInitrd) {
  auto mem = std::move(GuestMemory::Create(64 << 20)).value();
  const InitrdPlacement initrd{0x3000000, 12345};
  auto state = SetupPvhBoot(*mem, 0x1000abc, initrd);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->rip, 0x1000abcu);
  EXPECT_EQ(state->rbx, layout::kPvhStartInfoAddr);
  EXPECT_EQ(state->efer, 0u);

  auto info = mem->ReadObject<HvmStartInfo>(state->rbx);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->magic, 0x336ec578u);
  EXPECT_EQ(info->version, 1u);
  EXPECT_EQ(info->flags, 0u);
  EXPECT_EQ(info->cmdline_paddr, layout::kCmdlineAddr);
  EXPECT_EQ(info->rsdp_paddr, 0u);
  CheckMemmap(*mem, *info);
  ASSERT_EQ(info->nr_modules, 1u);
  auto mod = mem->ReadObject<HvmModlistEntry>(info->modlist_paddr);
  ASSERT_TRUE(mod.ok());
  EXPECT_EQ(mod->paddr, initrd.addr);
  EXPECT_EQ(mod->size, initrd.size);
  EXPECT_EQ(mod->cmdline_paddr, 0u);

  // start_info, memmap and module list do not overlap each other.
  EXPECT_LE(state->rbx + sizeof(HvmStartInfo), info->memmap_paddr);
  EXPECT_LE(
      info->memmap_paddr + info->memmap_entries * sizeof(HvmMemmapTableEntry),
      info->modlist_paddr);
}

TEST(PvhTest, NoInitrdMeansNoModules) {
  auto mem = std::move(GuestMemory::Create(64 << 20)).value();
  // A previous boot's start_info must not survive.
  std::vector<uint8_t> junk(0x1000, 0xee);
  ASSERT_TRUE(
      mem->Write(layout::kPvhStartInfoAddr, junk.data(), junk.size()).ok());
  auto state = SetupPvhBoot(*mem, 0x1000000, InitrdPlacement{});
  ASSERT_TRUE(state.ok());
  auto info = mem->ReadObject<HvmStartInfo>(layout::kPvhStartInfoAddr);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->nr_modules, 0u);
  EXPECT_EQ(info->modlist_paddr, 0u);
  EXPECT_EQ(info->reserved, 0u);
}

TEST(PvhTest, MemmapOfALargeGuestIncludesHighRam) {
  auto mem = std::move(GuestMemory::Create(4ull << 30)).value();
  auto state = SetupPvhBoot(*mem, 0x1000000, InitrdPlacement{});
  ASSERT_TRUE(state.ok());
  auto info = mem->ReadObject<HvmStartInfo>(layout::kPvhStartInfoAddr);
  ASSERT_TRUE(info.ok());
  CheckMemmap(*mem, *info);
  auto last = mem->ReadObject<HvmMemmapTableEntry>(
      info->memmap_paddr +
      (info->memmap_entries - 1) * sizeof(HvmMemmapTableEntry));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->addr, GuestMemory::kHighRamStart);
}

TEST(PvhTest, RefusesAnEntryAbove4GiB) {
  auto mem = std::move(GuestMemory::Create(64 << 20)).value();
  EXPECT_FALSE(SetupPvhBoot(*mem, 1ull << 32, InitrdPlacement{}).ok());
}

}  // namespace
}  // namespace kuml
