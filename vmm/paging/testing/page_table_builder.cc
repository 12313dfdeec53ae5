#include "vmm/paging/testing/page_table_builder.h"

#include "absl/strings/str_format.h"

namespace kuml {

absl::StatusOr<PageTableBuilder> PageTableBuilder::Create(GuestMemory* memory,
                                                          uint64_t area_gpa,
                                                          uint64_t area_bytes) {
  if (area_gpa % 4096 != 0 || area_bytes % 4096 != 0 ||
      !memory->Contains(area_gpa, area_bytes)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("page table area [%#x, +%#x) is not aligned guest RAM",
                        area_gpa, area_bytes));
  }
  PageTableBuilder builder(memory, area_gpa, area_gpa + area_bytes);
  absl::StatusOr<uint64_t> pml4 = builder.NewTable();
  if (!pml4.ok()) return pml4.status();
  builder.pml4_ = *pml4;
  return builder;
}

absl::StatusOr<uint64_t> PageTableBuilder::NewTable() {
  if (next_ == end_) {
    return absl::ResourceExhaustedError("page table area is full");
  }
  const uint64_t table = next_;
  next_ += 4096;
  absl::Status s = memory_->Zero(table, 4096);
  if (!s.ok()) return s;
  return table;
}

absl::Status PageTableBuilder::Map(uint64_t gva, uint64_t gpa) {
  if (gva % 4096 != 0 || gpa % 4096 != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("map %#x -> %#x: not 4 KiB aligned", gva, gpa));
  }
  uint64_t table = pml4_;
  for (int shift : {39, 30, 21}) {
    const uint64_t entry_gpa = table + ((gva >> shift) & 0x1ff) * 8;
    absl::StatusOr<uint64_t> entry = memory_->ReadObject<uint64_t>(entry_gpa);
    if (!entry.ok()) return entry.status();
    if ((*entry & kPtePresent) == 0) {
      absl::StatusOr<uint64_t> next = NewTable();
      if (!next.ok()) return next.status();
      *entry = *next | kPtePresent | kPteWritable;
      absl::Status s = memory_->WriteObject(entry_gpa, *entry);
      if (!s.ok()) return s;
    }
    table = *entry & kPteAddressMask;
  }
  return memory_->WriteObject<uint64_t>(table + ((gva >> 12) & 0x1ff) * 8,
                                        gpa | kPtePresent | kPteWritable);
}

absl::Status PageTableBuilder::MapRange(uint64_t gva, uint64_t gpa,
                                        uint64_t bytes) {
  for (uint64_t off = 0; off < bytes; off += 4096) {
    absl::Status s = Map(gva + off, gpa + off);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

PagingRegs PageTableBuilder::LongModeRegs() const {
  PagingRegs regs;
  regs.cr0 = kCr0Pe | kCr0Pg;
  regs.cr3 = pml4_;
  regs.cr4 = kCr4Pae;
  regs.efer = kEferLme | kEferLma;
  return regs;
}

}  // namespace kuml
