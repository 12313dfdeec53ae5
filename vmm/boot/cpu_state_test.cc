#include "vmm/boot/cpu_state.h"

#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "vmm/boot/layout.h"
#include "vmm/boot/le_bytes.h"
#include "vmm/guest_memory.h"

namespace kuml {
namespace {

// An independent decoder of GDT entries (Intel SDM vol. 3, 3.4.5), written
// from the descriptor format rather than from the encoder.
SegmentDescriptor Decode(const uint8_t* entry, bool long_mode) {
  const uint64_t d = LoadLe64(entry);
  SegmentDescriptor s;
  uint32_t raw_limit =
      static_cast<uint32_t>((d & 0xffff) | ((d >> 32) & 0xf0000));
  s.base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
  s.type = (d >> 40) & 0xf;
  s.s = (d >> 44) & 1;
  s.dpl = (d >> 45) & 3;
  s.present = (d >> 47) & 1;
  s.avl = (d >> 52) & 1;
  s.l = (d >> 53) & 1;
  s.db = (d >> 54) & 1;
  s.g = (d >> 55) & 1;
  s.limit = s.g ? (raw_limit << 12) | 0xfff : raw_limit;
  if (long_mode && !s.s) s.base |= LoadLe64(entry + 8) << 32;
  return s;
}

void ExpectSameDescriptor(const SegmentDescriptor& want,
                          const SegmentDescriptor& got, const char* name) {
  SCOPED_TRACE(name);
  EXPECT_EQ(got.base, want.base);
  EXPECT_EQ(got.limit, want.limit);
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.present, want.present);
  EXPECT_EQ(got.dpl, want.dpl);
  EXPECT_EQ(got.db, want.db);
  EXPECT_EQ(got.s, want.s);
  EXPECT_EQ(got.l, want.l);
  EXPECT_EQ(got.g, want.g);
  EXPECT_EQ(got.avl, want.avl);
}

// Writes the GDT for `state` over garbage and checks every segment register
// against the bytes in guest RAM.
void CheckGdtMatchesState(const BootCpuState& state) {
  auto mem = std::move(GuestMemory::Create(2 << 20)).value();
  std::vector<uint8_t> junk(0x100, 0xa5);
  ASSERT_TRUE(mem->Write(layout::kGdtAddr, junk.data(), junk.size()).ok());
  ASSERT_TRUE(WriteBootGdt(*mem, state).ok());

  const bool long_mode = (state.efer & kEferLma) != 0;
  std::vector<uint8_t> gdt(state.gdt.limit + 1);
  ASSERT_TRUE(mem->Read(state.gdt.base, gdt.data(), gdt.size()).ok());
  EXPECT_EQ(LoadLe64(&gdt[0]), 0u) << "entry 0 must be null";
  EXPECT_EQ(LoadLe64(&gdt[8]), 0u) << "entry 1 must be null";
  const struct {
    const SegmentDescriptor* seg;
    const char* name;
  } regs[] = {{&state.cs, "cs"}, {&state.ds, "ds"}, {&state.es, "es"},
              {&state.fs, "fs"}, {&state.gs, "gs"}, {&state.ss, "ss"},
              {&state.tr, "tr"}};
  for (const auto& r : regs) {
    const size_t off = r.seg->selector & ~7u;
    ASSERT_LT(off + 8, gdt.size() + 1) << r.name;
    ExpectSameDescriptor(*r.seg, Decode(&gdt[off], long_mode), r.name);
  }
  std::vector<uint8_t> idt(state.idt.limit + 1, 0xff);
  ASSERT_TRUE(mem->Write(state.idt.base, idt.data(), idt.size()).ok());
  ASSERT_TRUE(WriteBootGdt(*mem, state).ok());
  ASSERT_TRUE(mem->Read(state.idt.base, idt.data(), idt.size()).ok());
  for (uint8_t b : idt) EXPECT_EQ(b, 0);
  // GDT and IDT must not overlap.
  EXPECT_TRUE(state.gdt.base + state.gdt.limit < state.idt.base ||
              state.idt.base + state.idt.limit < state.gdt.base);
}

TEST(CpuStateTest, LongModeStateFollowsThe64BitBootProtocol) {
  const BootCpuState s = LongMode64BootState(0x1000200, 0x7000);
  EXPECT_EQ(s.rip, 0x1000200u);
  EXPECT_EQ(s.rsi, 0x7000u);
  EXPECT_EQ(s.rbx, 0u);
  EXPECT_EQ(s.rflags & (1u << 9), 0u) << "interrupts must be off";
  EXPECT_EQ(s.rflags & 2u, 2u);
  EXPECT_TRUE(s.cr0 & kCr0Pe);
  EXPECT_TRUE(s.cr0 & kCr0Pg);
  EXPECT_TRUE(s.cr4 & kCr4Pae);
  EXPECT_EQ(s.efer & (kEferLme | kEferLma), kEferLme | kEferLma);
  EXPECT_EQ(s.cr3, layout::kPml4Addr);
  EXPECT_EQ(s.cs.selector, 0x10);
  EXPECT_EQ(s.cs.l, 1);
  EXPECT_EQ(s.cs.db, 0) << "L=1 with D=1 is reserved";
  EXPECT_EQ(s.cs.type & 0x8, 0x8) << "code segment";
  for (const SegmentDescriptor* d : {&s.ds, &s.es, &s.ss}) {
    EXPECT_EQ(d->selector, 0x18);
    EXPECT_EQ(d->type & 0xa, 0x2) << "writable data segment";
    EXPECT_EQ(d->present, 1);
  }
  EXPECT_EQ(s.tr.type, 0xb) << "VMX wants a busy 64-bit TSS in long mode";
  EXPECT_EQ(s.tr.s, 0);
  EXPECT_EQ(s.tr.present, 1);
  EXPECT_GE(s.tr.limit, 0x67u);
  CheckGdtMatchesState(s);
}

TEST(CpuStateTest, ProtectedModeStateFollowsThePvhAbi) {
  const BootCpuState s = ProtectedMode32BootState(0x1234560, 0x6000);
  EXPECT_EQ(s.rip, 0x1234560u);
  EXPECT_EQ(s.rbx, 0x6000u);
  EXPECT_EQ(s.rflags & (1u << 9), 0u);
  EXPECT_EQ(s.cr0 & (kCr0Pe | kCr0Pg), kCr0Pe) << "PE on, paging off";
  EXPECT_TRUE(s.cr0 & kCr0Et);
  EXPECT_EQ(s.cr4, 0u);
  EXPECT_EQ(s.efer, 0u);
  EXPECT_EQ(s.cs.type, 0xb);
  EXPECT_EQ(s.cs.db, 1);
  EXPECT_EQ(s.cs.l, 0);
  EXPECT_EQ(s.cs.g, 1);
  EXPECT_EQ(s.cs.base, 0u);
  EXPECT_EQ(s.cs.limit, 0xffffffffu);
  for (const SegmentDescriptor* d : {&s.ds, &s.es, &s.fs, &s.gs, &s.ss}) {
    EXPECT_EQ(d->type, 0x3);
    EXPECT_EQ(d->limit, 0xffffffffu);
    EXPECT_EQ(d->base, 0u);
    EXPECT_EQ(d->db, 1);
  }
  EXPECT_EQ(s.tr.type, 0xb) << "busy 32-bit TSS";
  CheckGdtMatchesState(s);
}

TEST(CpuStateTest, EncodesTheClassicBootDescriptors) {
  // The values Linux's own boot code uses for __BOOT_CS / __BOOT_DS.
  const BootCpuState s = LongMode64BootState(0, 0);
  auto cs = EncodeDescriptor(s.cs, true);
  auto ds = EncodeDescriptor(s.ds, true);
  ASSERT_TRUE(cs.ok() && ds.ok());
  EXPECT_EQ(cs->low, 0x00af9b000000ffffull);
  EXPECT_EQ(ds->low, 0x00cf93000000ffffull);
  const BootCpuState p = ProtectedMode32BootState(0, 0);
  auto cs32 = EncodeDescriptor(p.cs, false);
  ASSERT_TRUE(cs32.ok());
  EXPECT_EQ(cs32->low, 0x00cf9b000000ffffull);
}

TEST(CpuStateTest, SystemDescriptorKeepsHighBaseInLongMode) {
  SegmentDescriptor tss;
  tss.base = 0x123456789abcdef0ull;
  tss.limit = 0x67;
  tss.type = 0xb;
  tss.present = 1;
  auto d = EncodeDescriptor(tss, true);
  ASSERT_TRUE(d.ok());
  uint8_t bytes[16];
  StoreLe64(bytes, d->low);
  StoreLe64(bytes + 8, d->high);
  EXPECT_EQ(Decode(bytes, true).base, tss.base);
  // The same base cannot be written in an 8-byte (32-bit) descriptor.
  EXPECT_FALSE(EncodeDescriptor(tss, false).ok());
}

TEST(CpuStateTest, RefusesLimitsTheGranularityCannotExpress) {
  SegmentDescriptor seg;
  seg.s = 1;
  seg.g = 1;
  seg.limit = 0xfffff000;  // low 12 bits must be ones with g = 1
  EXPECT_FALSE(EncodeDescriptor(seg, false).ok());
  seg.g = 0;
  seg.limit = 0x100000;  // over 20 bits needs g = 1
  EXPECT_FALSE(EncodeDescriptor(seg, false).ok());
}

TEST(CpuStateTest, WriteBootGdtRefusesInconsistentSelectors) {
  auto mem = std::move(GuestMemory::Create(2 << 20)).value();
  BootCpuState s = LongMode64BootState(0, 0);
  s.tr.selector = 0x28;  // 16-byte TSS at 0x28 runs past the 48-byte GDT
  EXPECT_FALSE(WriteBootGdt(*mem, s).ok());
  s = LongMode64BootState(0, 0);
  s.ds.selector = 0x10;  // shares CS's slot with a different descriptor
  EXPECT_FALSE(WriteBootGdt(*mem, s).ok());
  s = LongMode64BootState(0, 0);
  s.ss.selector = 0;
  EXPECT_FALSE(WriteBootGdt(*mem, s).ok());
  s = LongMode64BootState(0, 0);
  s.gdt.base = 4 << 20;  // not guest RAM
  EXPECT_FALSE(WriteBootGdt(*mem, s).ok());
}

}  // namespace
}  // namespace kuml
