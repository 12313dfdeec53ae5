// The part of the guest kernel command line that comes from the user's
// switches, built the way UML builds it (kernel/um_arch.c linux_main).
//
// Switches kuml handles itself are not passed: ubd*, udb*, fake_ide, con*,
// ssl*, eth*, vec*, umid=, uml_dir=, kernel=, initrd=, mem=, xterm=,
// mconsole=, hostfs=, iomem=, stderr=, virtio_uml.device=, noreboot, debug,
// nosysemu, ssl-non-raw, --help/--version/--showconfig. (UML passes most of
// them on and lets its kernel ignore them; the x86 guest would misread some.)
// In particular mem=: on x86 Linux `mem=` is an upper limit on the physical
// addresses used, not UML's amount of RAM; kuml gives the guest exactly
// mem_bytes of RAM through the e820 map instead.
//
// Everything else passes through unchanged and in order: root=, init=, rw,
// ro, quiet (also a kuml switch), console=, loglevel=, and unknown words and
// a=b pairs, which the guest kernel hands to init's argv and environment.
//
// Device names depend on the guest kernel (spec.guest_names, MachineSpec).
//
// A kernel that knows UML's names (GuestNames::kUml: kuml's own kernel, which
// says so with an ELF note) gets UML's command line: the user's words pass
// unchanged (root=/dev/ubda, root=98:0, /dev/ubdb1 are the kernel's own
// names there), after "kuml_names=uml" (which turns the names on) and
// "console=tty0" (UML appends it when no console= is given; kuml puts it
// first, so a console= of the user's, later, still wins where it names a
// console); with no root= before a "--", root=98:0 (/dev/ubda) is added, as
// UML does, before the "--".
//
// Any other kernel (GuestNames::kVirtio: no such note, e.g. a distribution
// kernel, or a bzImage, whose notes are compressed) names its virtio disks
// itself, in the order the VMM registers them: ubd index
// order, so the n-th configured ubd device (counting from ubd0, which always
// exists) is the guest's n-th virtio disk: ubd0 is /dev/vda; with ubd0 and
// ubd3 only, ubd3 is /dev/vdb. Hence:
//  * no root= given before a "--": root=/dev/vda is added (UML adds
//    root=98:0, i.e. /dev/ubda), before the "--" if there is one (UML
//    appends it after, which hands it to init instead of the kernel);
//  * root= naming a ubd device the UML way (/dev/ubda, /dev/ubdb1, 98:0,
//    98:17) is rewritten to the virtio name (/dev/vda, /dev/vdb1, ...) so
//    that UML command lines such as `root=/dev/ubda` keep booting. Other
//    root= values, and ubd devices not configured, pass unchanged.
#ifndef KUML_FRONTEND_GUEST_CMDLINE_H_
#define KUML_FRONTEND_GUEST_CMDLINE_H_

#include <optional>
#include <string>
#include <vector>

#include "frontend/machine_spec.h"

namespace kuml {

// Guest kernel arguments from the user's switches (see above). The VMM adds
// its own (console=, virtio_mmio.device=, ...) to these.
std::vector<std::string> GuestKernelArgs(const MachineSpec& spec);

// GuestKernelArgs joined with single spaces.
std::string GuestKernelCommandLine(const MachineSpec& spec);

// The guest's name for ubd device `ubd_index` ("ubdd" for ubd3 with UML's
// names; else "vda", "vdb", ... in index order), or nullopt if that ubd
// device is not configured.
std::optional<std::string> GuestDiskName(const MachineSpec& spec,
                                         int ubd_index);

}  // namespace kuml

#endif  // KUML_FRONTEND_GUEST_CMDLINE_H_
