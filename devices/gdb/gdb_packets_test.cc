#include "devices/gdb/gdb_packets.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using ::testing::ElementsAre;
constexpr ResumeAction kC = ResumeAction::kContinue;
constexpr ResumeAction kS = ResumeAction::kStep;
constexpr ResumeAction kT = ResumeAction::kStop;

TEST(GdbPacketsTest, ThreadIds) {
  EXPECT_EQ(*ParseThreadId("-1"), kAllThreads);
  EXPECT_EQ(*ParseThreadId("0"), kAnyThread);
  EXPECT_EQ(*ParseThreadId("1f"), 31);
  EXPECT_FALSE(ParseThreadId("p1.1").ok());
  EXPECT_FALSE(ParseThreadId("").ok());
  EXPECT_FALSE(ParseThreadId("-2").ok());
  EXPECT_FALSE(ParseThreadId("100000000").ok());
}

TEST(GdbPacketsTest, MemoryRange) {
  auto r = ParseMemoryRange("ffffffff81000000,40");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->address, 0xffffffff81000000u);
  EXPECT_EQ(r->length, 0x40u);
  EXPECT_FALSE(ParseMemoryRange("1000").ok());
  EXPECT_FALSE(ParseMemoryRange("1000,").ok());
  EXPECT_FALSE(ParseMemoryRange(",4").ok());
  EXPECT_FALSE(ParseMemoryRange("1000,4,5").ok());
}

TEST(GdbPacketsTest, MemoryWrite) {
  auto w = ParseMemoryWrite("1000,2:abcd", false);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->address, 0x1000u);
  EXPECT_THAT(w->data, ElementsAre(0xab, 0xcd));
  EXPECT_FALSE(ParseMemoryWrite("1000,3:abcd", false).ok());  // length
  EXPECT_FALSE(ParseMemoryWrite("1000,2abcd", false).ok());
  auto x = ParseMemoryWrite("1000,3:a:b", true);  // binary may hold ':'
  ASSERT_TRUE(x.ok());
  EXPECT_THAT(x->data, ElementsAre('a', ':', 'b'));
  EXPECT_TRUE(ParseMemoryWrite("1000,0:", true)->data.empty());
}

TEST(GdbPacketsTest, Breakpoint) {
  auto bp = ParseBreakpoint("0,ffffffff81000010,1");
  ASSERT_TRUE(bp.ok());
  EXPECT_EQ(bp->type, BreakpointType::kSoftware);
  EXPECT_EQ(bp->address, 0xffffffff81000010u);
  EXPECT_EQ(bp->kind, 1u);
  bp = ParseBreakpoint("4,1000,8;X1,0");  // conditions ignored
  ASSERT_TRUE(bp.ok());
  EXPECT_EQ(bp->type, BreakpointType::kAccessWatch);
  EXPECT_FALSE(ParseBreakpoint("5,1000,1").ok());
  EXPECT_FALSE(ParseBreakpoint("0,1000").ok());
  EXPECT_FALSE(ParseBreakpoint("01,1000,1").ok());
}

TEST(GdbPacketsTest, RegisterWrite) {
  auto w = ParseRegisterWrite("10=8877665544332211");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->regnum, 16u);
  EXPECT_EQ(w->value.size(), 8u);
  EXPECT_FALSE(ParseRegisterWrite("10").ok());
  EXPECT_FALSE(ParseRegisterWrite("=00").ok());
  EXPECT_FALSE(ParseRegisterWrite("10=0").ok());
}

TEST(GdbPacketsTest, VCont) {
  EXPECT_THAT(*ParseVCont(";c", 3), ElementsAre(kC, kC, kC));
  EXPECT_THAT(*ParseVCont(";s:1;c", 3), ElementsAre(kS, kC, kC));
  EXPECT_THAT(*ParseVCont(";s:2", 3), ElementsAre(kT, kS, kT));
  EXPECT_THAT(*ParseVCont(";c:-1", 2), ElementsAre(kC, kC));
  EXPECT_THAT(*ParseVCont(";C05:2;S0b:1", 2), ElementsAre(kS, kC));
  EXPECT_THAT(*ParseVCont(";t", 2), ElementsAre(kT, kT));
  // The leftmost action naming a thread wins.
  EXPECT_THAT(*ParseVCont(";s:1;c:1;c", 2), ElementsAre(kS, kC));
  EXPECT_FALSE(ParseVCont("", 2).ok());
  EXPECT_FALSE(ParseVCont(";", 2).ok());
  EXPECT_FALSE(ParseVCont(";c:3", 2).ok());
  EXPECT_FALSE(ParseVCont(";c:0", 2).ok());
  EXPECT_FALSE(ParseVCont(";r1000,2000", 2).ok());
  EXPECT_FALSE(ParseVCont(";cc", 2).ok());
  EXPECT_FALSE(ParseVCont(";C", 2).ok());
  EXPECT_FALSE(ParseVCont(";c:p1.1", 2).ok());
}

TEST(GdbPacketsTest, XferRead) {
  auto x = ParseXferRead("target.xml:0,ffb");
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->annex, "target.xml");
  EXPECT_EQ(x->length, 0xffbu);
  EXPECT_FALSE(ParseXferRead("target.xml").ok());
}

TEST(GdbPacketsTest, StopReplies) {
  EXPECT_EQ(StopReply(StopEvent::Breakpoint(2), true, true),
            "T05thread:2;swbreak:;");
  EXPECT_EQ(StopReply(StopEvent::Breakpoint(2), false, true), "T05thread:2;");
  EXPECT_EQ(StopReply(StopEvent::HardwareBreakpoint(1), true, true),
            "T05thread:1;hwbreak:;");
  EXPECT_EQ(StopReply(StopEvent::SingleStep(10), true, true), "T05thread:a;");
  EXPECT_EQ(StopReply(StopEvent::Interrupted(1), true, true), "T02thread:1;");
  EXPECT_EQ(StopReply(StopEvent::Watchpoint(1, 0xffff1000,
                                            BreakpointType::kWriteWatch),
                      true, true),
            "T05watch:ffff1000;thread:1;");
  EXPECT_EQ(
      StopReply(StopEvent::Watchpoint(1, 0x10, BreakpointType::kReadWatch),
                true, true),
      "T05rwatch:10;thread:1;");
  EXPECT_EQ(
      StopReply(StopEvent::Watchpoint(1, 0x10, BreakpointType::kAccessWatch),
                true, true),
      "T05awatch:10;thread:1;");
  EXPECT_EQ(StopReply(StopEvent::Exited(0), true, true), "W00");
  EXPECT_EQ(StopReply(StopEvent::Exited(0x1ff), true, true), "Wff");
}

}  // namespace
}  // namespace kuml
