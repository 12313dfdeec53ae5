// The gdb target description (target.xml, served by qXfer:features:read)
// of a kuml vCPU: architecture i386:x86-64 with
//  - org.gnu.gdb.i386.core: rax..r15, rip, eflags, the segment selectors and
//    the x87 registers (gdb's amd64 support requires all of them in core);
//  - org.gnu.gdb.i386.sse: xmm0-15 and mxcsr;
//  - org.gnu.gdb.i386.segments: fs_base, gs_base (gdb >= 8 knows them);
//  - org.kuml.gdb.x86.system: k_gs_base, cr0, cr2, cr3, cr4, cr8, efer, in
//    the "system" register group (`info registers system`, `p $cr3`); gdb
//    shows registers of a feature it does not know as they are described,
//    with cr0, cr4 and efer as flag sets.
// No osabi: the guest is a whole machine, not a Linux process (and so no
// org.gnu.gdb.i386.linux / orig_rax).
//
// The core, sse and segments features are gdb's own 64bit-*.xml; vec128
// leaves out the bfloat16 and half views newer gdbs add, so that gdbs that
// do not know those types accept it too.
#ifndef KUML_DEVICES_GDB_TARGET_DESCRIPTION_H_
#define KUML_DEVICES_GDB_TARGET_DESCRIPTION_H_

#include <string>

namespace kuml {

// The whole document, made once from register_layout.h's table.
const std::string& X86TargetDescriptionXml();

}  // namespace kuml

#endif  // KUML_DEVICES_GDB_TARGET_DESCRIPTION_H_
