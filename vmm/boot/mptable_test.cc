#include "vmm/boot/mptable.h"

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "vmm/boot/layout.h"
#include "vmm/boot/le_bytes.h"
#include "vmm/guest_memory.h"

namespace kuml {
namespace {

// What a parser that follows the MP spec (and Linux's mpparse.c checks)
// reads back from guest RAM.
struct ParsedMpTable {
  std::string error;  // empty when the tables are valid
  uint16_t entry_count = 0;
  int parsed_entries = 0;
  uint32_t lapic = 0;
  std::vector<std::vector<uint8_t>> cpus, buses, ioapics, intsrcs, lintsrcs;
};

uint8_t Sum(const uint8_t* p, size_t n) {
  uint8_t s = 0;
  for (size_t i = 0; i < n; ++i) s = static_cast<uint8_t>(s + p[i]);
  return s;
}

ParsedMpTable Parse(const GuestMemory& mem) {
  ParsedMpTable t;
  // Linux scans the first KiB of the EBDA on 16-byte boundaries.
  uint8_t ebda[0x400];
  if (!mem.Read(layout::kMpTableAddr, ebda, sizeof(ebda)).ok()) {
    t.error = "no EBDA";
    return t;
  }
  const uint8_t* mpf = nullptr;
  for (size_t off = 0; off + 16 <= sizeof(ebda); off += 16) {
    if (std::memcmp(ebda + off, "_MP_", 4) == 0) {
      mpf = ebda + off;
      break;
    }
  }
  if (mpf == nullptr) return {"no _MP_ signature"};
  if (mpf[8] != 1) return {"floating pointer length != 1"};
  if (mpf[9] != 1 && mpf[9] != 4) return {"bad spec rev"};
  if (Sum(mpf, 16) != 0) return {"floating pointer checksum"};
  if (mpf[11] != 0) return {"default configuration requested"};
  const uint32_t phys = LoadLe32(mpf + 4);
  uint8_t hdr[44];
  if (!mem.Read(phys, hdr, sizeof(hdr)).ok()) return {"table not in RAM"};
  if (std::memcmp(hdr, "PCMP", 4) != 0) return {"bad PCMP signature"};
  const uint16_t len = LoadLe16(hdr + 4);
  std::vector<uint8_t> mpc(len);
  if (len < 44 || !mem.Read(phys, mpc.data(), len).ok()) return {"length"};
  if (Sum(mpc.data(), len) != 0) return {"table checksum"};
  if (mpc[6] != 1 && mpc[6] != 4) return {"bad table version"};
  t.lapic = LoadLe32(&mpc[36]);
  if (t.lapic == 0) return {"null local APIC address"};
  if (LoadLe16(&mpc[40]) != 0) return {"unexpected extended table"};
  t.entry_count = LoadLe16(&mpc[34]);
  size_t off = 44;
  while (off < len) {
    const uint8_t type = mpc[off];
    const size_t size = type == 0 ? 20 : 8;
    if (type > 4) return {"unknown entry type"};
    if (off + size > len) return {"entry runs past the table"};
    std::vector<uint8_t> e(mpc.begin() + off, mpc.begin() + off + size);
    switch (type) {
      case 0:
        t.cpus.push_back(e);
        break;
      case 1:
        t.buses.push_back(e);
        break;
      case 2:
        t.ioapics.push_back(e);
        break;
      case 3:
        t.intsrcs.push_back(e);
        break;
      case 4:
        t.lintsrcs.push_back(e);
        break;
    }
    ++t.parsed_entries;
    off += size;
  }
  return t;
}

void CheckTable(int num_cpus) {
  SCOPED_TRACE(num_cpus);
  auto mem = std::move(GuestMemory::Create(16 << 20)).value();
  // Old contents must not leak into the checksums.
  std::vector<uint8_t> junk(0x2000, 0x5a);
  ASSERT_TRUE(mem->Write(layout::kMpTableAddr, junk.data(), junk.size()).ok());
  ASSERT_TRUE(WriteMpTable(*mem, num_cpus).ok());
  const ParsedMpTable t = Parse(*mem);
  ASSERT_EQ(t.error, "");
  EXPECT_EQ(t.lapic, layout::kLapicAddr);
  EXPECT_EQ(t.entry_count, t.parsed_entries);

  ASSERT_EQ(t.cpus.size(), static_cast<size_t>(num_cpus));
  std::set<int> ids;
  for (size_t i = 0; i < t.cpus.size(); ++i) {
    const auto& c = t.cpus[i];
    ids.insert(c[1]);
    EXPECT_EQ(c[2], kLapicVersion);
    EXPECT_TRUE(c[3] & 1) << "enabled";
    EXPECT_EQ((c[3] & 2) != 0, c[1] == 0) << "BSP flag only on APIC id 0";
    EXPECT_NE(LoadLe32(&c[4]), 0u) << "CPU signature";
    EXPECT_TRUE(LoadLe32(&c[8]) & (1u << 9)) << "APIC feature";
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(num_cpus));
  EXPECT_EQ(*ids.begin(), 0);
  EXPECT_EQ(*ids.rbegin(), num_cpus - 1);

  ASSERT_EQ(t.buses.size(), 1u);
  const uint8_t bus_id = t.buses[0][1];
  EXPECT_EQ(std::string(t.buses[0].begin() + 2, t.buses[0].end()), "ISA   ");

  ASSERT_EQ(t.ioapics.size(), 1u);
  const auto& io = t.ioapics[0];
  EXPECT_EQ(io[1], num_cpus) << "IOAPIC id follows the CPUs";
  EXPECT_EQ(ids.count(io[1]), 0u);
  EXPECT_EQ(io[2], kIoApicVersion);
  EXPECT_TRUE(io[3] & 1);
  EXPECT_EQ(LoadLe32(&io[4]), layout::kIoApicAddr);

  ASSERT_EQ(t.intsrcs.size(), static_cast<size_t>(kIoApicPins));
  std::set<int> pins;
  for (const auto& e : t.intsrcs) {
    EXPECT_EQ(e[1], 0) << "INT type";
    EXPECT_EQ(LoadLe16(&e[2]), 0) << "conforms to bus";
    EXPECT_EQ(e[4], bus_id);
    EXPECT_EQ(e[5], e[7]) << "ISA irq n -> pin n";
    EXPECT_EQ(e[6], io[1]);
    pins.insert(e[7]);
  }
  EXPECT_EQ(pins.size(), static_cast<size_t>(kIoApicPins));
  EXPECT_EQ(*pins.rbegin(), kIoApicPins - 1);

  ASSERT_EQ(t.lintsrcs.size(), 2u);
  EXPECT_EQ(t.lintsrcs[0][1], 3) << "ExtINT";
  EXPECT_EQ(t.lintsrcs[0][7], 0) << "on LINT0";
  EXPECT_EQ(t.lintsrcs[1][1], 1) << "NMI";
  EXPECT_EQ(t.lintsrcs[1][7], 1) << "on LINT1";

  EXPECT_LE(layout::kMpTableAddr + MpTableBytes(num_cpus),
            layout::kMpTableLimit);
}

TEST(MpTableTest, OneCpu) { CheckTable(1); }
TEST(MpTableTest, FewCpus) { CheckTable(4); }
TEST(MpTableTest, MostCpus) { CheckTable(kMpMaxCpus); }

TEST(MpTableTest, ParserCatchesACorruptByte) {
  // The checks above can fail: a flipped byte breaks the checksum.
  auto mem = std::move(GuestMemory::Create(16 << 20)).value();
  ASSERT_TRUE(WriteMpTable(*mem, 2).ok());
  uint8_t b = 0;
  const uint64_t gpa = layout::kMpTableAddr + 16 + 50;
  ASSERT_TRUE(mem->Read(gpa, &b, 1).ok());
  b ^= 0x40;
  ASSERT_TRUE(mem->Write(gpa, &b, 1).ok());
  EXPECT_EQ(Parse(*mem).error, "table checksum");
}

TEST(MpTableTest, RefusesBadCpuCounts) {
  auto mem = std::move(GuestMemory::Create(16 << 20)).value();
  for (int n : {0, -1, kMpMaxCpus + 1, 1000}) {
    absl::Status s = WriteMpTable(*mem, n);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << n;
  }
}

TEST(MpTableTest, FitsTheSmallestGuest) {
  auto mem = std::move(GuestMemory::Create(1 << 20)).value();
  EXPECT_TRUE(WriteMpTable(*mem, kMpMaxCpus).ok());
  EXPECT_EQ(Parse(*mem).error, "");
}

}  // namespace
}  // namespace kuml
