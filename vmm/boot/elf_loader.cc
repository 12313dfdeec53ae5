#include "vmm/boot/elf_loader.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "vmm/boot/e820.h"
#include "vmm/boot/layout.h"
#include "vmm/boot/le_bytes.h"

namespace kuml {
namespace {

// A vmlinux has a handful of program headers; far more means a corrupt file.
constexpr uint16_t kMaxProgramHeaders = 256;
// Linux's note segment is well under a page; refuse to buffer a huge one.
constexpr uint64_t kMaxNoteSegmentBytes = 1 << 20;
constexpr uint64_t kMiB = 1 << 20;

absl::Status Invalid(const ImageFile& file, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(file.path(), ": ", what));
}

uint64_t MiBRoundedUp(uint64_t bytes) { return (bytes + kMiB - 1) / kMiB; }

absl::Status CheckHeader(const ImageFile& file, const Elf64_Ehdr& eh) {
  if (!HasElfMagic(eh.e_ident, EI_NIDENT)) {
    return Invalid(file, "not an ELF file");
  }
  if (eh.e_ident[EI_CLASS] != ELFCLASS64) {
    return Invalid(file, "not a 64-bit ELF file (a 32-bit kernel?)");
  }
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB) {
    return Invalid(file, "not a little-endian ELF file");
  }
  if (eh.e_ident[EI_VERSION] != EV_CURRENT || eh.e_version != EV_CURRENT) {
    return Invalid(file, "unknown ELF version");
  }
  if (eh.e_machine != EM_X86_64) {
    return Invalid(file, absl::StrFormat("ELF machine %u is not x86-64 (%u)",
                                         eh.e_machine, EM_X86_64));
  }
  if (eh.e_type != ET_EXEC) {
    return Invalid(
        file, absl::StrFormat("ELF type %u is not an executable", eh.e_type));
  }
  if (eh.e_phentsize != sizeof(Elf64_Phdr)) {
    return Invalid(file, absl::StrFormat("ELF program header size %u, not %u",
                                         eh.e_phentsize, sizeof(Elf64_Phdr)));
  }
  if (eh.e_phnum == 0 || eh.e_phnum > kMaxProgramHeaders) {
    return Invalid(file,
                   absl::StrFormat("ELF program header count %u is out of "
                                   "range (1..%u)",
                                   eh.e_phnum, kMaxProgramHeaders));
  }
  if (!file.Has(eh.e_phoff,
                static_cast<uint64_t>(eh.e_phnum) * sizeof(Elf64_Phdr))) {
    return Invalid(
        file, absl::StrFormat("truncated or corrupt: %u program headers at "
                              "offset %#x run past the end of the %u-byte file",
                              eh.e_phnum, eh.e_phoff, file.size()));
  }
  return absl::OkStatus();
}

// Checks one PT_LOAD segment against the file and guest RAM.
absl::Status CheckLoadSegment(const ImageFile& file, const GuestMemory& mem,
                              int index, const Elf64_Phdr& ph) {
  if (ph.p_filesz > ph.p_memsz) {
    return Invalid(
        file,
        absl::StrFormat("segment %d: file size %#x exceeds memory size %#x",
                        index, ph.p_filesz, ph.p_memsz));
  }
  if (!file.Has(ph.p_offset, ph.p_filesz)) {
    return Invalid(
        file, absl::StrFormat("truncated or corrupt: segment %d needs file "
                              "bytes [%#x, +%#x) but the file has %u bytes",
                              index, ph.p_offset, ph.p_filesz, file.size()));
  }
  if (ph.p_paddr > UINT64_MAX - ph.p_memsz) {
    return Invalid(
        file, absl::StrFormat("segment %d: address %#x + size %#x overflows",
                              index, ph.p_paddr, ph.p_memsz));
  }
  const uint64_t end = ph.p_paddr + ph.p_memsz;
  if (ph.p_paddr < layout::kHighMemoryStart) {
    return Invalid(
        file, absl::StrFormat("segment %d at %#x lies below 1 MiB, where the "
                              "boot tables go",
                              index, ph.p_paddr));
  }
  if (end > GuestMemory::kMmioHoleStart) {
    return Invalid(
        file, absl::StrFormat("segment %d [%#x, %#x) is beyond the 32-bit RAM "
                              "a PVH kernel can be loaded into",
                              index, ph.p_paddr, end));
  }
  const uint64_t low_end = LowRamEnd(mem);
  if (end > low_end) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%s: kernel needs %u MiB; guest has %u MiB: raise mem=", file.path(),
        MiBRoundedUp(end), mem.ram_bytes() / kMiB));
  }
  return absl::OkStatus();
}

// Scans one note segment for the notes in VmlinuxNotes; a note found in an
// earlier segment stays.
absl::Status ScanNotes(const ImageFile& file, const std::vector<uint8_t>& notes,
                       uint64_t align, VmlinuxNotes* found) {
  auto round_up = [align](uint64_t v) {
    return (v + align - 1) & ~(align - 1);
  };
  const uint64_t size = notes.size();
  uint64_t off = 0;
  while (size - off >= 12) {
    const uint64_t namesz = LoadLe32(&notes[off]);
    const uint64_t descsz = LoadLe32(&notes[off + 4]);
    const uint32_t type = LoadLe32(&notes[off + 8]);
    const uint64_t name_off = off + 12;
    // The descriptor and the next note start aligned, counted from the
    // (aligned) segment start. All values are < 2^32 and off < 2^20: no sum
    // below can overflow.
    const uint64_t desc_off = round_up(name_off + namesz);
    if (namesz > size - name_off || desc_off > size ||
        descsz > size - desc_off) {
      return Invalid(
          file, absl::StrFormat("corrupt ELF note at note offset %#x", off));
    }
    if (namesz == 4 && std::memcmp(&notes[name_off], "Xen", 4) == 0 &&
        type == kXenElfNotePhys32Entry && !found->pvh_entry.has_value()) {
      if (descsz == 4) {
        found->pvh_entry = LoadLe32(&notes[desc_off]);
      } else if (descsz == 8) {
        found->pvh_entry = LoadLe64(&notes[desc_off]);
      } else {
        return Invalid(file, absl::StrFormat(
                                 "XEN_ELFNOTE_PHYS32_ENTRY has a %u-byte value "
                                 "(expected 4 or 8)",
                                 descsz));
      }
    }
    // A version (u32, 1 so far); a malformed one is no promise.
    if (namesz == 5 && std::memcmp(&notes[name_off], "kuml", 5) == 0 &&
        type == kKumlElfNoteUmlNames && descsz == 4 &&
        LoadLe32(&notes[desc_off]) >= 1) {
      found->kuml_uml_names = true;
    }
    const uint64_t next = round_up(desc_off + descsz);
    if (next <= off || next > size) break;  // last note, padding omitted
    off = next;
  }
  return absl::OkStatus();
}

// Reads and checks the ELF header and program headers.
absl::StatusOr<std::vector<Elf64_Phdr>> ReadProgramHeaders(
    const ImageFile& file) {
  Elf64_Ehdr eh;
  absl::Status s = file.ReadAt(0, &eh, sizeof(eh), "ELF header");
  if (!s.ok()) return s;
  s = CheckHeader(file, eh);
  if (!s.ok()) return s;
  std::vector<Elf64_Phdr> phdrs(eh.e_phnum);
  s = file.ReadAt(eh.e_phoff, phdrs.data(), phdrs.size() * sizeof(Elf64_Phdr),
                  "program headers");
  if (!s.ok()) return s;
  return phdrs;
}

// Scans note segment `i`.
absl::Status ScanNoteSegment(const ImageFile& file, int i, const Elf64_Phdr& ph,
                             VmlinuxNotes* found) {
  if (ph.p_filesz > kMaxNoteSegmentBytes) {
    return Invalid(file,
                   absl::StrFormat("note segment %d is %u bytes; at most %u "
                                   "expected",
                                   i, ph.p_filesz, kMaxNoteSegmentBytes));
  }
  std::vector<uint8_t> notes(ph.p_filesz);
  absl::Status s = file.ReadAt(ph.p_offset, notes.data(), notes.size(),
                               absl::StrCat("note segment ", i));
  if (!s.ok()) return s;
  return ScanNotes(file, notes, ph.p_align == 8 ? 8 : 4, found);
}

}  // namespace

bool HasElfMagic(const uint8_t* head, size_t len) {
  return len >= SELFMAG && std::memcmp(head, ELFMAG, SELFMAG) == 0;
}

absl::StatusOr<VmlinuxNotes> ReadVmlinuxNotes(const ImageFile& file) {
  absl::StatusOr<std::vector<Elf64_Phdr>> phdrs = ReadProgramHeaders(file);
  if (!phdrs.ok()) return phdrs.status();
  VmlinuxNotes found;
  for (int i = 0; i < static_cast<int>(phdrs->size()); ++i) {
    if ((*phdrs)[i].p_type != PT_NOTE) continue;
    absl::Status s = ScanNoteSegment(file, i, (*phdrs)[i], &found);
    if (!s.ok()) return s;
  }
  return found;
}

absl::StatusOr<VmlinuxImage> LoadVmlinux(GuestMemory& mem,
                                         const ImageFile& file) {
  absl::StatusOr<std::vector<Elf64_Phdr>> read = ReadProgramHeaders(file);
  if (!read.ok()) return read.status();
  const std::vector<Elf64_Phdr>& phdrs = *read;
  absl::Status s;

  // Validate everything before the first byte goes into guest RAM.
  VmlinuxImage image;
  image.kernel_start = UINT64_MAX;
  VmlinuxNotes notes;
  int loads = 0;
  for (int i = 0; i < static_cast<int>(phdrs.size()); ++i) {
    const Elf64_Phdr& ph = phdrs[i];
    if (ph.p_type == PT_LOAD) {
      if (ph.p_memsz == 0) continue;
      s = CheckLoadSegment(file, mem, i, ph);
      if (!s.ok()) return s;
      ++loads;
      image.kernel_start = std::min(image.kernel_start, ph.p_paddr);
      image.kernel_end = std::max(image.kernel_end, ph.p_paddr + ph.p_memsz);
    } else if (ph.p_type == PT_NOTE && !notes.pvh_entry.has_value()) {
      s = ScanNoteSegment(file, i, ph, &notes);
      if (!s.ok()) return s;
    }
  }
  const std::optional<uint64_t>& entry = notes.pvh_entry;
  if (loads == 0) return Invalid(file, "no loadable segments");
  if (!entry.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file.path(),
                     ": not a PVH-capable vmlinux (no "
                     "XEN_ELFNOTE_PHYS32_ENTRY); use a bzImage or build with "
                     "CONFIG_PVH"));
  }
  // The entry must be code this loader puts in RAM.
  bool entry_loaded = false;
  for (const Elf64_Phdr& ph : phdrs) {
    if (ph.p_type == PT_LOAD && ph.p_memsz != 0 && *entry >= ph.p_paddr &&
        *entry - ph.p_paddr < ph.p_filesz) {
      entry_loaded = true;
    }
  }
  if (!entry_loaded) {
    return Invalid(file,
                   absl::StrFormat("PVH entry point %#x is not inside a loaded "
                                   "segment",
                                   *entry));
  }
  image.pvh_entry = *entry;

  for (int i = 0; i < static_cast<int>(phdrs.size()); ++i) {
    const Elf64_Phdr& ph = phdrs[i];
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    const std::string what = absl::StrCat("segment ", i);
    s = file.ReadIntoGuest(mem, ph.p_paddr, ph.p_offset, ph.p_filesz, what);
    if (!s.ok()) return s;
    // The bss: guest RAM may hold a previous boot's data (reboot).
    s = mem.Zero(ph.p_paddr + ph.p_filesz, ph.p_memsz - ph.p_filesz);
    if (!s.ok()) return s;
  }
  return image;
}

}  // namespace kuml
