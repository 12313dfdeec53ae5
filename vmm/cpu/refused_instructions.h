// Ring-0 instructions a software-assisted KVM refuses whatever CPUID says,
// and what the VMM does instead so the guest can go on.
//
// When kvm_pvm's emulator cannot execute an instruction it leaves KVM_RUN
// with KVM_EXIT_INTERNAL_ERROR / KVM_INTERNAL_ERROR_EMULATION and the
// instruction bytes. For the instructions in this table the VMM performs the
// architectural effect itself; anything else stops the guest with the RIP and
// the bytes (FormatEmulationFailure). On hardware KVM this path is never taken.
#ifndef KUML_VMM_CPU_REFUSED_INSTRUCTIONS_H_
#define KUML_VMM_CPU_REFUSED_INSTRUCTIONS_H_

#include <cstdint>
#include <string>

#include "absl/types/span.h"

namespace kuml {

enum class RefusedInstructionFix {
  // Advance RIP past the instruction: it has no effect the guest can observe
  // on a VM without a legacy x87 error line.
  kSkip,
  // Advance RIP past the instruction and inject the #BP trap it raises.
  kInjectBreakpoint,
};

struct RefusedInstruction {
  const char* name;
  uint8_t bytes[4];
  int length;
  RefusedInstructionFix fix;
  const char* reason;
};

// The table (see refused_instructions.cc for each entry's reason).
absl::Span<const RefusedInstruction> RefusedInstructions();

// The entry whose bytes start `insn`, or nullptr.
const RefusedInstruction* MatchRefusedInstruction(
    absl::Span<const uint8_t> insn);

// "emulation failure at RIP 0x...: bytes 0f c7 0e ..." for the error report.
std::string FormatEmulationFailure(uint64_t rip,
                                   absl::Span<const uint8_t> insn);

}  // namespace kuml

#endif  // KUML_VMM_CPU_REFUSED_INSTRUCTIONS_H_
