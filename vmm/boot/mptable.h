// MultiProcessor Specification 1.4 tables: how a guest without ACPI learns
// its CPUs (local APIC ids), its IOAPIC and how ISA IRQs reach IOAPIC pins.
//
// Layout at layout::kMpTableAddr: the 16-byte floating pointer structure,
// then the configuration table (header, one processor entry per vCPU, one ISA
// bus, one IOAPIC, 24 I/O interrupt entries ISA irq n -> IOAPIC pin n, and the
// ExtINT -> LINT0 / NMI -> LINT1 local interrupt entries).
//
// Every ISA irq 0..23 is routed "conforms to the bus" (edge, active high),
// the way KVM's in-kernel IOAPIC and PIT are wired and what lets Linux accept
// virtio-mmio devices on IRQs 5..23 named on its command line.
#ifndef KUML_VMM_BOOT_MPTABLE_H_
#define KUML_VMM_BOOT_MPTABLE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "vmm/guest_memory.h"

namespace kuml {

// xAPIC ids are 8 bits, 0xff is broadcast and the IOAPIC takes id num_cpus.
constexpr int kMpMaxCpus = 254;
constexpr int kIoApicPins = 24;
constexpr uint8_t kIoApicVersion = 0x11;
constexpr uint8_t kLapicVersion = 0x14;

// Bytes the floating pointer plus the configuration table take for
// `num_cpus` processors.
uint64_t MpTableBytes(int num_cpus);

// Writes the tables for `num_cpus` vCPUs (1..kMpMaxCpus; APIC ids
// 0..num_cpus-1, CPU 0 the bootstrap processor).
absl::Status WriteMpTable(GuestMemory& mem, int num_cpus);

}  // namespace kuml

#endif  // KUML_VMM_BOOT_MPTABLE_H_
