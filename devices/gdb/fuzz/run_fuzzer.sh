#!/bin/bash
# Fuzzes the gdb stub for a while or a number of runs, growing a scratch
# corpus from the checked-in one:
#   devices/gdb/fuzz/run_fuzzer.sh [<libFuzzer flags, default -max_total_time=300>]
# e.g. run_fuzzer.sh -runs=10000000. New inputs land in a temporary
# directory (printed); copy the interesting ones to corpus/ by hand
# (-merge=1 shrinks a set). Crashes are written to the cwd.
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)
work=$(mktemp -d)
echo "scratch corpus: $work/corpus"
mkdir -p "$work/corpus"
"$here/build_fuzzer.sh" "$work/gdb_packet_fuzzer"
flags=("$@")
[ ${#flags[@]} -gt 0 ] || flags=(-max_total_time=300)
"$work/gdb_packet_fuzzer" -max_len=4096 -print_final_stats=1 "${flags[@]}" \
  "$work/corpus" "$here/corpus"
