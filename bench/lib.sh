# Helpers for the benchmark scripts (bash 5: $EPOCHREALTIME, no forks).

now() { echo "$EPOCHREALTIME"; }
elapsed_ms() { echo "($2 - $1) * 1000" | bc -l | xargs printf '%.1f'; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# run_timed_until <pattern> <timeout s> <cmd...>: runs cmd, stdout+stderr
# through a reader that stamps the first output line and the first line
# matching pattern; kills cmd once the pattern is seen. Prints
# "<first-output ms> <pattern ms> <kuml-trace lines...>" relative to start.
run_timed_until() {
  local pattern=$1 limit=$2
  shift 2
  local start first="" hit="" traces=""
  start=$(now)
  coproc CMD { exec timeout "$limit" "$@" 2>&1; }
  local pid=$CMD_PID
  while IFS= read -r line <&"${CMD[0]}"; do
    local t
    t=$(now)
    case "$line" in
      kuml-trace:*)
        set -- $line
        traces+=" $2=$(elapsed_ms "$start" "$3")"
        continue ;;
    esac
    [ -n "$first" ] || first=$t
    if [[ "$line" == *"$pattern"* ]]; then
      hit=$t
      kill "$pid" 2>/dev/null
      break
    fi
  done
  wait "$pid" 2>/dev/null || true  # killed on purpose once the pattern shows
  if [ -z "$hit" ]; then
    echo "FAILED: '$pattern' never appeared" >&2
    return 1
  fi
  echo "$(elapsed_ms "$start" "$first") $(elapsed_ms "$start" "$hit")$traces"
}
