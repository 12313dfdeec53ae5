#!/bin/bash
# Fuzzes the COW header decoder for a while, growing the checked-in corpus:
#   disk/fuzz/run_fuzzer.sh [<seconds, default 300>]
# New inputs land in disk/fuzz/corpus/ (libFuzzer minimizes nothing here; run
# with -merge=1 by hand to shrink it). Crashes are written to the cwd.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=$(mktemp -d)/cow_header_fuzzer
"$here/build_fuzzer.sh" "$bin"
"$bin" -max_total_time="${1:-300}" -max_len=8192 -print_final_stats=1 \
  "$here/corpus"
