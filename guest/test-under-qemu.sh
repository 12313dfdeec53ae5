#!/bin/bash
# needs: qemu-system-x86 coreutils
#
# Boots the default guest (kernel + root_fs) under QEMU's software emulation (TCG, no
# KVM needed) on a microvm machine without ACPI -- MP table, IOAPIC, 8250 console,
# virtio-mmio devices announced on the command line, as kuml presents the machine -- and
# checks the guest's markers. A slow test: seconds under TCG.
#
#   guest/test-under-qemu.sh [--kernel <vmlinux|bzImage>]... [--rootfs <image>]
#                            [--smp <n>] [--timeout <seconds>] [--keep]
#
# Defaults: both ${KUML_CACHE:-$HOME/.cache/kuml}/guest/vmlinux and .../bzImage, one
# after the other, on one private copy of .../root_fs (the cached image stays pristine).
# Each boot runs kuml_test=rwfile,pvmsyscall. The first boot must print
# "kuml: rwfile ok 1", the second "kuml: rwfile ok 2" (the file written by the first boot
# is on the disk); each must print "kuml: init ok" and "kuml: pvmsyscall ok" (system
# calls through the kvm_pvm page-fault path of patch 0001, made on purpose), reach
# "kuml: power off", and then really power off: the command line has kuml_ports=on
# (patch 0002: power off by writing 0x2000 to port 0x604) and QEMU an isa-debug-exit
# device there, so QEMU must exit by itself. A last boot (the first kernel) runs
# kuml_test=panic with panic=0 (no reboot): only patch 0002's write to QEMU's pvpanic
# port (0x505, -action panic=exit-failure) can make QEMU exit, with status 1.
# Then an interactive boot (no kuml_test): commands typed on the console reach the
# shell ("echo kuml-shell-$((6*7))" must print kuml-shell-42) and "exit" powers off.
# Exit status 0 only when all of that happened; the boot times are printed. --keep keeps the work directory (console logs, disk copy).
set -euo pipefail

readonly guest_cache="${KUML_CACHE:-${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}/.cache/kuml}/guest"
kernels=()
rootfs="$guest_cache/root_fs"
smp=2
timeout=120
keep=0
while (( $# )); do
  case "$1" in
    --kernel) kernels+=("$2"); shift 2 ;;
    --rootfs) rootfs="$2"; shift 2 ;;
    --smp) smp="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "usage: $0 [--kernel K]... [--rootfs R] [--smp N] [--timeout S] [--keep]" >&2; exit 2 ;;
  esac
done
(( ${#kernels[@]} )) || kernels=("$guest_cache/vmlinux" "$guest_cache/bzImage")

die() { echo "test-under-qemu: $*" >&2; exit 1; }
command -v qemu-system-x86_64 > /dev/null || die "qemu-system-x86_64 not found"
for k in "${kernels[@]}"; do [[ -r "$k" ]] || die "no kernel $k (run guest/build-kernel.sh)"; done
[[ -r "$rootfs" ]] || die "no root file system $rootfs (run guest/build-rootfs.sh)"

work=$(mktemp -d "${TMPDIR:-/tmp}/kuml-qemu-test.XXXXXX")
qemu_pid=
cleanup() {
  [[ -n "$qemu_pid" ]] && kill "$qemu_pid" 2> /dev/null || true
  if [[ $keep == 1 ]]; then echo "test-under-qemu: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
disk="$work/root_fs"
cp --sparse=always "$rootfs" "$disk"

now() { date +%s.%N; }
since() { echo "$(now) $1" | awk '{printf "%.2f", $1 - $2}'; }

# boot <kernel> <expected rwfile count>
boot() {
  local kernel=$1 want=$2 name log start t_init="" t_rw="" t_off="" t_exit="" status=0
  name=$(basename "$(readlink -f "$kernel")")
  log="$work/console-$name.log"
  : > "$log"
  start=$(now)
  # microvm with acpi=off: MP table + IOAPIC, no PCI; QEMU adds virtio_mmio.device=
  # for each virtio-mmio device to the command line itself (auto-kernel-cmdline).
  # panic=-1: a panic reboots, and -no-reboot turns that into QEMU exiting.
  qemu-system-x86_64 \
    -M microvm,acpi=off,x-option-roms=off -accel tcg -cpu max -smp "$smp" -m 256M \
    -display none -monitor none -serial "file:$log" -no-reboot \
    -kernel "$kernel" \
    -append "console=ttyS0 root=/dev/vda rw panic=-1 kuml_ports=on kuml_test=rwfile,pvmsyscall" \
    -drive id=root,file="$disk",format=raw,if=none \
    -device virtio-blk-device,drive=root \
    -device isa-debug-exit,iobase=0x604,iosize=2 \
    > "$work/qemu-$name.out" 2>&1 &
  qemu_pid=$!
  while :; do
    [[ -z "$t_init" ]] && grep -q '^kuml: init ok' "$log" && t_init=$(since "$start")
    [[ -z "$t_rw" ]] && grep -q '^kuml: rwfile ok' "$log" && t_rw=$(since "$start")
    if grep -q '^kuml: power off' "$log"; then
      t_off=$(since "$start")
      # The power-off write to port 0x604 makes QEMU exit. Without it (a kernel without
      # patch 0002) the kernel only halts and QEMU stays: that fails the test.
      for _ in $(seq 100); do
        kill -0 "$qemu_pid" 2> /dev/null || { t_exit=$(since "$start"); break; }
        sleep 0.05
      done
      [[ -n "$t_exit" ]] || { echo "test-under-qemu: QEMU still running 5 s after power off" \
        "(halted instead of powering off?) ($name)" >&2; status=1; }
      break
    fi
    if ! kill -0 "$qemu_pid" 2> /dev/null; then
      grep -q '^kuml: power off' "$log" && continue  # it printed the marker, then exited
      echo "test-under-qemu: QEMU exited early ($name)" >&2; status=1; break
    fi
    if (( $(awk -v t="$(since "$start")" -v m="$timeout" 'BEGIN {print (t > m)}') )); then
      echo "test-under-qemu: timed out after ${timeout}s ($name)" >&2; status=1; break
    fi
    sleep 0.05
  done
  kill "$qemu_pid" 2> /dev/null || true
  wait "$qemu_pid" 2> /dev/null || true
  qemu_pid=

  # The console ends lines with CR LF.
  tr -d '\r' < "$log" > "$log.txt" && mv "$log.txt" "$log"
  grep -q '^kuml: init ok' "$log" || { echo "missing 'kuml: init ok' ($name)" >&2; status=1; }
  grep -q "^kuml: rwfile ok $want\$" "$log" ||
    { echo "missing 'kuml: rwfile ok $want' ($name)" >&2; status=1; }
  grep -q '^kuml: pvmsyscall ok$' "$log" ||
    { echo "missing 'kuml: pvmsyscall ok' ($name)" >&2; status=1; }
  if grep -q '^kuml: test .* failed' "$log"; then status=1; fi
  if [[ $status != 0 ]]; then
    echo "---- console ($log) ----" >&2
    tail -n 60 "$log" >&2
    echo "---- qemu ----" >&2
    cat "$work/qemu-$name.out" >&2
    return 1
  fi
  printf 'test-under-qemu: %-8s init ok %5ss  rwfile ok %5ss  power off %5ss  QEMU gone %5ss  (smp %s)\n' \
    "$name" "$t_init" "$t_rw" "$t_off" "$t_exit" "$smp"
  grep -E '^\[ *[0-9.]+\] Run /sbin/init' "$log" | sed 's/^/  kernel: /' || true
}

# boot_panic <kernel>: the guest panics on purpose; QEMU must exit through pvpanic.
boot_panic() {
  local kernel=$1 name log start status=0 qemu_status=0
  name=$(basename "$(readlink -f "$kernel")")
  log="$work/console-$name-panic.log"
  start=$(now)
  timeout --kill-after=5 "$timeout" qemu-system-x86_64 \
    -M microvm,acpi=off,x-option-roms=off -accel tcg -cpu max -smp "$smp" -m 256M \
    -display none -monitor none -serial "file:$log" -no-reboot \
    -kernel "$kernel" \
    -append "console=ttyS0 root=/dev/vda rw panic=0 kuml_ports=on kuml_test=panic" \
    -drive id=root,file="$disk",format=raw,if=none \
    -device virtio-blk-device,drive=root \
    -device pvpanic -action panic=exit-failure \
    > "$work/qemu-$name-panic.out" 2>&1 || qemu_status=$?
  local t=$(since "$start")
  tr -d '\r' < "$log" > "$log.txt" && mv "$log.txt" "$log"
  grep -q '^kuml: panicking on purpose' "$log" || { echo "missing panic marker" >&2; status=1; }
  grep -q 'Kernel panic - not syncing' "$log" || { echo "the kernel did not panic" >&2; status=1; }
  [[ $qemu_status == 1 ]] ||
    { echo "QEMU exit status $qemu_status, want 1 (pvpanic not written?)" >&2; status=1; }
  if [[ $status != 0 ]]; then
    echo "---- console ($log) ----" >&2
    tail -n 40 "$log" >&2
    cat "$work/qemu-$name-panic.out" >&2
    return 1
  fi
  printf 'test-under-qemu: %-8s panic: QEMU exited through pvpanic after %5ss\n' "$name" "$t"
}

# prompts_at_least <log> <n>: the shell has shown its prompt (PS1 '\h:\w\$ ' of
# /etc/profile: "kuml:/# ") at least <n> times on the console.
prompts_at_least() {
  (( $(grep -oE 'kuml:[^ ]*# ' "$1" | wc -l) >= $2 ))
}

# console_wait <start> <command...>: runs <command> until it succeeds (evaluated anew
# each time). Fails when QEMU is gone or --timeout has passed since <start>.
console_wait() {
  local start=$1
  shift
  until "$@"; do
    kill -0 "$qemu_pid" 2> /dev/null || return 1
    if (( $(awk -v t="$(since "$start")" -v m="$timeout" 'BEGIN {print (t > m)}') )); then
      return 1
    fi
    sleep 0.05
  done
}

# boot_shell <kernel>: no test named: type into the console's shell, exit powers off.
boot_shell() {
  local kernel=$1 name log start t="" status=0
  name=$(basename "$(readlink -f "$kernel")")
  log="$work/console-$name-shell.log"
  rm -f "$work/console-in"
  mkfifo "$work/console-in"
  start=$(now)
  qemu-system-x86_64 \
    -M microvm,acpi=off,x-option-roms=off -accel tcg -cpu max -smp "$smp" -m 256M \
    -display none -monitor none -serial stdio -no-reboot \
    -kernel "$kernel" \
    -append "console=ttyS0 root=/dev/vda rw panic=-1 kuml_ports=on" \
    -drive id=root,file="$disk",format=raw,if=none \
    -device virtio-blk-device,drive=root \
    -device isa-debug-exit,iobase=0x604,iosize=2 \
    < "$work/console-in" > "$log" 2>&1 &
  qemu_pid=$!
  exec 7> "$work/console-in"
  # Type as a user does: each line only once the shell shows its prompt. ash's line
  # editor puts the tty in raw mode before it prints the prompt and back in canonical
  # mode after each line; input that arrives around that switch is not safe with
  # -smp 2 (typed the moment init's banner appeared, the first of two lines was lost
  # or cut in about 1 boot in 6, never with -smp 1).
  if console_wait "$start" prompts_at_least "$log" 1; then
    printf 'echo kuml-shell-$((6*7))\n' >&7
    if console_wait "$start" prompts_at_least "$log" 2; then
      printf 'exit\n' >&7
    fi
  fi
  while kill -0 "$qemu_pid" 2> /dev/null; do
    if (( $(awk -v t="$(since "$start")" -v m="$timeout" 'BEGIN {print (t > m)}') )); then
      echo "test-under-qemu: timed out after ${timeout}s ($name, shell)" >&2; status=1; break
    fi
    sleep 0.05
  done
  t=$(since "$start")
  exec 7>&-
  kill "$qemu_pid" 2> /dev/null || true
  wait "$qemu_pid" 2> /dev/null || true
  qemu_pid=
  tr -d '\r' < "$log" > "$log.txt" && mv "$log.txt" "$log"
  grep -q '^kuml-shell-42$' "$log" || { echo "the shell did not run the typed command" >&2; status=1; }
  grep -q '^kuml: power off' "$log" || { echo "exit did not power off" >&2; status=1; }
  if [[ $status != 0 ]]; then
    echo "---- console ($log) ----" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
  printf 'test-under-qemu: %-8s shell: typed command ran, exit powered off after %5ss\n' "$name" "$t"
}

count=0
for k in "${kernels[@]}"; do
  count=$((count + 1))
  boot "$k" "$count"
done
boot_panic "${kernels[0]}"
boot_shell "${kernels[0]}"
echo "test-under-qemu: PASS ($((${#kernels[@]} + 2)) boots)"
