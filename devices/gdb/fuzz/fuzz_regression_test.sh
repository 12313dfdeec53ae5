#!/bin/bash
# CI regression test for the gdb stub's fuzzer (devices/gdb:fuzz_regression_test):
# builds it with clang (ASan + UBSan, build_fuzzer.sh), replays the
# checked-in corpus (corpus/) once, then fuzzes for $FUZZ_SECONDS (10) s
# from it. Any crash, sanitizer report, leak, timeout or harness check fails
# the test; the input that did it is left in $TEST_UNDECLARED_OUTPUTS_DIR
# (Bazel's test.outputs) or the temporary directory printed below.
# The repository is found through this script's real path (Bazel runs it
# unsandboxed, tags = ["local"], from a symlink into the source tree).
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)
root=$(cd "$here/../../.." && pwd -P)
seconds=${FUZZ_SECONDS:-10}

work=${TEST_TMPDIR:-$(mktemp -d)}
artifacts=${TEST_UNDECLARED_OUTPUTS_DIR:-$work}
mkdir -p "$artifacts"
echo "repository $root, work directory $work"
bin=$work/gdb_packet_fuzzer
"$here/build_fuzzer.sh" "$bin" "$root"

corpus=$here/corpus
n=$(find "$corpus" -type f | wc -l)
[ "$n" -ge 10 ] || { echo "FAIL: only $n seed inputs in $corpus" >&2; exit 1; }

# A generous -timeout: a hang is still caught, a busy CI machine is not one.
common=(-timeout=60 -rss_limit_mb=2560 "-artifact_prefix=$artifacts/")
echo "--- replaying $n inputs of $corpus"
"$bin" "${common[@]}" -runs=0 "$corpus"
echo "--- fuzzing for $seconds s"
scratch=$work/corpus
mkdir -p "$scratch"
"$bin" "${common[@]}" -max_total_time="$seconds" -max_len=4096 \
  -print_final_stats=1 "$scratch" "$corpus"
echo PASS
