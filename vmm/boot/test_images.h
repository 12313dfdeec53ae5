// Test helpers: synthetic vmlinux (ELF64) and bzImage files, written byte by
// byte so the tests do not depend on any kernel being installed, plus files
// in TEST_TMPDIR.
#ifndef KUML_VMM_BOOT_TEST_IMAGES_H_
#define KUML_VMM_BOOT_TEST_IMAGES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace kuml {
namespace testing {

using Bytes = std::vector<uint8_t>;

// A fresh path in TEST_TMPDIR.
std::string TempPath(const std::string& name);
// Writes `bytes` to a fresh file named `name` and returns its path.
std::string WriteTempFile(const std::string& name, const Bytes& bytes);

void PutLe16(Bytes& b, size_t off, uint16_t v);
void PutLe32(Bytes& b, size_t off, uint32_t v);
void PutLe64(Bytes& b, size_t off, uint64_t v);

// Deterministic, non-zero filler so that loaded bytes can be compared.
Bytes Pattern(size_t len, uint8_t seed);

// --- ELF ---------------------------------------------------------------

constexpr uint32_t kPtLoad = 1;
constexpr uint32_t kPtNote = 4;
constexpr size_t kEhdrBytes = 64;
constexpr size_t kPhdrBytes = 56;
// Offsets of fields in the ELF header and in a program header.
constexpr size_t kEPhoff = 32, kEPhentsize = 54, kEPhnum = 56, kEMachine = 18;
constexpr size_t kPOffset = 8, kPPaddr = 24, kPFilesz = 32, kPMemsz = 40;

struct TestSegment {
  uint32_t type = kPtLoad;
  uint64_t paddr = 0;
  Bytes data;          // p_filesz = data.size()
  uint64_t memsz = 0;  // 0: same as data.size()
  uint64_t align = 4;
};

// An ELF64 x86-64 ET_EXEC file: header, program headers, then each segment's
// data in order (8-byte aligned).
Bytes BuildElf(const std::vector<TestSegment>& segments);
// Offset of program header `i` in a BuildElf file.
inline size_t PhdrOffset(int i) { return kEhdrBytes + kPhdrBytes * i; }

// One ELF note (4-byte aligned unless `align` says 8).
Bytes ElfNote(const std::string& name, uint32_t type, const Bytes& desc,
              size_t align = 4);
// The XEN_ELFNOTE_PHYS32_ENTRY note with a 4- or 8-byte value.
Bytes PvhNote(uint64_t entry, int value_bytes = 8);

// A vmlinux with one PT_LOAD of `code` at `paddr` (memsz = code + bss) and a
// PVH note pointing at `paddr + entry_offset`.
Bytes SimpleVmlinux(uint64_t paddr, const Bytes& code, uint64_t bss,
                    uint64_t entry_offset);

// --- bzImage -----------------------------------------------------------

struct BzImageSpec {
  uint8_t setup_sects = 4;
  uint16_t boot_flag = 0xaa55;
  const char* magic = "HdrS";
  uint16_t version = 0x020f;
  uint8_t jump_disp = 0x6a;      // header ends at 0x202 + this
  uint8_t loadflags = 0x01;      // LOADED_HIGH
  uint16_t xloadflags = 0x0001;  // XLF_KERNEL_64
  uint32_t init_size = 8 << 20;
  uint64_t pref_address = 0x1000000;
  uint32_t kernel_alignment = 0x200000;
  uint8_t relocatable = 1;
  uint32_t cmdline_size = 2047;
  uint32_t initrd_addr_max = 0x7fffffff;
  uint64_t setup_data = 0;
  std::string version_string = "9.8.7-kumltest (test@kuml) #1 SMP";
  Bytes payload = Pattern(64 * 1024, 7);  // the protected-mode kernel
};

Bytes BuildBzImage(const BzImageSpec& spec);
// Bytes of the real-mode part for `spec` ((setup_sects or 4) + 1) * 512.
size_t SetupBytes(const BzImageSpec& spec);

}  // namespace testing
}  // namespace kuml

#endif  // KUML_VMM_BOOT_TEST_IMAGES_H_
