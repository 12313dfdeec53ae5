// The registers the gdb stub offers, in gdb's numbering: the one table
// from which the target description (target_description.h) and the
// register packets (g/G/p/P) are both made, so that they cannot disagree.
//
// Register n on the wire is register n of the description; `g` carries all
// of them back to back in that order, each in target (little-endian) byte
// order with gdb's width (see x86_registers.h for where widths differ from
// the fields).
#ifndef KUML_DEVICES_GDB_REGISTER_LAYOUT_H_
#define KUML_DEVICES_GDB_REGISTER_LAYOUT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "devices/gdb/x86_registers.h"

namespace kuml {

// The features of the description, in order.
enum class GdbFeature { kCore, kSse, kSegments, kSystem };

struct GdbRegister {
  const char* name;
  int bits;            // gdb's width
  const char* type;    // a gdb type, or one the feature defines
  const char* group;   // gdb register group; nullptr: gdb's default
  GdbFeature feature;  // the table is ordered by feature
  size_t offset;       // of the field in X86Registers
  size_t field_bytes;  // its size
};

// Every register, index = gdb register number.
absl::Span<const GdbRegister> GdbRegisters();

// Bytes of a `g` packet's register data (before hex encoding).
size_t GdbRegisterBytes();

// Register `regnum`'s bytes as gdb wants them. `regnum` must be valid.
std::string EncodeGdbRegister(const X86Registers& regs, size_t regnum);
// Sets register `regnum` from gdb's bytes; InvalidArgument (naming the
// register) if there are not exactly as many as its width.
absl::Status DecodeGdbRegister(absl::Span<const uint8_t> bytes, size_t regnum,
                               X86Registers* regs);

// All registers, as `g` sends them and `G` takes them (exactly
// GdbRegisterBytes() bytes, else InvalidArgument).
std::string EncodeGdbRegisters(const X86Registers& regs);
absl::Status DecodeGdbRegisters(absl::Span<const uint8_t> bytes,
                                X86Registers* regs);

}  // namespace kuml

#endif  // KUML_DEVICES_GDB_REGISTER_LAYOUT_H_
