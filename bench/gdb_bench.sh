#!/bin/bash
# The gdb stub's round trips, kuml against QEMU's gdbstub on the same KVM:
# Debian's gdb attaches to the counter payload (tests/payloads/counter.c)
# and times, in its Python,
#   - a memory read: 1000 reads of 64 bytes at the payload's code;
#   - a breakpoint round trip: 200 `continue`s to an hbreak on the
#     payload's loop (resume, the guest runs one iteration, the hit is
#     reported and gdb has its stop: what a user waits for at each hit).
# Both stubs serve the same gdb over TCP on 127.0.0.1.
#
# usage: gdb_bench.sh <kuml binary> <payload dir>
set -euo pipefail
kuml=$1
payload=$2/counter.bin
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
truncate -s 1M "$tmp/disk.img"

cat >"$tmp/measure.py" <<'PY'
import time
import gdb
inf = gdb.selected_inferior()
n = 1000
t = time.perf_counter()
for _ in range(n):
    inf.read_memory(0x100000, 64)
read_us = (time.perf_counter() - t) / n * 1e6
gdb.execute("hbreak *0x1000d8", to_string=True)
gdb.execute("continue", to_string=True)  # the first hit, not timed
n = 200
t = time.perf_counter()
for _ in range(n):
    gdb.execute("continue", to_string=True)
hit_us = (time.perf_counter() - t) / n * 1e6
print("RESULT %.1f %.1f" % (read_us, hit_us))
PY

measure() {  # <port>: prints "<read us> <hit us>"
  timeout 300 gdb -nx -batch -ex "target remote 127.0.0.1:$1" \
    -ex "source $tmp/measure.py" -ex 'delete' -ex 'kill' 2>&1 |
    awk '/^RESULT/ {print $2, $3}'
}

"$kuml" kernel="$payload" ubd0="$tmp/disk.img" con0=null quiet gdb=23947 \
  uml_dir="$tmp" >/dev/null 2>&1 </dev/null &
sleep 2
read -r kuml_read kuml_hit < <(measure 23947)
wait || true

qemu-system-x86_64 -enable-kvm -M microvm -m 64 -nodefaults \
  -no-user-config -display none -serial null -kernel "$payload" \
  -gdb tcp:127.0.0.1:23948 >/dev/null 2>&1 </dev/null &
sleep 2
read -r qemu_read qemu_hit < <(measure 23948)
wait || true

printf '%-6s %18s %22s\n' stub "memory read (us)" "breakpoint hit (us)"
printf '%-6s %18s %22s\n' kuml "$kuml_read" "$kuml_hit"
printf '%-6s %18s %22s\n' qemu "$qemu_read" "$qemu_hit"
printf 'ratio kuml/qemu: memory read %.2f, breakpoint hit %.2f\n' \
  "$(echo "$kuml_read / $qemu_read" | bc -l)" \
  "$(echo "$kuml_hit / $qemu_hit" | bc -l)"
