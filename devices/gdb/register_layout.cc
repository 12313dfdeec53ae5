#include "devices/gdb/register_layout.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"

namespace kuml {
namespace {

// Fields are copied as host bytes: the host, like the guest, is x86.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "register encoding assumes a little-endian host");

#define KUML_FIELD(f) offsetof(X86Registers, f), sizeof(X86Registers::f)
// Element i of an array member.
#define KUML_ELEMENT(a, i)                                 \
  offsetof(X86Registers, a) +                              \
      (i) * sizeof(decltype(X86Registers::a)::value_type), \
      sizeof(decltype(X86Registers::a)::value_type)
#define KUML_GPR(name) \
  { #name, 64, "int64", nullptr, GdbFeature::kCore, KUML_FIELD(name) }
#define KUML_SEL(name) \
  { #name, 32, "int32", nullptr, GdbFeature::kCore, KUML_FIELD(name) }
#define KUML_ST(i) \
  { "st" #i, 80, "i387_ext", nullptr, GdbFeature::kCore, KUML_ELEMENT(st, i) }
#define KUML_FPC(name) \
  { #name, 32, "int", "float", GdbFeature::kCore, KUML_FIELD(name) }
#define KUML_XMM(i) \
  { "xmm" #i, 128, "vec128", nullptr, GdbFeature::kSse, KUML_ELEMENT(xmm, i) }
#define KUML_SYS(name, type) \
  { #name, 64, type, "system", GdbFeature::kSystem, KUML_FIELD(name) }

// gdb's 64bit-core.xml, 64bit-sse.xml and 64bit-segments.xml, then ours.
constexpr GdbRegister kRegisters[] = {
    KUML_GPR(rax),
    KUML_GPR(rbx),
    KUML_GPR(rcx),
    KUML_GPR(rdx),
    KUML_GPR(rsi),
    KUML_GPR(rdi),
    {"rbp", 64, "data_ptr", nullptr, GdbFeature::kCore, KUML_FIELD(rbp)},
    {"rsp", 64, "data_ptr", nullptr, GdbFeature::kCore, KUML_FIELD(rsp)},
    KUML_GPR(r8),
    KUML_GPR(r9),
    KUML_GPR(r10),
    KUML_GPR(r11),
    KUML_GPR(r12),
    KUML_GPR(r13),
    KUML_GPR(r14),
    KUML_GPR(r15),
    {"rip", 64, "code_ptr", nullptr, GdbFeature::kCore, KUML_FIELD(rip)},
    {"eflags", 32, "i386_eflags", nullptr, GdbFeature::kCore,
     KUML_FIELD(eflags)},
    KUML_SEL(cs),
    KUML_SEL(ss),
    KUML_SEL(ds),
    KUML_SEL(es),
    KUML_SEL(fs),
    KUML_SEL(gs),
    KUML_ST(0),
    KUML_ST(1),
    KUML_ST(2),
    KUML_ST(3),
    KUML_ST(4),
    KUML_ST(5),
    KUML_ST(6),
    KUML_ST(7),
    KUML_FPC(fctrl),
    KUML_FPC(fstat),
    KUML_FPC(ftag),
    KUML_FPC(fiseg),
    KUML_FPC(fioff),
    KUML_FPC(foseg),
    KUML_FPC(fooff),
    KUML_FPC(fop),
    KUML_XMM(0),
    KUML_XMM(1),
    KUML_XMM(2),
    KUML_XMM(3),
    KUML_XMM(4),
    KUML_XMM(5),
    KUML_XMM(6),
    KUML_XMM(7),
    KUML_XMM(8),
    KUML_XMM(9),
    KUML_XMM(10),
    KUML_XMM(11),
    KUML_XMM(12),
    KUML_XMM(13),
    KUML_XMM(14),
    KUML_XMM(15),
    {"mxcsr", 32, "i386_mxcsr", "vector", GdbFeature::kSse, KUML_FIELD(mxcsr)},
    {"fs_base", 64, "int", nullptr, GdbFeature::kSegments, KUML_FIELD(fs_base)},
    {"gs_base", 64, "int", nullptr, GdbFeature::kSegments, KUML_FIELD(gs_base)},
    KUML_SYS(k_gs_base, "int"),
    KUML_SYS(cr0, "kuml_cr0"),
    KUML_SYS(cr2, "int"),
    KUML_SYS(cr3, "int"),
    KUML_SYS(cr4, "kuml_cr4"),
    KUML_SYS(cr8, "int"),
    KUML_SYS(efer, "kuml_efer"),
};

#undef KUML_FIELD
#undef KUML_ELEMENT
#undef KUML_GPR
#undef KUML_SEL
#undef KUML_ST
#undef KUML_FPC
#undef KUML_XMM
#undef KUML_SYS

constexpr size_t TotalBytes() {
  size_t n = 0;
  for (const GdbRegister& r : kRegisters) n += r.bits / 8;
  return n;
}

}  // namespace

absl::Span<const GdbRegister> GdbRegisters() { return kRegisters; }

size_t GdbRegisterBytes() { return TotalBytes(); }

std::string EncodeGdbRegister(const X86Registers& regs, size_t regnum) {
  const GdbRegister& r = kRegisters[regnum];
  std::string out(r.bits / 8, '\0');
  std::memcpy(out.data(), reinterpret_cast<const char*>(&regs) + r.offset,
              std::min(out.size(), r.field_bytes));
  return out;
}

absl::Status DecodeGdbRegister(absl::Span<const uint8_t> bytes, size_t regnum,
                               X86Registers* regs) {
  const GdbRegister& r = kRegisters[regnum];
  if (bytes.size() != static_cast<size_t>(r.bits / 8)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("register %s takes %d bytes, not %u", r.name,
                        r.bits / 8, bytes.size()));
  }
  char* field = reinterpret_cast<char*>(regs) + r.offset;
  std::memset(field, 0, r.field_bytes);
  std::memcpy(field, bytes.data(), std::min(bytes.size(), r.field_bytes));
  return absl::OkStatus();
}

std::string EncodeGdbRegisters(const X86Registers& regs) {
  std::string out;
  out.reserve(TotalBytes());
  for (size_t i = 0; i < std::size(kRegisters); ++i) {
    out += EncodeGdbRegister(regs, i);
  }
  return out;
}

absl::Status DecodeGdbRegisters(absl::Span<const uint8_t> bytes,
                                X86Registers* regs) {
  if (bytes.size() != TotalBytes()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("register data is %u bytes, not the %u of every "
                        "register",
                        bytes.size(), TotalBytes()));
  }
  X86Registers out = *regs;
  size_t at = 0;
  for (size_t i = 0; i < std::size(kRegisters); ++i) {
    const size_t n = kRegisters[i].bits / 8;
    absl::Status s = DecodeGdbRegister(bytes.subspan(at, n), i, &out);
    if (!s.ok()) return s;
    at += n;
  }
  *regs = out;
  return absl::OkStatus();
}

}  // namespace kuml
