#!/bin/bash
# mconsole figures, side by side in one run:
#  1. `version` round trips through both of kuml's doors (in-process server,
#     fake guest; no KVM needed), natively;
#  2. where a KVM is (tests/kvmhost/with-kvm.sh): stop-to-parked on the
#     counter payload, and `version` round trips to a whole kuml process
#     running the idle payload;
#  3. `version` round trips to the real UML (Debian's `linux`, default
#     root_fs under a COW), natively, with the same raw client.
# usage: bench/mconsole_bench.sh <mconsole_bench> <payloads dir> <kuml> <root_fs>
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=$1 payloads=$2 kuml=$3 root_fs=$4
n=${MCONSOLE_BENCH_N:-2000}

# wait_socket <path>: up to 120 s.
wait_socket() {
  for _ in $(seq 600); do [ -S "$1" ] && return 0; sleep 0.2; done
  return 1
}

if [ "${5:-}" = --in-kvm ]; then
  "$bench" --mode=stop --target="$payloads/counter.bin" --count=200
  d=$(mktemp -d /tmp/mcb-XXXXXX)
  truncate -s 1M "$d/disk.img"
  "$kuml" uml_dir="$d" umid=b kernel="$payloads/idle.bin" ubd0="$d/disk.img" \
    mem=16M </dev/null >"$d/log" 2>&1 &
  pid=$!
  if wait_socket "$d/b/mconsole"; then
    echo -n "kuml process:    " && "$bench" --mode=socket --target="$d/b/mconsole" --count="$n"
  else
    echo "kuml process: no mconsole socket: $(tail -n 3 "$d/log")"
  fi
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rm -rf "$d"
  exit 0
fi

echo "-- doors (in-process, natively)"
"$bench" --mode=doors --count="$n"
echo "-- a running guest (which KVM: the kvmhost line says)"
"$here/../tests/kvmhost/with-kvm.sh" "$here/mconsole_bench.sh" "$@" --in-kvm 2>&1 |
  grep -v '^kvmhost: command exited'
if command -v linux >/dev/null; then
  d=$(mktemp -d /tmp/mcb-XXXXXX)
  linux ubd0="$d/cow,$root_fs" uml_dir="$d" umid=u mem=48M con=null \
    con0=fd:0,fd:1 </dev/null >"$d/log" 2>&1 &
  pid=$!
  if wait_socket "$d/u/mconsole"; then
    sleep 5  # let the boot settle: the mconsole answers from the kernel
    echo -n "real UML (host): " && "$bench" --mode=socket --target="$d/u/mconsole" --count="$n"
    uml_mconsole "$d/u/mconsole" halt >/dev/null 2>&1
  else
    echo "real UML: no mconsole socket: $(tail -n 3 "$d/log")"
  fi
  sleep 2
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rm -rf "$d"
else
  echo "real UML: not installed (user-mode-linux)"
fi
