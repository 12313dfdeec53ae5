#include "vmm/cpu/refused_instructions.h"

#include "absl/strings/str_format.h"

namespace kuml {
namespace {

constexpr RefusedInstruction kTable[] = {
    {"int3",
     {0xcc},
     1,
     RefusedInstructionFix::kInjectBreakpoint,
     "Linux runs int3 in ring 0 in its boot self-test (int3_selftest) and "
     "when it live-patches text (text_poke_bp); #BP is a trap, so RIP moves "
     "past the int3 before the exception is injected"},
    {"fwait",
     {0x9b},
     1,
     RefusedInstructionFix::kSkip,
     "Linux's FPU code waits for pending x87 exceptions; with no x87 error "
     "line on this virtual machine there is nothing to wait for"},
};

}  // namespace

absl::Span<const RefusedInstruction> RefusedInstructions() { return kTable; }

const RefusedInstruction* MatchRefusedInstruction(
    absl::Span<const uint8_t> insn) {
  for (const RefusedInstruction& r : kTable) {
    if (insn.size() < static_cast<size_t>(r.length)) continue;
    bool match = true;
    for (int i = 0; i < r.length; ++i) match &= insn[i] == r.bytes[i];
    if (match) return &r;
  }
  return nullptr;
}

std::string FormatEmulationFailure(uint64_t rip,
                                   absl::Span<const uint8_t> insn) {
  std::string out = absl::StrFormat(
      "KVM could not emulate the guest instruction at RIP %#x: bytes", rip);
  if (insn.empty()) out += " unavailable";
  for (uint8_t b : insn) absl::StrAppendFormat(&out, " %02x", b);
  return out;
}

}  // namespace kuml
