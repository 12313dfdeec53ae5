// libFuzzer target: the UML command line (frontend/): ParseCommandLine over
// an argv made by splitting the input at NUL bytes, then everything that
// consumes a MachineSpec (GuestKernelArgs / GuestKernelCommandLine,
// GuestDiskName, CheckSupported, EffectiveLine, the help and version texts),
// and each argument through the per-switch parsers (ubd, con/ssl, eth, vec,
// channels, memparse, numbers, interface names).
//
// Input: argv[0] excluded; the arguments, NUL-separated (at most 64).
// Checks beyond ASan/UBSan: errors are InvalidArgument naming their
// argument (command_line.h); a parsed spec (not --help & co.) has ubd0; mem
// sizes are 4 KiB multiples; the guest command line is the guest args joined by
// spaces; number prefixes never run past their text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "frontend/command_line.h"
#include "frontend/guest_cmdline.h"
#include "frontend/help_text.h"
#include "frontend/line_switch.h"
#include "frontend/machine_spec.h"
#include "frontend/net_switch.h"
#include "frontend/parse_util.h"
#include "frontend/support.h"
#include "frontend/ubd_switch.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuml;        // NOLINT
  using namespace kuml::fuzz;  // NOLINT
  std::vector<std::string> args = absl::StrSplit(
      absl::string_view(reinterpret_cast<const char*>(data), size), '\0');
  if (args.size() > 64) args.resize(64);

  absl::StatusOr<MachineSpec> spec = ParseCommandLine(args);
  if (!spec.ok()) {
    Check(spec.status().code() == absl::StatusCode::kInvalidArgument);
  } else if (spec->show_help || spec->show_version || spec->show_config) {
    // The first of them wins and nothing else is parsed (not even the
    // default ubd0): kuml prints and exits.
    if (spec->show_help) (void)HelpText();
    if (spec->show_version) (void)VersionString();
  } else {
    Check(spec->disks.count(0) == 1);
    std::vector<std::string> guest = GuestKernelArgs(*spec);
    Check(GuestKernelCommandLine(*spec) == absl::StrJoin(guest, " "));
    for (int i = -1; i <= 17; ++i) (void)GuestDiskName(*spec, i);
    absl::Status supported = CheckSupported(*spec);
    Check(supported.ok() == UnsupportedSwitches(*spec).empty());
    for (LineKind kind : {LineKind::kConsole, LineKind::kSerial}) {
      for (int n = -1; n <= LineCount(kind); ++n) {
        (void)EffectiveLine(*spec, kind, n);
      }
    }
  }

  for (const std::string& arg : args) {
    if (absl::StartsWith(arg, "ubd")) (void)ParseUbdSwitch(arg);
    if (absl::StartsWith(arg, "con") || absl::StartsWith(arg, "ssl")) {
      (void)ParseLineSwitch(arg);
    }
    if (absl::StartsWith(arg, "eth")) (void)ParseEthSwitch(arg);
    if (absl::StartsWith(arg, "vec")) (void)ParseVecSwitch(arg);
    (void)ParseLineConfig(arg);
    (void)ParseChannel(arg);
    (void)IsValidInterfaceName(arg);
    absl::StatusOr<uint64_t> mem = ParseMemSize(arg);
    if (mem.ok()) Check(*mem % 4096 == 0 && *mem > 0);
    for (int base : {0, 8, 10, 16}) {
      NumberPrefix n = ParseNumberPrefix(arg, base);
      Check(n.length <= arg.size());
      std::optional<uint64_t> whole = ParseWholeNumber(arg, base, 1u << 20);
      if (whole.has_value()) Check(*whole <= (1u << 20));
    }
  }
  return 0;
}
