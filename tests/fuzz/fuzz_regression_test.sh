#!/bin/bash
# CI regression test for one fuzz target (tests/fuzz/BUILD, <target>_fuzz_test):
#   tests/fuzz/fuzz_regression_test.sh <target>
# Builds the target with clang (ASan + UBSan, build_fuzzer.sh), replays its
# checked-in corpus (corpus/<target>/) once, then fuzzes for 10 s from it.
# Any crash, sanitizer report, leak, timeout or harness check fails the test;
# the input that did it is left in $TEST_UNDECLARED_OUTPUTS_DIR (Bazel's
# test.outputs) or the temporary directory printed below.
# The repository is found through this script's real path (Bazel runs it
# unsandboxed, tags = ["local"], from a symlink into the source tree).
set -euo pipefail
target=${1:?usage: fuzz_regression_test.sh <target>}
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
# shellcheck source=targets.sh
source "$here/targets.sh"
seconds=${FUZZ_SECONDS:-10}

work=${TEST_TMPDIR:-$(mktemp -d)}
artifacts=${TEST_UNDECLARED_OUTPUTS_DIR:-$work}
mkdir -p "$artifacts"
echo "target $target, repository $root, work directory $work"
bin=$work/${target}_fuzzer
"$here/build_fuzzer.sh" "$target" "$bin" "$root"

corpus=$here/corpus/$target
n=$(find "$corpus" -type f | wc -l)
[ "$n" -ge 4 ] || { echo "FAIL: only $n seed inputs in $corpus" >&2; exit 1; }

# A generous -timeout: a hang is still caught, a busy CI machine is not one.
common=(-timeout=60 -rss_limit_mb=2560 "-artifact_prefix=$artifacts/")
echo "--- replaying $n inputs of $corpus"
"$bin" "${common[@]}" -runs=0 "$corpus"
echo "--- fuzzing for $seconds s"
scratch=$work/corpus
mkdir -p "$scratch"
"$bin" "${common[@]}" -max_total_time="$seconds" \
  -max_len="$(fuzz_max_len "$target")" -print_final_stats=1 "$scratch" "$corpus"
echo PASS
