#!/bin/bash
# Exits handled per second: the same multiboot payload (a loop of `out` to
# an unclaimed port, 0 and 200000 iterations) under kuml and under QEMU with
# KVM, side by side on the same /dev/kvm. Per-exit cost =
# (T(200000) - T(0)) / 200000, so process start-up cancels out.
#
# usage: exits_bench.sh <kuml binary> <payload dir> [runs]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kuml=$1
payloads=$2
runs=${3:-3}
loops=200000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
truncate -s 1M "$tmp/disk.img"

time_kuml() {  # prints seconds
  local s e
  s=$(now)
  "$kuml" kernel="$1" ubd0="$tmp/disk.img" con0=null quiet >/dev/null 2>&1 </dev/null
  e=$(now)
  echo "$e - $s" | bc -l
}
time_qemu() {
  local s e
  s=$(now)
  qemu-system-x86_64 -enable-kvm -M microvm -m 64 -nodefaults -no-user-config \
    -display none -serial null -device isa-debug-exit,iobase=0xf4 \
    -kernel "$1" >/dev/null 2>&1 </dev/null || true  # debug-exit: status 1
  e=$(now)
  echo "$e - $s" | bc -l
}

declare -A t
for vmm in kuml qemu; do
  for p in exits_0 exits_200k; do
    t[$vmm.$p]=$(for i in $(seq "$runs"); do "time_$vmm" "$payloads/$p.bin"; done | median)
  done
done
printf '%-6s %12s %14s %12s %12s\n' vmm "T(0) s" "T(200k) s" "us/exit" "exits/s"
declare -A per
for vmm in kuml qemu; do
  per[$vmm]=$(echo "(${t[$vmm.exits_200k]} - ${t[$vmm.exits_0]}) / $loops * 1000000" | bc -l)
  printf '%-6s %12.3f %14.3f %12.2f %12.0f\n' "$vmm" "${t[$vmm.exits_0]}" \
    "${t[$vmm.exits_200k]}" "${per[$vmm]}" "$(echo "1000000 / ${per[$vmm]}" | bc -l)"
done
printf 'ratio kuml/qemu per-exit cost: %.2f; start-up (T(0)) ratio: %.2f\n' \
  "$(echo "${per[kuml]} / ${per[qemu]}" | bc -l)" \
  "$(echo "${t[kuml.exits_0]} / ${t[qemu.exits_0]}" | bc -l)"
