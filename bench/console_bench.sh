#!/bin/bash
# Console throughput, guest to host, per channel kind: the same init program
# (console_flood_init.c, in an initramfs) writes the same bytes to a console
# tty and times it inside the guest, in kuml's default guest (con1 = hvc0, a
# virtio-console port) and in Debian's UML (con1 = /dev/tty1), with con1 on
# the same host channel for both and a reader draining it (console_peer.py).
#
# usage: console_bench.sh <kuml> <vmlinux> <flood initrd> [bytes]
# needs: user-mode-linux (the `linux` binary), python3
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kuml=$1
vmlinux=$2
initrd=$3
bytes=${4:-2097152}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
truncate -s 1M "$tmp/disk.img"
port=$((20000 + RANDOM % 20000))

# run_one <vmm> <kind>: prints the guest-measured bytes/s (or "n/a").
run_one() {
  local vmm=$1 kind=$2 spec peer="" log=$tmp/$1-$2.log dev args=()
  case "$kind" in
    null) spec=null ;;
    fd) spec=fd:3 ;;
    pts) spec=pts ;;
    tty)
      "$here/console_peer.py" pty "$tmp/ttypath" >"$tmp/peer.out" &
      peer=$!
      while [ ! -s "$tmp/ttypath" ]; do sleep 0.1; done
      spec=tty:$(cat "$tmp/ttypath") ;;
    port) spec=port:$port ;;
  esac
  if [ "$vmm" = kuml ]; then
    dev=/dev/hvc0
    args=("$kuml" kernel="$vmlinux" ubd0="$tmp/disk.img" quiet)
  else
    dev=/dev/tty1
    args=(linux con=none ssl=none)
  fi
  args+=(mem=128M initrd="$initrd" rdinit=/init flood_dev=$dev
    flood_bytes="$bytes" con0=fd:0,fd:1 con1="$spec")
  case "$kind" in
    pts) "$here/console_peer.py" pts "$log" "Virtual console 1 assigned device" \
      >"$tmp/peer.out" & peer=$! ;;
    port) "$here/console_peer.py" telnet "$port" >"$tmp/peer.out" & peer=$! ;;
  esac
  # kuml boots a whole kernel in the (possibly emulated) KVM; UML is up in
  # seconds but has been seen to stall on pts, so it gets less time.
  local limit=900
  [ "$vmm" = kuml ] || limit=300
  if [ "$kind" = fd ]; then
    # A fifo, not >(...): the nested KVM host has no /dev/fd.
    rm -f "$tmp/fifo" && mkfifo "$tmp/fifo"
    cat "$tmp/fifo" >/dev/null &
    timeout "$limit" "${args[@]}" </dev/null >"$log" 2>&1 3>"$tmp/fifo"
  else
    timeout "$limit" "${args[@]}" </dev/null >"$log" 2>&1
  fi
  [ -z "$peer" ] || { sleep 1; kill "$peer" 2>/dev/null; wait "$peer" 2>/dev/null; }
  local rate
  rate=$(sed -n 's/.*flood: \([0-9]*\) bytes .* \([0-9]*\) bytes\/s.*/\1 \2/p' "$log" | tail -n1)
  if [ -z "$rate" ] || [ "${rate% *}" != "$bytes" ]; then
    echo "n/a"
    echo "  ($vmm $kind: $(grep -a -m3 -i -e flood -e error -e fail "$log" | tr '\r\n' '  ' | cut -c1-200))" >&2
  else
    echo "${rate#* }"
  fi
  port=$((port + 1))
}

printf '%-6s %16s %16s %10s\n' channel "kuml B/s" "UML B/s" kuml/UML
# CONSOLE_BENCH_ONLY=kuml|uml runs one side (the other prints "skipped"):
# UML needs no KVM and is run natively by bench/run.sh, because Debian's UML
# under the nested host's TCG never finished a flood.
only=${CONSOLE_BENCH_ONLY:-}
# CONSOLE_BENCH_KINDS="fd port" runs only those channel kinds.
for kind in ${CONSOLE_BENCH_KINDS:-null fd pts tty port}; do
  k=skipped u=skipped
  [ "$only" = uml ] || k=$(run_one kuml "$kind")
  [ "$only" = kuml ] || u=$(run_one uml "$kind")
  ratio=n/a
  if [ -z "$only" ] && [ "$k" != n/a ] && [ "$u" != n/a ]; then
    ratio=$(printf '%.2f' "$(echo "$k / $u" | bc -l)")
  fi
  printf '%-6s %16s %16s %10s\n' "$kind" "$k" "$u" "$ratio"
done
