#include "vmm/boot/test_images.h"

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "vmm/boot/le_bytes.h"

namespace kuml {
namespace testing {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

std::string WriteTempFile(const std::string& name, const Bytes& bytes) {
  const std::string path = TempPath(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  EXPECT_TRUE(out.good()) << "writing " << path;
  return path;
}

void PutLe16(Bytes& b, size_t off, uint16_t v) {
  if (b.size() < off + 2) b.resize(off + 2);
  StoreLe16(&b[off], v);
}
void PutLe32(Bytes& b, size_t off, uint32_t v) {
  if (b.size() < off + 4) b.resize(off + 4);
  StoreLe32(&b[off], v);
}
void PutLe64(Bytes& b, size_t off, uint64_t v) {
  if (b.size() < off + 8) b.resize(off + 8);
  StoreLe64(&b[off], v);
}

Bytes Pattern(size_t len, uint8_t seed) {
  Bytes b(len);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < len; ++i) {
    x = x * 1103515245u + 12345u;
    b[i] = static_cast<uint8_t>((x >> 16) | 1);  // never zero
  }
  return b;
}

Bytes BuildElf(const std::vector<TestSegment>& segments) {
  Bytes f(kEhdrBytes + kPhdrBytes * segments.size(), 0);
  const uint8_t ident[] = {0x7f, 'E', 'L', 'F', 2 /*64*/, 1 /*LE*/, 1};
  std::memcpy(f.data(), ident, sizeof(ident));
  PutLe16(f, 16, 2);                      // ET_EXEC
  PutLe16(f, kEMachine, 62);              // EM_X86_64
  PutLe32(f, 20, 1);                      // EV_CURRENT
  PutLe64(f, 24, 0xffffffff81000000ull);  // e_entry (virtual, unused)
  PutLe64(f, kEPhoff, kEhdrBytes);
  PutLe16(f, 52, kEhdrBytes);
  PutLe16(f, kEPhentsize, kPhdrBytes);
  PutLe16(f, kEPhnum, static_cast<uint16_t>(segments.size()));
  for (size_t i = 0; i < segments.size(); ++i) {
    const TestSegment& s = segments[i];
    f.resize((f.size() + 7) & ~size_t{7});
    const size_t off = f.size();
    f.insert(f.end(), s.data.begin(), s.data.end());
    const size_t ph = PhdrOffset(static_cast<int>(i));
    PutLe32(f, ph + 0, s.type);
    PutLe32(f, ph + 4, 5);  // PF_R | PF_X
    PutLe64(f, ph + kPOffset, off);
    PutLe64(f, ph + 16, s.paddr + 0xffffffff80000000ull);  // p_vaddr
    PutLe64(f, ph + kPPaddr, s.paddr);
    PutLe64(f, ph + kPFilesz, s.data.size());
    PutLe64(f, ph + kPMemsz, s.memsz != 0 ? s.memsz : s.data.size());
    PutLe64(f, ph + 48, s.align);
  }
  return f;
}

Bytes ElfNote(const std::string& name, uint32_t type, const Bytes& desc,
              size_t align) {
  Bytes n;
  PutLe32(n, 0, static_cast<uint32_t>(name.size() + 1));
  PutLe32(n, 4, static_cast<uint32_t>(desc.size()));
  PutLe32(n, 8, type);
  n.insert(n.end(), name.begin(), name.end());
  n.push_back(0);
  n.resize((n.size() + align - 1) & ~(align - 1));
  n.insert(n.end(), desc.begin(), desc.end());
  n.resize((n.size() + align - 1) & ~(align - 1));
  return n;
}

Bytes PvhNote(uint64_t entry, int value_bytes) {
  Bytes desc;
  if (value_bytes == 4) {
    PutLe32(desc, 0, static_cast<uint32_t>(entry));
  } else {
    PutLe64(desc, 0, entry);
  }
  return ElfNote("Xen", 18, desc);
}

Bytes SimpleVmlinux(uint64_t paddr, const Bytes& code, uint64_t bss,
                    uint64_t entry_offset) {
  TestSegment load;
  load.paddr = paddr;
  load.data = code;
  load.memsz = code.size() + bss;
  TestSegment note;
  note.type = kPtNote;
  note.data = PvhNote(paddr + entry_offset);
  return BuildElf({load, note});
}

size_t SetupBytes(const BzImageSpec& spec) {
  return ((spec.setup_sects == 0 ? 4 : spec.setup_sects) + 1) * 512;
}

Bytes BuildBzImage(const BzImageSpec& spec) {
  Bytes f(SetupBytes(spec), 0);
  f[0x1f1] = spec.setup_sects;
  PutLe16(f, 0x1fa, 0xffff);  // vid_mode "normal"
  PutLe16(f, 0x1fe, spec.boot_flag);
  f[0x200] = 0xeb;  // jmp short
  f[0x201] = spec.jump_disp;
  std::memcpy(&f[0x202], spec.magic, 4);
  PutLe16(f, 0x206, spec.version);
  // The version string lives in the setup code; kernel_version is its
  // offset minus 0x200.
  const size_t vs = 0x300;
  std::memcpy(&f[vs], spec.version_string.c_str(),
              spec.version_string.size() + 1);
  PutLe16(f, 0x20e, static_cast<uint16_t>(vs - 0x200));
  f[0x211] = spec.loadflags;
  PutLe32(f, 0x214, 0x100000);  // code32_start
  PutLe32(f, 0x22c, spec.initrd_addr_max);
  PutLe32(f, 0x230, spec.kernel_alignment);
  f[0x234] = spec.relocatable;
  f[0x235] = 21;  // min_alignment
  PutLe16(f, 0x236, spec.xloadflags);
  PutLe32(f, 0x238, spec.cmdline_size);
  PutLe64(f, 0x250, spec.setup_data);
  PutLe64(f, 0x258, spec.pref_address);
  PutLe32(f, 0x260, spec.init_size);
  PutLe32(f, 0x264, 0x190);  // handover_offset
  f.insert(f.end(), spec.payload.begin(), spec.payload.end());
  return f;
}

}  // namespace testing
}  // namespace kuml
