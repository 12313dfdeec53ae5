// Boot-time trace points for benchmarks: with KUML_BOOT_TRACE=1 in the
// environment, each point prints "kuml-trace: <name> <CLOCK_REALTIME seconds>"
// on stderr once, so a script that noted the time before starting kuml can
// tell how long the VMM took to reach each point. Off: one relaxed load.
#ifndef KUML_VMM_BOOT_TRACE_H_
#define KUML_VMM_BOOT_TRACE_H_

namespace kuml {

// Prints the point the first time it is reached (per process). `name` must
// be a string literal.
void BootTracePoint(const char* name);

}  // namespace kuml

#endif  // KUML_VMM_BOOT_TRACE_H_
