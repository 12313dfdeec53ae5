// Parsers for UML console and serial-line switches,
//   con[<n>]=<spec>   ssl[<n>]=<spec>
// where <spec> is `none`, <chan> (input and output) or <in chan>,<out chan>
// (split at the first comma). Follows drivers/line.c line_setup and
// chan_kern.c parse_chan_pair; shared with mconsole's `config con<n>=...`.
#ifndef KUML_FRONTEND_LINE_SWITCH_H_
#define KUML_FRONTEND_LINE_SWITCH_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "frontend/machine_spec.h"

namespace kuml {

struct LineSwitch {
  LineKind kind = LineKind::kConsole;
  bool is_default = false;  // con= / ssl= (every line not named explicitly)
  int index = -1;           // con<n> / ssl<n>
  LineSpec spec;            // spec.config and spec.switch_text filled in
};

// `arg` is the whole switch and starts with "con" or "ssl". <n> is read in
// base 0; errors "Couldn't parse device number" / "Device number out of
// range" as in UML. Errors are InvalidArgument("<arg>: <why>").
absl::StatusOr<LineSwitch> ParseLineSwitch(absl::string_view arg);

// The text after '=': `none`, <chan> or <chan>,<chan>. Error messages do
// not name a switch.
absl::StatusOr<LineSpec> ParseLineConfig(absl::string_view config);

// One channel: fd:<N> (base 0), null, port:<1..65535>, pty, pts,
// tty:<device>, xterm. Stricter than UML, which matches only the prefix of
// null/pty/pts/xterm and ignores what follows, and takes any port number.
absl::StatusOr<ChannelSpec> ParseChannel(absl::string_view text);

}  // namespace kuml

#endif  // KUML_FRONTEND_LINE_SWITCH_H_
