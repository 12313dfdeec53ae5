#!/bin/bash
# Fleet density and start rate: N guests started through kumld, timed from
# `fleet up` until every guest is up (its ready line on its console), and
# the host memory each guest costs: PSS of its VMM (all processes of its
# process group: the real UML has helpers), beside the guest RAM actually
# touched (RSS of the VMM's largest mapping: kuml's guest memory, UML's
# physical-memory file).
#
#   bench/fleet_bench.sh                 # everything below, default counts
#   bench/fleet_bench.sh payload 10 50 100   # kuml + tiny payload (in a KVM)
#   bench/fleet_bench.sh guest 2             # kuml + default guest (in a KVM)
#   bench/fleet_bench.sh uml 10 50           # the real UML + default guest
#
# kuml needs a KVM: without /dev/kvm the kuml parts run in ONE nested KVM
# host (tests/kvmhost/with-kvm.sh; KUML_KVMHOST_MEM=... for more RAM), where
# guest code is emulated: compare ratios, not absolute times. The real UML
# runs on this host directly (ptrace, no KVM).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

# --- one fleet -------------------------------------------------------------
# fleet_run <label> <n> <vmm> <cmdline> <ready pattern> [copy {umid}.img of]
fleet_run() {
  local label=$1 n=$2 vmm=$3 cmdline=$4 ready=$5 copy_of=${6:-}
  local kt sock start end
  kt=$(mktemp -d /tmp/fleetbench.XXXXXX)
  sock=$kt/k.sock
  cat >"$kt/m.textproto" <<EOT
guest {
  umid: "b{i}"
  count: $n
  vmm: "$vmm"
  cmdline: "$cmdline"
  ready_pattern: "$ready"
  stop_timeout_ms: 3000
  $( [ -n "$copy_of" ] && echo "prepare { path: \"{umid}.img\" copy_of: \"$copy_of\" }")
}
EOT
  "$KUMLD" --socket="$sock" --uml_dir="$kt/uml" --cgroup_parent= >"$kt/kumld.out" 2>&1 &
  local kpid=$!
  for _ in $(seq 100); do "$FLEET" --socket="$sock" ls >/dev/null 2>&1 && break; sleep 0.1; done
  (cd "$kt" && ln -s "$BASE_IMG" base.img 2>/dev/null)
  start=$EPOCHREALTIME
  if ! "$FLEET" --socket="$sock" up --timeout=1800 "$kt/m.textproto" >"$kt/up.out" 2>&1; then
    echo "$label n=$n: FAILED: $(tail -2 "$kt/up.out")"
    tail -5 "$kt/uml/kumld.d/log/b0.log" 2>/dev/null | sed 's/^/  b0 console| /'
    "$FLEET" --socket="$sock" down >/dev/null 2>&1
    kill "$kpid"; wait "$kpid"; rm -rf "$kt"; return 1
  fi
  end=$EPOCHREALTIME
  sleep 2  # let the last guests settle after their ready line
  local pids pss=0 touched=0 p
  pids=$("$FLEET" --socket="$sock" ls | awk 'NR > 1 { print $3 }')
  for p in $pids; do
    local g
    for g in $(ps -o pid= -g "$p"); do
      pss=$((pss + $(awk '/^Pss:/ { print $2 }' /proc/$g/smaps_rollup 2>/dev/null || echo 0)))
    done
    # The largest mapping of the VMM itself: guest memory.
    touched=$((touched + $(awk '/^[0-9a-f]+-[0-9a-f]+ / { split($1, r, "-"); size = 0 }
        /^Size:/ { size = $2 } /^Rss:/ { if (size > best) { best = size; rss = $2 } }
        END { print rss + 0 }' /proc/$p/smaps 2>/dev/null || echo 0)))
  done
  awk -v l="$label" -v n="$n" -v s="$start" -v e="$end" -v pss="$pss" -v t="$touched" 'BEGIN {
    d = e - s
    printf "%-28s n=%-4d up in %7.2f s  %6.2f guests/s  PSS/guest %7.1f MiB  guest RAM touched/guest %7.1f MiB\n",
      l, n, d, n / d, pss / n / 1024, t / n / 1024 }'
  local down_start=$EPOCHREALTIME
  "$FLEET" --socket="$sock" down >/dev/null 2>&1
  awk -v s="$down_start" -v e="$EPOCHREALTIME" -v n="$n" 'BEGIN { printf "%-28s        down in %7.2f s\n", "", e - s }'
  kill "$kpid"; wait "$kpid" 2>/dev/null
  rm -rf "$kt"
}

# --- inside a KVM: the kuml parts ------------------------------------------
inner() {
  local what=$1
  shift
  for n in "$@"; do
    case "$what" in
      # ubd0r=: without a ubd0, kuml (like UML) boots ./root_fs; the
      # payload never reads its disk, so all share the base read-only.
      payload) fleet_run "kuml idle payload mem=16M" "$n" "$KUML" \
        "kernel=$PAYLOAD mem=16M ubd0r=base.img" "idle ready" ;;
      guest) fleet_run "kuml default guest mem=64M" "$n" "$KUML" \
        "kernel=$VMLINUX ubd0={umid}.img mem=64M" "built-in commands" "$BASE_IMG" ;;
    esac
  done
}

if [ "${1:-}" = --inner ]; then
  shift
  export KUMLD=$1 FLEET=$2 KUML=$3 PAYLOAD=$4 VMLINUX=$5 BASE_IMG=$6
  shift 6
  inner "$@"
  exit
fi

cd "$root"
nice -n 10 bazel build --jobs=2 //cli:kumld //cli:umlctl-fleet //cli:kuml \
  //tests/payloads:idle_payload >/dev/null 2>&1 || { echo "build failed" >&2; exit 1; }
bin=$(bazel info bazel-bin 2>/dev/null)
cache=${KUML_CACHE:-$HOME/.cache/kuml}
export KUMLD=$bin/cli/kumld FLEET=$bin/cli/umlctl-fleet
export BASE_IMG=$cache/guest/root_fs

what=${1:-all}
shift || true
counts=("$@")
run_kuml() {  # <payload|guest> counts...: one nested host for all of them
  tests/kvmhost/with-kvm.sh "$here/fleet_bench.sh" --inner "$KUMLD" "$FLEET" \
    "$bin/cli/kuml" "$bin/tests/payloads/idle.bin" "$cache/guest/vmlinux" \
    "$BASE_IMG" "$@" 2>&1 | grep --line-buffered -v '^kvmhost:'
}
echo "fleet benchmark: $(nproc) host CPUs; kuml in $( [ -c /dev/kvm ] && echo "this host's KVM" || echo "the nested KVM host (TCG)")"
case "$what" in
  payload) run_kuml payload "${counts[@]:-10 50 100}" ;;
  guest) run_kuml guest "${counts[@]:-2}" ;;
  uml)
    for n in ${counts[@]:-10 50}; do
      fleet_run "real UML default guest mem=48M" "$n" /usr/bin/linux \
        "ubd0={umid}.cow,base.img root=/dev/ubda con=null con0=fd:0,fd:1 mem=48M" \
        "built-in commands"
    done ;;
  all)
    run_kuml payload 10 50 100
    "$0" uml 10 50 ;;
  *) echo "usage: $0 [payload|guest|uml|all] [counts...]" >&2; exit 2 ;;
esac
