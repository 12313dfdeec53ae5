#!/bin/bash
# Throughput of kuml's disk backends on this host, 4 KiB requests, beside
# plain pread/pwrite on the same kind of file, as ratios (1.00 = as fast as
# pread/pwrite). No KVM needed. usage: bench/cow_bench.sh [<file MiB, 64>]
#   raw       RawFileBackend over a plain image
#   cow_empty CowDisk whose COW file holds nothing (reads go to the backing)
#   cow_full  CowDisk whose COW file holds every sector
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bazel build -c opt //bench:cow_backend_bench > /dev/null 2>&1
bin=$(bazel info -c opt bazel-bin 2>/dev/null)/bench/cow_backend_bench
dir=$(mktemp -d "${TMPDIR:-/tmp}/cow_bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$bin" --dir="$dir" --mib="${1:-64}" --benchmark_format=csv \
  --benchmark_min_time=0.5 2> /dev/null | awk -F, '
  /^"/ {
    gsub(/"/, "", $1); split($1, n, "/")
    mibs[n[1], n[2]] = $6 / 1048576
    if (!(n[1] in seen)) { seen[n[1]] = 1; ops[++nops] = n[1] }
  }
  END {
    printf "%-11s %11s %11s %11s %11s   %-6s %-9s %-8s\n", "4 KiB", "pread MiB/s",
      "raw", "cow_empty", "cow_full", "raw/pr", "empty/pr", "full/pr"
    for (i = 1; i <= nops; i++) {
      op = ops[i]; p = mibs[op, "pread"]
      printf "%-11s %11.0f %11.0f %11.0f %11.0f   %6.2f %9.2f %8.2f\n", op, p,
        mibs[op, "raw"], mibs[op, "cow_empty"], mibs[op, "cow_full"],
        mibs[op, "raw"] / p, mibs[op, "cow_empty"] / p, mibs[op, "cow_full"] / p
    }
  }'
