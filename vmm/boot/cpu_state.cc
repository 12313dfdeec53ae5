#include "vmm/boot/cpu_state.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_format.h"
#include "vmm/boot/layout.h"
#include "vmm/boot/le_bytes.h"

namespace kuml {
namespace {

// Segment types (the 4-bit type field).
constexpr uint8_t kTypeCodeExecReadAccessed = 0xb;
constexpr uint8_t kTypeDataReadWriteAccessed = 0x3;
constexpr uint8_t kTypeBusyTss = 0xb;  // 32-bit busy TSS / 64-bit busy TSS
constexpr uint32_t kTssLimit = 0x67;   // smallest legal TSS

SegmentDescriptor FlatSegment(uint16_t selector, uint8_t type) {
  SegmentDescriptor seg;
  seg.base = 0;
  seg.limit = 0xffffffff;
  seg.selector = selector;
  seg.type = type;
  seg.present = 1;
  seg.dpl = 0;
  seg.db = 1;
  seg.s = 1;
  seg.l = 0;
  seg.g = 1;
  return seg;
}

SegmentDescriptor BusyTss() {
  SegmentDescriptor seg;
  seg.base = 0;
  seg.limit = kTssLimit;
  seg.selector = layout::kTssSelector;
  seg.type = kTypeBusyTss;
  seg.present = 1;
  seg.s = 0;
  seg.g = 0;
  return seg;
}

void SetTables(BootCpuState& state) {
  state.gdt.base = layout::kGdtAddr;
  state.gdt.limit = layout::kGdtBytes - 1;
  state.idt.base = layout::kIdtAddr;
  state.idt.limit = layout::kIdtBytes - 1;
}

void SetDataSegments(BootCpuState& state, const SegmentDescriptor& data) {
  state.ds = data;
  state.es = data;
  state.fs = data;
  state.gs = data;
  state.ss = data;
}

}  // namespace

BootCpuState ProtectedMode32BootState(uint32_t entry, uint32_t start_info) {
  BootCpuState state;
  state.rip = entry;
  state.rbx = start_info;
  state.rsp = layout::kBootStackPointer;
  state.cr0 = kCr0Pe | kCr0Et;
  SetTables(state);
  state.cs = FlatSegment(layout::kCodeSelector, kTypeCodeExecReadAccessed);
  SetDataSegments(
      state, FlatSegment(layout::kDataSelector, kTypeDataReadWriteAccessed));
  state.tr = BusyTss();
  return state;
}

BootCpuState LongMode64BootState(uint64_t entry, uint64_t zero_page) {
  BootCpuState state;
  state.rip = entry;
  state.rsi = zero_page;
  state.rsp = layout::kBootStackPointer;
  state.cr0 = kCr0Pe | kCr0Et | kCr0Ne | kCr0Pg;
  state.cr3 = layout::kPml4Addr;
  state.cr4 = kCr4Pae;
  state.efer = kEferLme | kEferLma;
  SetTables(state);
  state.cs = FlatSegment(layout::kCodeSelector, kTypeCodeExecReadAccessed);
  state.cs.l = 1;
  state.cs.db = 0;  // L = 1 requires D = 0
  SetDataSegments(
      state, FlatSegment(layout::kDataSelector, kTypeDataReadWriteAccessed));
  state.tr = BusyTss();
  return state;
}

absl::StatusOr<EncodedDescriptor> EncodeDescriptor(const SegmentDescriptor& seg,
                                                   bool long_mode) {
  uint32_t raw_limit = seg.limit;
  if (seg.g) {
    // With 4 KiB granularity the low 12 bits of the byte limit are implied
    // ones; anything else cannot be written in a descriptor.
    if ((seg.limit & 0xfff) != 0xfff) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "segment limit %#x is not page-granular but g = 1", seg.limit));
    }
    raw_limit = seg.limit >> 12;
  } else if (seg.limit > 0xfffff) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "segment limit %#x needs g = 1 (20-bit limit)", seg.limit));
  }
  if (!long_mode || seg.s) {
    if (seg.base > 0xffffffff) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "segment base %#x does not fit an 8-byte descriptor", seg.base));
    }
  }
  EncodedDescriptor d;
  d.low = (raw_limit & 0xffffull) | ((seg.base & 0xffffffull) << 16) |
          (static_cast<uint64_t>(seg.type & 0xf) << 40) |
          (static_cast<uint64_t>(seg.s & 1) << 44) |
          (static_cast<uint64_t>(seg.dpl & 3) << 45) |
          (static_cast<uint64_t>(seg.present & 1) << 47) |
          (static_cast<uint64_t>((raw_limit >> 16) & 0xf) << 48) |
          (static_cast<uint64_t>(seg.avl & 1) << 52) |
          (static_cast<uint64_t>(seg.l & 1) << 53) |
          (static_cast<uint64_t>(seg.db & 1) << 54) |
          (static_cast<uint64_t>(seg.g & 1) << 55) |
          (((seg.base >> 24) & 0xffull) << 56);
  if (long_mode && !seg.s) d.high = seg.base >> 32;
  return d;
}

absl::Status WriteBootGdt(GuestMemory& mem, const BootCpuState& state) {
  const bool long_mode = (state.efer & kEferLma) != 0;
  const size_t gdt_bytes = static_cast<size_t>(state.gdt.limit) + 1;
  std::vector<uint8_t> gdt(gdt_bytes, 0);
  std::vector<bool> used(gdt_bytes / 8, false);

  const SegmentDescriptor* segs[] = {&state.cs, &state.ds, &state.es, &state.fs,
                                     &state.gs, &state.ss, &state.tr};
  for (const SegmentDescriptor* seg : segs) {
    if ((seg->selector & 0x4) != 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("selector %#x points into an LDT", seg->selector));
    }
    const size_t index = seg->selector >> 3;
    if (index == 0) {
      return absl::InvalidArgumentError("boot segment uses the null selector");
    }
    absl::StatusOr<EncodedDescriptor> d = EncodeDescriptor(*seg, long_mode);
    if (!d.ok()) return d.status();
    const size_t slots = (long_mode && !seg->s) ? 2 : 1;
    if ((index + slots) * 8 > gdt_bytes) {
      return absl::InvalidArgumentError(
          absl::StrFormat("selector %#x lies outside the %u-byte GDT",
                          seg->selector, gdt_bytes));
    }
    uint8_t bytes[16];
    StoreLe64(bytes, d->low);
    StoreLe64(bytes + 8, d->high);
    for (size_t i = 0; i < slots; ++i) {
      uint8_t* slot = &gdt[(index + i) * 8];
      if (used[index + i]) {
        if (std::memcmp(slot, bytes + 8 * i, 8) != 0) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "two boot segments share selector %#x with different "
              "descriptors",
              seg->selector));
        }
        continue;
      }
      std::memcpy(slot, bytes + 8 * i, 8);
      used[index + i] = true;
    }
  }
  absl::Status s = mem.Write(state.gdt.base, gdt.data(), gdt.size());
  if (!s.ok()) return s;
  return mem.Zero(state.idt.base, static_cast<uint64_t>(state.idt.limit) + 1);
}

}  // namespace kuml
