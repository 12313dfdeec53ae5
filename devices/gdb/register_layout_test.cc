#include "devices/gdb/register_layout.h"

#include <cstring>
#include <set>
#include <string>

#include "devices/gdb/target_description.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuml {
namespace {

using ::testing::HasSubstr;

size_t Find(absl::string_view name) {
  const auto regs = GdbRegisters();
  for (size_t i = 0; i < regs.size(); ++i) {
    if (name == regs[i].name) return i;
  }
  return regs.size();
}

TEST(RegisterLayoutTest, GdbNumbering) {
  // gdb's amd64 core numbering, then sse, then the rest.
  EXPECT_EQ(Find("rax"), 0u);
  EXPECT_EQ(Find("rip"), 16u);
  EXPECT_EQ(Find("eflags"), 17u);
  EXPECT_EQ(Find("gs"), 23u);
  EXPECT_EQ(Find("st0"), 24u);
  EXPECT_EQ(Find("fop"), 39u);
  EXPECT_EQ(Find("xmm0"), 40u);
  EXPECT_EQ(Find("mxcsr"), 56u);
  EXPECT_EQ(Find("fs_base"), 57u);
  EXPECT_EQ(Find("efer"), 65u);
  EXPECT_EQ(GdbRegisters().size(), 66u);
  // 16*8 + 8 + 4 + 6*4 + 8*10 + 8*4 + 16*16 + 4 + 2*8 + 7*8
  EXPECT_EQ(GdbRegisterBytes(), 608u);
}

TEST(RegisterLayoutTest, FeaturesAreContiguous) {
  const auto regs = GdbRegisters();
  for (size_t i = 1; i < regs.size(); ++i) {
    EXPECT_LE(static_cast<int>(regs[i - 1].feature),
              static_cast<int>(regs[i].feature))
        << regs[i].name;
  }
}

TEST(RegisterLayoutTest, EncodeIsLittleEndianAtGdbsWidth) {
  X86Registers r;
  r.rip = 0x1122334455667788;
  r.eflags = 0xffffffff00000246;  // gdb sees 32 bits
  r.cs = 0x10;
  r.cr3 = 0xabc000;
  EXPECT_EQ(EncodeGdbRegister(r, Find("rip")),
            std::string("\x88\x77\x66\x55\x44\x33\x22\x11", 8));
  EXPECT_EQ(EncodeGdbRegister(r, Find("eflags")),
            std::string("\x46\x02\x00\x00", 4));
  EXPECT_EQ(EncodeGdbRegister(r, Find("cs")), std::string("\x10\0\0\0", 4));
  EXPECT_EQ(EncodeGdbRegister(r, Find("cr3")),
            std::string("\x00\xc0\xab\0\0\0\0\0", 8));
  EXPECT_EQ(EncodeGdbRegister(r, Find("st3")).size(), 10u);
  EXPECT_EQ(EncodeGdbRegister(r, Find("xmm15")).size(), 16u);
}

TEST(RegisterLayoutTest, AllRegistersRoundTrip) {
  X86Registers r;
  r.rax = 1;
  r.r15 = 0x8000000000000000;
  r.rip = 0xffffffff81000000;
  r.eflags = 0x202;
  r.gs = 0x2b;
  r.st[7][9] = 0x40;
  r.fop = 0x7ff;
  r.xmm[3][15] = 0xee;
  r.mxcsr = 0x1fa0;
  r.fs_base = 0x7f0000001000;
  r.k_gs_base = 0xffff888007a00000;
  r.efer = 0xd01;
  const std::string g = EncodeGdbRegisters(r);
  ASSERT_EQ(g.size(), GdbRegisterBytes());
  X86Registers back;
  ASSERT_TRUE(DecodeGdbRegisters(
                  absl::MakeConstSpan(
                      reinterpret_cast<const uint8_t*>(g.data()), g.size()),
                  &back)
                  .ok());
  EXPECT_EQ(EncodeGdbRegisters(back), g);
  EXPECT_EQ(back.r15, r.r15);
  EXPECT_EQ(back.st[7][9], 0x40);
  EXPECT_EQ(back.xmm[3][15], 0xee);
  EXPECT_EQ(back.efer, 0xd01u);
}

TEST(RegisterLayoutTest, DecodeChecksSizes) {
  X86Registers r;
  r.rax = 7;
  const uint8_t four[4] = {1, 2, 3, 4};
  absl::Status s = DecodeGdbRegister(four, Find("rip"), &r);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("rip"));
  // A 32-bit register clears the field's upper half.
  r.eflags = 0xffffffffffffffff;
  ASSERT_TRUE(DecodeGdbRegister(four, Find("eflags"), &r).ok());
  EXPECT_EQ(r.eflags, 0x04030201u);
  // G with the wrong length changes nothing.
  EXPECT_FALSE(DecodeGdbRegisters(four, &r).ok());
  EXPECT_EQ(r.rax, 7u);
}

TEST(TargetDescriptionTest, HasTheFeaturesAndEveryRegister) {
  const std::string& xml = X86TargetDescriptionXml();
  EXPECT_THAT(xml, HasSubstr("<architecture>i386:x86-64</architecture>"));
  for (const char* f :
       {"org.gnu.gdb.i386.core", "org.gnu.gdb.i386.sse",
        "org.gnu.gdb.i386.segments", "org.kuml.gdb.x86.system"}) {
    EXPECT_THAT(xml, HasSubstr(absl::StrCat("<feature name=\"", f, "\">")));
  }
  const auto regs = GdbRegisters();
  for (size_t i = 0; i < regs.size(); ++i) {
    EXPECT_THAT(xml,
                HasSubstr(absl::StrCat("<reg name=\"", regs[i].name,
                                       "\" bitsize=\"", regs[i].bits, "\"")));
    EXPECT_THAT(xml, HasSubstr(absl::StrCat("regnum=\"", i, "\"")));
  }
  // Nothing the RSP would have to escape, so it can go out as it is.
  EXPECT_EQ(xml.find_first_of("$#}*"), std::string::npos);
}

}  // namespace
}  // namespace kuml
