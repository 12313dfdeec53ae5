#include "vmm/boot/elf_loader.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "vmm/boot/image_file.h"
#include "vmm/boot/test_images.h"
#include "vmm/guest_memory.h"

namespace kuml {
namespace {

using testing::BuildElf;
using testing::Bytes;
using testing::ElfNote;
using testing::Pattern;
using testing::PhdrOffset;
using testing::PutLe16;
using testing::PutLe64;
using testing::PvhNote;
using testing::SimpleVmlinux;
using testing::TestSegment;
using testing::WriteTempFile;

constexpr uint64_t kMiB = 1 << 20;

class ElfLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mem_ = std::move(GuestMemory::Create(64 * kMiB)).value();
  }

  absl::StatusOr<VmlinuxImage> Load(const Bytes& file) {
    path_ = WriteTempFile(
        std::string(
            ::testing::UnitTest::GetInstance()->current_test_info()->name()) +
            ".vmlinux",
        file);
    absl::StatusOr<ImageFile> f = ImageFile::Open(path_);
    if (!f.ok()) return f.status();
    return LoadVmlinux(*mem_, *f);
  }

  // Loading fails, the message names the file and contains `what`.
  void ExpectError(const Bytes& file, const std::string& what) {
    absl::StatusOr<VmlinuxImage> r = Load(file);
    ASSERT_FALSE(r.ok()) << "loaded a bad file; expected: " << what;
    EXPECT_TRUE(absl::StrContains(r.status().message(), path_)) << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(), what)) << r.status();
  }

  Bytes ReadRam(uint64_t gpa, size_t len) {
    Bytes b(len);
    EXPECT_TRUE(mem_->Read(gpa, b.data(), len).ok());
    return b;
  }

  std::unique_ptr<GuestMemory> mem_;
  std::string path_;
  absl::StatusOr<VmlinuxImage> r_;
};

TEST_F(ElfLoaderTest, LoadsSegmentsZeroesBssAndFindsTheEntry) {
  // Dirty RAM, as after a reboot: the bss must come out zero anyway.
  Bytes junk(4 * kMiB, 0xaa);
  ASSERT_TRUE(mem_->Write(0x1000000, junk.data(), junk.size()).ok());

  TestSegment text;
  text.paddr = 0x1000000;
  text.data = Pattern(10000, 1);
  TestSegment data;
  data.paddr = 0x1200000;
  data.data = Pattern(3000, 2);
  data.memsz = 3000 + 70000;  // bss
  TestSegment note;
  note.type = testing::kPtNote;
  // Other notes first, as in a real vmlinux (GNU build id, Linux notes).
  note.data = ElfNote("GNU", 3, Pattern(20, 3));
  Bytes xen_other = ElfNote("Xen", 6, Pattern(4, 4));  // another Xen note
  Bytes pvh = PvhNote(0x1000040);
  note.data.insert(note.data.end(), xen_other.begin(), xen_other.end());
  note.data.insert(note.data.end(), pvh.begin(), pvh.end());

  absl::StatusOr<VmlinuxImage> r = Load(BuildElf({text, note, data}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->pvh_entry, 0x1000040u);
  EXPECT_EQ(r->kernel_start, 0x1000000u);
  EXPECT_EQ(r->kernel_end, 0x1200000u + 73000);
  EXPECT_EQ(ReadRam(text.paddr, text.data.size()), text.data);
  EXPECT_EQ(ReadRam(data.paddr, data.data.size()), data.data);
  EXPECT_EQ(ReadRam(data.paddr + 3000, 70000), Bytes(70000, 0));
  // Bytes right after the segment are not touched.
  EXPECT_EQ(ReadRam(data.paddr + 73000, 16), Bytes(16, 0xaa));
}

TEST_F(ElfLoaderTest, AcceptsA4ByteEntryAndAn8AlignedNoteSegment) {
  TestSegment text;
  text.paddr = 0x1000000;
  text.data = Pattern(256, 5);
  TestSegment note;
  note.type = testing::kPtNote;
  note.data = testing::ElfNote("Xen", 18, {0x10, 0x00, 0x00, 0x01});
  r_ = Load(BuildElf({text, note}));
  ASSERT_TRUE(r_.ok()) << r_.status();
  EXPECT_EQ(r_->pvh_entry, 0x1000010u);

  Bytes desc;
  PutLe64(desc, 0, 0x1000020);
  note.data = ElfNote("GNU", 5, Pattern(12, 6), 8);  // name pads to 8
  Bytes pvh8 = ElfNote("Xen", 18, desc, 8);
  note.data.insert(note.data.end(), pvh8.begin(), pvh8.end());
  note.align = 8;
  r_ = Load(BuildElf({text, note}));
  ASSERT_TRUE(r_.ok()) << r_.status();
  EXPECT_EQ(r_->pvh_entry, 0x1000020u);
}

TEST_F(ElfLoaderTest, NoPvhNoteIsAClearError) {
  TestSegment text;
  text.paddr = 0x1000000;
  text.data = Pattern(256, 5);
  TestSegment note;
  note.type = testing::kPtNote;
  note.data = ElfNote("GNU", 3, Pattern(20, 3));
  ExpectError(BuildElf({text, note}),
              "not a PVH-capable vmlinux (no XEN_ELFNOTE_PHYS32_ENTRY); use a "
              "bzImage or build with CONFIG_PVH");
  ExpectError(BuildElf({text}), "not a PVH-capable vmlinux");
}

TEST_F(ElfLoaderTest, TruncatedHeader) {
  Bytes f = SimpleVmlinux(0x1000000, Pattern(64, 1), 0, 0);
  f.resize(20);
  ExpectError(f, "truncated");
}

TEST_F(ElfLoaderTest, WrongIdentOrMachine) {
  const Bytes good = SimpleVmlinux(0x1000000, Pattern(64, 1), 0, 0);
  Bytes f = good;
  f[4] = 1;  // ELFCLASS32
  ExpectError(f, "not a 64-bit ELF");
  f = good;
  f[5] = 2;  // big-endian
  ExpectError(f, "little-endian");
  f = good;
  PutLe16(f, testing::kEMachine, 40);  // ARM
  ExpectError(f, "not x86-64");
  f = good;
  f[1] = 'X';
  ExpectError(f, "not an ELF file");
}

TEST_F(ElfLoaderTest, BadProgramHeaderTable) {
  const Bytes good = SimpleVmlinux(0x1000000, Pattern(64, 1), 0, 0);
  Bytes f = good;
  PutLe16(f, testing::kEPhnum, 0xffff);
  ExpectError(f, "program header count");
  f = good;
  PutLe16(f, testing::kEPhnum, 200);  // in range, but runs past the file
  ExpectError(f, "truncated");
  f = good;
  PutLe16(f, testing::kEPhnum, 0);
  ExpectError(f, "program header count");
  f = good;
  PutLe16(f, testing::kEPhentsize, 32);
  ExpectError(f, "program header size");
  f = good;
  PutLe64(f, testing::kEPhoff, 0xfffffffffffffff0ull);
  ExpectError(f, "truncated");
}

TEST_F(ElfLoaderTest, HostileSegments) {
  const Bytes good = SimpleVmlinux(0x1000000, Pattern(64, 1), 0, 0);
  const size_t ph = PhdrOffset(0);
  Bytes f = good;
  PutLe64(f, ph + testing::kPOffset, good.size() - 10);  // beyond the file
  ExpectError(f, "truncated");
  f = good;
  PutLe64(f, ph + testing::kPOffset, 0xffffffffffffff00ull);
  ExpectError(f, "truncated");
  f = good;
  PutLe64(f, ph + testing::kPFilesz, 65);  // > memsz 64
  ExpectError(f, "exceeds memory size");
  f = good;
  PutLe64(f, ph + testing::kPPaddr, 0xfffffffffffffff0ull);  // + 64 wraps
  ExpectError(f, "overflows");
  f = good;
  PutLe64(f, ph + testing::kPPaddr, 0x80000000);  // 2 GiB, guest has 64 MiB
  ExpectError(f, "kernel needs 2049 MiB; guest has 64 MiB: raise mem=");
  f = good;
  PutLe64(f, ph + testing::kPPaddr, 0x100000000ull);  // above 4 GiB
  ExpectError(f, "32-bit RAM");
  f = good;
  PutLe64(f, ph + testing::kPPaddr, 0x7000);  // on the boot tables
  ExpectError(f, "below 1 MiB");
  f = good;
  PutLe64(f, ph + testing::kPMemsz, 100 * kMiB);  // too big for 64 MiB
  ExpectError(f, "kernel needs 116 MiB; guest has 64 MiB: raise mem=");
}

TEST_F(ElfLoaderTest, NothingIsWrittenWhenALaterSegmentIsBad) {
  TestSegment a;
  a.paddr = 0x1000000;
  a.data = Pattern(512, 1);
  TestSegment b;
  b.paddr = 0x1100000;
  b.data = Pattern(512, 2);
  b.memsz = 1ull << 40;
  TestSegment note;
  note.type = testing::kPtNote;
  note.data = PvhNote(0x1000000);
  ExpectError(BuildElf({a, b, note}), "segment 1");
  EXPECT_EQ(ReadRam(a.paddr, 512), Bytes(512, 0));
}

TEST_F(ElfLoaderTest, HostileNotes) {
  TestSegment text;
  text.paddr = 0x1000000;
  text.data = Pattern(256, 5);
  TestSegment note;
  note.type = testing::kPtNote;

  note.data = ElfNote("Xen", 18, Pattern(6, 1));  // 6-byte value
  ExpectError(BuildElf({text, note}), "6-byte value");

  note.data = PvhNote(0x1000000);
  testing::PutLe32(note.data, 0, 0xfffffff0);  // namesz past the segment
  ExpectError(BuildElf({text, note}), "corrupt ELF note");

  note.data = PvhNote(0x1000000);
  testing::PutLe32(note.data, 4, 0xffffffff);  // descsz past the segment
  ExpectError(BuildElf({text, note}), "corrupt ELF note");

  note.data = PvhNote(0x2000000);  // not inside the loaded segment
  ExpectError(BuildElf({text, note}), "not inside a loaded segment");

  note.data = PvhNote(0x1000000);
  Bytes f = BuildElf({text, note});
  PutLe64(f, PhdrOffset(1) + testing::kPFilesz, 1ull << 40);
  ExpectError(f, "note segment 1");
}

TEST_F(ElfLoaderTest, NotAnExecutableOrNoLoadableSegments) {
  Bytes f = SimpleVmlinux(0x1000000, Pattern(64, 1), 0, 0);
  PutLe16(f, 16, 3);  // ET_DYN
  ExpectError(f, "not an executable");
  TestSegment note;
  note.type = testing::kPtNote;
  note.data = PvhNote(0x1000000);
  ExpectError(BuildElf({note}), "no loadable segments");
}

}  // namespace
}  // namespace kuml
