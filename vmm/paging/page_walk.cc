#include "vmm/paging/page_walk.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_format.h"

namespace kuml {
namespace {

constexpr uint64_t k4KiB = 1ull << 12;

// One level of a walk: its name in messages, the lowest address bit it
// indexes with, how many index bits, and whether PS there maps a page.
struct Level {
  const char* name;
  int shift;
  int index_bits;
  bool large_page;   // PS set maps a page of 1 << shift bytes
  bool ps_reserved;  // PS set is an error (PML5, PML4)
};

constexpr Level kPml5 = {"PML5", 48, 9, false, true};
constexpr Level kPml4 = {"PML4", 39, 9, false, true};
constexpr Level kPdptLong = {"PDPT", 30, 9, true, false};
constexpr Level kPdptPae = {"PDPT", 30, 2, false, false};
constexpr Level kPd = {"PD", 21, 9, true, false};
constexpr Level kPt = {"PT", 12, 9, false, false};

constexpr Level kFiveLevel[] = {kPml5, kPml4, kPdptLong, kPd, kPt};
constexpr Level kFourLevel[] = {kPml4, kPdptLong, kPd, kPt};
constexpr Level kPae[] = {kPdptPae, kPd, kPt};

bool IsCanonical(uint64_t gva, int bits) {
  const int unused = 64 - bits;
  return static_cast<uint64_t>(static_cast<int64_t>(gva << unused) >> unused) ==
         gva;
}

// Walks `levels` from the table at `table`.
absl::StatusOr<GvaTranslation> Walk(const GuestMemory& memory, uint64_t table,
                                    absl::Span<const Level> levels,
                                    uint64_t gva) {
  for (const Level& level : levels) {
    const uint64_t index =
        (gva >> level.shift) & ((1ull << level.index_bits) - 1);
    const uint64_t entry_gpa = table + index * 8;
    absl::StatusOr<uint64_t> entry = memory.ReadObject<uint64_t>(entry_gpa);
    if (!entry.ok()) {
      return absl::OutOfRangeError(absl::StrFormat(
          "guest virtual address %#x: %s entry %u at guest physical %#x is "
          "not guest RAM",
          gva, level.name, index, entry_gpa));
    }
    if ((*entry & kPtePresent) == 0) {
      return absl::NotFoundError(absl::StrFormat(
          "guest virtual address %#x: %s entry %u at guest physical %#x is "
          "not present (%#x)",
          gva, level.name, index, entry_gpa, *entry));
    }
    const bool ps = (*entry & kPteLarge) != 0;
    if (ps && level.ps_reserved) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "guest virtual address %#x: %s entry %u at guest physical %#x has "
          "the reserved PS bit set (%#x)",
          gva, level.name, index, entry_gpa, *entry));
    }
    if ((ps && level.large_page) || level.shift == 12) {
      const uint64_t page_size = 1ull << level.shift;
      const uint64_t base = *entry & kPteAddressMask & ~(page_size - 1);
      return GvaTranslation{base | (gva & (page_size - 1)), page_size};
    }
    table = *entry & kPteAddressMask;
  }
  // Unreachable: the last level of every walk is the PT.
  return absl::InternalError("page walk ended without a page");
}

// One piece of a virtual range that is contiguous in guest physical memory.
struct Piece {
  uint64_t gpa;
  uint64_t len;
};

// Splits [gva, gva + len) into pieces, each within one page.
absl::StatusOr<std::vector<Piece>> Pieces(const GuestMemory& memory,
                                          const PagingRegs& regs, uint64_t gva,
                                          uint64_t len) {
  std::vector<Piece> pieces;
  if (len == 0) return pieces;
  if (gva + (len - 1) < gva) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "guest virtual range [%#x, +%#x) wraps around the address space", gva,
        len));
  }
  uint64_t done = 0;
  while (done < len) {
    const uint64_t at = gva + done;
    absl::StatusOr<GvaTranslation> t = TranslateGva(memory, regs, at);
    if (!t.ok()) return t.status();
    const uint64_t in_page = t->page_size - (at & (t->page_size - 1));
    const uint64_t n = std::min(in_page, len - done);
    if (!memory.Contains(t->gpa, n)) {
      return absl::OutOfRangeError(absl::StrFormat(
          "guest virtual address %#x maps guest physical %#x, which is not "
          "guest RAM",
          at, t->gpa));
    }
    pieces.push_back({t->gpa, n});
    done += n;
  }
  return pieces;
}

}  // namespace

absl::StatusOr<GvaTranslation> TranslateGva(const GuestMemory& memory,
                                            const PagingRegs& regs,
                                            uint64_t gva) {
  if ((regs.cr0 & kCr0Pg) == 0) return GvaTranslation{gva, k4KiB};
  if ((regs.cr4 & kCr4Pae) == 0) {
    return absl::UnimplementedError(absl::StrFormat(
        "guest virtual address %#x: 32-bit paging without PAE (CR0 %#x, CR4 "
        "%#x) is not supported",
        gva, regs.cr0, regs.cr4));
  }
  if ((regs.efer & kEferLma) == 0) {
    if (gva > 0xffff'ffffull) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "guest virtual address %#x is beyond 32 bits in PAE mode", gva));
    }
    // CR3 bits 31:5 hold the PDPT's address in PAE mode.
    return Walk(memory, regs.cr3 & 0xffff'ffe0ull, kPae, gva);
  }
  const bool la57 = (regs.cr4 & kCr4La57) != 0;
  if (!IsCanonical(gva, la57 ? 57 : 48)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "guest virtual address %#x is not canonical (%d-bit addresses)", gva,
        la57 ? 57 : 48));
  }
  // The low 12 bits of CR3 are flags or the PCID, the high ones flags.
  const uint64_t root = regs.cr3 & kPteAddressMask;
  if (la57) return Walk(memory, root, kFiveLevel, gva);
  return Walk(memory, root, kFourLevel, gva);
}

absl::Status ReadGva(const GuestMemory& memory, const PagingRegs& regs,
                     uint64_t gva, absl::Span<uint8_t> dst) {
  absl::StatusOr<std::vector<Piece>> pieces =
      Pieces(memory, regs, gva, dst.size());
  if (!pieces.ok()) return pieces.status();
  uint8_t* out = dst.data();
  for (const Piece& p : *pieces) {
    absl::Status s = memory.Read(p.gpa, out, p.len);
    if (!s.ok()) return s;
    out += p.len;
  }
  return absl::OkStatus();
}

absl::Status WriteGva(GuestMemory& memory, const PagingRegs& regs, uint64_t gva,
                      absl::Span<const uint8_t> src) {
  absl::StatusOr<std::vector<Piece>> pieces =
      Pieces(memory, regs, gva, src.size());
  if (!pieces.ok()) return pieces.status();
  const uint8_t* in = src.data();
  for (const Piece& p : *pieces) {
    absl::Status s = memory.Write(p.gpa, in, p.len);
    if (!s.ok()) return s;
    in += p.len;
  }
  return absl::OkStatus();
}

}  // namespace kuml
