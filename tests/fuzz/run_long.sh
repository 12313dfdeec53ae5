#!/bin/bash
# Runs fuzz targets long and prints what each did:
#   tests/fuzz/run_long.sh [<target>...] [--runs=N | --seconds=S] [--jobs=J]
# Default: every target (targets.sh), each until 10,000,000 executions or one
# hour, whichever comes first, two at a time, under `nice -n 10`.
#   --runs=N     stop a target after N executions (no time limit unless
#                --seconds is given too)
#   --seconds=S  stop a target after S seconds (no execution limit unless
#                --runs is given too)
#   --jobs=J     targets fuzzed at the same time (default 2)
# Work files live in $FUZZ_WORK (default /tmp/kuml-fuzz): per target the
# binary, a growing corpus (seeded from corpus/<target>/; kept, so a second
# run resumes) and the log. A crash, leak, timeout or out-of-memory input is
# copied to tests/fuzz/crashes/<target>/ and reported in the table. To merge
# a long run's corpus into the checked-in one:
#   <binary> -merge=1 tests/fuzz/corpus/<target> $FUZZ_WORK/<target>/corpus
set -uo pipefail
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
# shellcheck source=targets.sh
source "$here/targets.sh"

runs="" seconds="" jobs=2 targets=()
for arg in "$@"; do
  case "$arg" in
    --runs=*) runs=${arg#--runs=} ;;
    --seconds=*) seconds=${arg#--seconds=} ;;
    --jobs=*) jobs=${arg#--jobs=} ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) targets+=("$arg") ;;
  esac
done
if [ -z "$runs" ] && [ -z "$seconds" ]; then runs=10000000; seconds=3600; fi
[ ${#targets[@]} -gt 0 ] || read -r -a targets <<< "$(echo $FUZZ_TARGETS)"
for t in "${targets[@]}"; do
  [ -f "$here/${t}_fuzzer.cc" ] || { echo "unknown target $t" >&2; exit 2; }
done
work=${FUZZ_WORK:-/tmp/kuml-fuzz}
mkdir -p "$work"

# Fuzzes one target; its last line on stdout is its row of the table.
fuzz_one() {
  local t=$1 dir=$work/$1
  mkdir -p "$dir/corpus" "$dir/artifacts"
  rm -f "$dir/artifacts/"*
  if ! "$here/build_fuzzer.sh" "$t" "$dir/${t}_fuzzer" "$root" > "$dir/build.log" 2>&1; then
    printf '%s\t-\t-\t-\t-\tbuild failed (%s)\n' "$t" "$dir/build.log"
    return
  fi
  local limits=()
  [ -n "$runs" ] && limits+=("-runs=$runs")
  [ -n "$seconds" ] && limits+=("-max_total_time=$seconds")
  local start end rc
  start=$(date +%s.%N)
  nice -n 10 "$dir/${t}_fuzzer" "${limits[@]}" \
    -max_len="$(fuzz_max_len "$t")" -timeout=120 -rss_limit_mb=2560 \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
    "$dir/corpus" "$here/corpus/$t" > "$dir/fuzz.log" 2>&1
  rc=$?
  end=$(date +%s.%N)
  local execs corp result secs rate
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -1)
  [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$dir/fuzz.log" | tail -1 | tr -d '#')
  corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$dir/fuzz.log" | tail -1 | sed 's/corp: //')
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
  rate=$(awk -v n="${execs:-0}" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
  if [ "$rc" -eq 0 ]; then
    result="no crash"
  else
    # What libFuzzer stopped for (slow-unit-* files are only reports).
    local found="" kind
    for kind in crash leak oom timeout; do
      found=$(ls "$dir/artifacts/" 2> /dev/null | grep "^$kind-" | head -1)
      [ -n "$found" ] && break
    done
    if [ -z "$found" ]; then
      result="exit $rc, see $dir/fuzz.log"
    elif [ "$kind" = timeout ] && "$dir/${t}_fuzzer" -timeout=120 \
        "$dir/artifacts/$found" > "$dir/timeout-check.log" 2>&1; then
      # A machine that stalls (other load) can trip the timeout; an input
      # that then runs through is not a hang.
      result="stopped by a timeout that does not reproduce ($(grep -oE 'in [0-9]+ ms' "$dir/timeout-check.log")), see $dir/fuzz.log"
    else
      mkdir -p "$here/crashes/$t"
      cp "$dir/artifacts/$found" "$here/crashes/$t/"
      result="CRASH: tests/fuzz/crashes/$t/$found ($(grep -m1 -oE 'ERROR: [A-Za-z]+: [^ ]+( on [^ ]+)?|SUMMARY: .*' "$dir/fuzz.log" | head -1))"
    fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "${execs:-?}" "$secs" "$rate" "${corp:-?}" "$result"
}

rows=$work/rows.$$
: > "$rows"
echo "fuzzing ${targets[*]} (runs ${runs:-unlimited}, seconds ${seconds:-unlimited}, $jobs at a time); work in $work"
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
  (fuzz_one "$t" | tail -1 >> "$rows"; echo "  done: $t") &
  running=$((running + 1))
done
wait

{
  printf 'target\texecutions\tseconds\texec/s\tcorpus (units/bytes)\tresult\n'
  for t in "${targets[@]}"; do grep -P "^$t\t" "$rows"; done
} | column -t -s $'\t' | tee "$work/summary.txt"
rm -f "$rows"
! grep -q -e CRASH -e 'exit ' -e 'build failed' -e 'stopped by' "$work/summary.txt"
