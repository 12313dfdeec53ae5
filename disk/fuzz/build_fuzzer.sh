#!/bin/bash
# needs: clang pkg-config libabsl-dev
# Builds the COW header fuzzer with Debian's clang (libFuzzer + ASan + UBSan),
# outside Bazel: build_fuzzer.sh <output binary> [<repo root>]
set -euo pipefail
out=$1
root=${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
command -v clang++ > /dev/null || { echo "clang++ not found (apt-get install clang)" >&2; exit 1; }
# shellcheck disable=SC2046
clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -I"$root" \
  "$root/disk/fuzz/cow_header_fuzzer.cc" "$root/disk/cow_format.cc" \
  $(pkg-config --cflags --libs absl_status absl_statusor absl_strings absl_str_format) \
  -o "$out"
