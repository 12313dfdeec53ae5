#!/bin/bash
# Builds the fuzzer and replays the checked-in corpus through it (ASan and
# UBSan on), then fuzzes for a few seconds more. A crash fails the test.
set -euo pipefail
if [ -n "${TEST_SRCDIR:-}" ]; then
  root=$TEST_SRCDIR/kuml  # Bazel runs a copy of this script from disk/
else
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
fi
here=$root/disk/fuzz
bin="${TEST_TMPDIR:-$(mktemp -d)}/cow_header_fuzzer"
"$here/build_fuzzer.sh" "$bin" "$root"
n=$(find -L "$here/corpus" -type f | wc -l)
[ "$n" -ge 10 ] || { echo "FAIL: only $n corpus files" >&2; exit 1; }
"$bin" -runs=0 "$here/corpus"/*
scratch="${TEST_TMPDIR:-$(mktemp -d)}/corpus"
mkdir -p "$scratch"
"$bin" -max_total_time=10 -max_len=8192 "$scratch" "$here/corpus"
echo PASS
