#!/bin/bash
# Boot time of the default guest (same kernel, same root_fs) under kuml and
# under QEMU's microvm with KVM, side by side on the same /dev/kvm: wall time
# from process start to the guest's first console line and to the init
# marker, plus kuml's own start-up (process start to first KVM_RUN and first
# exit, from KUML_BOOT_TRACE).
#
# usage: boot_bench.sh <kuml binary> <vmlinux> <root_fs> [runs]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kuml=$1
kernel=$2
rootfs=$3
runs=${4:-3}
marker="kuml: init ok"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp --sparse=always "$rootfs" "$tmp/root_fs"
args="root=/dev/vda ro"

echo "kuml runs (first-line ms, marker ms, trace points ms):"
for i in $(seq "$runs"); do
  KUML_BOOT_TRACE=1 run_timed_until "$marker" 900 \
    "$kuml" kernel="$kernel" ubd0r="$tmp/root_fs" mem=128M $args | tee -a "$tmp/kuml"
done
echo "qemu microvm runs (first-line ms, marker ms):"
for i in $(seq "$runs"); do
  run_timed_until "$marker" 900 qemu-system-x86_64 -enable-kvm \
    -M microvm,acpi=off -m 128 -nodefaults -no-user-config -display none \
    -serial stdio -kernel "$kernel" -append "console=ttyS0 $args" \
    -drive id=root,file="$tmp/root_fs",format=raw,if=none,readonly=on \
    -device virtio-blk-device,drive=root | tee -a "$tmp/qemu"
done
km=$(cut -d' ' -f2 "$tmp/kuml" | median)
qm=$(cut -d' ' -f2 "$tmp/qemu" | median)
kf=$(cut -d' ' -f1 "$tmp/kuml" | median)
qf=$(cut -d' ' -f1 "$tmp/qemu" | median)
printf 'median to first line: kuml %.1f ms, qemu %.1f ms\n' "$kf" "$qf"
printf 'median to init marker: kuml %.1f ms, qemu %.1f ms, ratio kuml/qemu %.2f\n' \
  "$km" "$qm" "$(echo "$km / $qm" | bc -l)"
grep -o 'first-kvm-run=[0-9.]*' "$tmp/kuml" | cut -d= -f2 | median |
  xargs printf 'kuml process start to first KVM_RUN (median): %.1f ms\n'
