#include "vmm/cpu/refused_instructions.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace kuml {
namespace {

TEST(RefusedInstructionsTest, Int3InjectsBreakpoint) {
  std::vector<uint8_t> insn = {0xcc, 0x90, 0x90};
  const RefusedInstruction* r = MatchRefusedInstruction(insn);
  ASSERT_NE(r, nullptr);
  EXPECT_STREQ(r->name, "int3");
  EXPECT_EQ(r->fix, RefusedInstructionFix::kInjectBreakpoint);
  EXPECT_EQ(r->length, 1);
}

TEST(RefusedInstructionsTest, FwaitIsSkipped) {
  std::vector<uint8_t> insn = {0x9b, 0xdb, 0xe2};
  const RefusedInstruction* r = MatchRefusedInstruction(insn);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->fix, RefusedInstructionFix::kSkip);
}

TEST(RefusedInstructionsTest, OthersAreNotHandled) {
  // lock cmpxchg16b (%rsi): must stop the guest with a clear error instead.
  std::vector<uint8_t> cmpxchg16b = {0xf0, 0x48, 0x0f, 0xc7, 0x0e};
  EXPECT_EQ(MatchRefusedInstruction(cmpxchg16b), nullptr);
  EXPECT_EQ(MatchRefusedInstruction({}), nullptr);
  std::string msg = FormatEmulationFailure(0xffffffff81000010, cmpxchg16b);
  EXPECT_NE(msg.find("0xffffffff81000010"), std::string::npos);
  EXPECT_NE(msg.find("f0 48 0f c7 0e"), std::string::npos);
}

TEST(RefusedInstructionsTest, EveryEntryIsDocumented) {
  for (const RefusedInstruction& r : RefusedInstructions()) {
    EXPECT_GT(r.length, 0);
    EXPECT_GT(std::string(r.reason).size(), 30u) << r.name;
  }
}

}  // namespace
}  // namespace kuml
