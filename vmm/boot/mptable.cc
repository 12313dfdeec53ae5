#include "vmm/boot/mptable.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_format.h"
#include "vmm/boot/layout.h"
#include "vmm/boot/le_bytes.h"

namespace kuml {
namespace {

constexpr uint64_t kFloatingPointerBytes = 16;
constexpr uint64_t kConfigHeaderBytes = 44;
constexpr uint64_t kProcessorEntryBytes = 20;
constexpr uint64_t kSmallEntryBytes = 8;  // bus, IOAPIC, interrupt entries
constexpr int kLocalInterruptEntries = 2;
constexpr uint8_t kSpecRev = 4;  // MP spec 1.4

// Entry types.
constexpr uint8_t kEntryProcessor = 0;
constexpr uint8_t kEntryBus = 1;
constexpr uint8_t kEntryIoApic = 2;
constexpr uint8_t kEntryIoInterrupt = 3;
constexpr uint8_t kEntryLocalInterrupt = 4;

// Interrupt types.
constexpr uint8_t kIntTypeInt = 0;
constexpr uint8_t kIntTypeNmi = 1;
constexpr uint8_t kIntTypeExtInt = 3;

constexpr uint8_t kCpuEnabled = 0x1;
constexpr uint8_t kCpuBootstrap = 0x2;
constexpr uint8_t kIoApicEnabled = 0x1;
// CPUID(1).EAX-style signature (family 6, model 15, stepping 1) and EDX
// features FPU | APIC: Linux only logs these, but zero looks like a BIOS bug.
constexpr uint32_t kCpuSignature = (6 << 8) | (15 << 4) | 1;
constexpr uint32_t kCpuFeatures = (1u << 0) | (1u << 9);

constexpr uint8_t kIsaBusId = 0;
constexpr uint8_t kAllLapics = 0xff;

uint8_t Checksum(const uint8_t* p, size_t len) {
  uint8_t sum = 0;
  for (size_t i = 0; i < len; ++i) sum = static_cast<uint8_t>(sum + p[i]);
  return static_cast<uint8_t>(-sum);
}

uint64_t ConfigTableBytes(int num_cpus) {
  return kConfigHeaderBytes + kProcessorEntryBytes * num_cpus +
         kSmallEntryBytes * (1 + 1 + kIoApicPins + kLocalInterruptEntries);
}

}  // namespace

uint64_t MpTableBytes(int num_cpus) {
  return kFloatingPointerBytes + ConfigTableBytes(num_cpus);
}

absl::Status WriteMpTable(GuestMemory& mem, int num_cpus) {
  if (num_cpus < 1 || num_cpus > kMpMaxCpus) {
    return absl::InvalidArgumentError(
        absl::StrFormat("MP table: %d CPUs requested; 1 to %d are supported",
                        num_cpus, kMpMaxCpus));
  }
  const uint64_t total = MpTableBytes(num_cpus);
  static_assert(layout::kMpTableAddr + 16 + 44 + 20 * kMpMaxCpus +
                        8 * (2 + kIoApicPins + 2) <=
                    layout::kMpTableLimit,
                "MP table for the most CPUs runs into the BIOS area");
  std::vector<uint8_t> buf(total, 0);
  uint8_t* mpf = buf.data();
  uint8_t* mpc = mpf + kFloatingPointerBytes;
  const uint64_t mpc_addr = layout::kMpTableAddr + kFloatingPointerBytes;
  const uint64_t mpc_bytes = ConfigTableBytes(num_cpus);
  const uint8_t ioapic_id = static_cast<uint8_t>(num_cpus);

  // Configuration table entries.
  uint8_t* p = mpc + kConfigHeaderBytes;
  uint16_t entries = 0;
  for (int cpu = 0; cpu < num_cpus; ++cpu, ++entries) {
    p[0] = kEntryProcessor;
    p[1] = static_cast<uint8_t>(cpu);  // local APIC id
    p[2] = kLapicVersion;
    p[3] = kCpuEnabled | (cpu == 0 ? kCpuBootstrap : 0);
    StoreLe32(p + 4, kCpuSignature);
    StoreLe32(p + 8, kCpuFeatures);
    p += kProcessorEntryBytes;
  }
  p[0] = kEntryBus;
  p[1] = kIsaBusId;
  std::memcpy(p + 2, "ISA   ", 6);
  p += kSmallEntryBytes;
  ++entries;
  p[0] = kEntryIoApic;
  p[1] = ioapic_id;
  p[2] = kIoApicVersion;
  p[3] = kIoApicEnabled;
  StoreLe32(p + 4, static_cast<uint32_t>(layout::kIoApicAddr));
  p += kSmallEntryBytes;
  ++entries;
  for (int pin = 0; pin < kIoApicPins; ++pin, ++entries) {
    p[0] = kEntryIoInterrupt;
    p[1] = kIntTypeInt;
    StoreLe16(p + 2, 0);  // polarity and trigger conform to the bus
    p[4] = kIsaBusId;
    p[5] = static_cast<uint8_t>(pin);  // source bus irq
    p[6] = ioapic_id;
    p[7] = static_cast<uint8_t>(pin);  // IOAPIC input
    p += kSmallEntryBytes;
  }
  // Linux (and the spec's default configurations) expect ExtINT on LINT0 and
  // NMI on LINT1 of every local APIC.
  const uint8_t lint_types[kLocalInterruptEntries] = {kIntTypeExtInt,
                                                      kIntTypeNmi};
  for (int lint = 0; lint < kLocalInterruptEntries; ++lint, ++entries) {
    p[0] = kEntryLocalInterrupt;
    p[1] = lint_types[lint];
    StoreLe16(p + 2, 0);
    p[4] = kIsaBusId;
    p[5] = 0;
    p[6] = kAllLapics;
    p[7] = static_cast<uint8_t>(lint);
    p += kSmallEntryBytes;
  }

  // Configuration table header.
  std::memcpy(mpc, "PCMP", 4);
  StoreLe16(mpc + 4, static_cast<uint16_t>(mpc_bytes));
  mpc[6] = kSpecRev;
  std::memcpy(mpc + 8, "KUML    ", 8);        // OEM id, space padded
  std::memcpy(mpc + 16, "KUML VM     ", 12);  // product id
  StoreLe32(mpc + 28, 0);                     // no OEM table
  StoreLe16(mpc + 32, 0);
  StoreLe16(mpc + 34, entries);
  StoreLe32(mpc + 36, static_cast<uint32_t>(layout::kLapicAddr));
  StoreLe16(mpc + 40, 0);  // no extended table
  mpc[42] = 0;
  mpc[7] = Checksum(mpc, mpc_bytes);

  // Floating pointer structure.
  std::memcpy(mpf, "_MP_", 4);
  StoreLe32(mpf + 4, static_cast<uint32_t>(mpc_addr));
  mpf[8] = 1;  // length in 16-byte units
  mpf[9] = kSpecRev;
  mpf[11] = 0;  // feature 1: a configuration table is present
  mpf[12] = 0;  // feature 2: no IMCR, virtual wire mode
  mpf[10] = Checksum(mpf, kFloatingPointerBytes);

  absl::Status s = mem.Write(layout::kMpTableAddr, buf.data(), buf.size());
  if (!s.ok()) {
    return absl::OutOfRangeError(
        absl::StrFormat("MP table [%#x, +%#x) does not fit in guest RAM: %s",
                        layout::kMpTableAddr, total, s.message()));
  }
  return absl::OkStatus();
}

}  // namespace kuml
