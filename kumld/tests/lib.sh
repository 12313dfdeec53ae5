# Shared by kumld's end-to-end tests: a kumld of their own (private socket,
# state and uml_dir under the test's scratch dir) and helpers to poll it.
set -uo pipefail
export PATH=$PATH:/usr/sbin:/sbin

fail() {
  echo "FAIL: $*" >&2
  [ -n "${kt:-}" ] && [ -f "$kt/kumld.out" ] && sed 's/^/  kumld| /' "$kt/kumld.out" >&2
  exit 1
}

runfiles=${TEST_SRCDIR:-.}/kuml
kumld_bin=${KUMLD_BIN:-$runfiles/cli/kumld}
fleet_bin=${FLEET_BIN:-$runfiles/cli/umlctl-fleet}
[ -x "$kumld_bin" ] || fail "kumld not found at $kumld_bin"
[ -x "$fleet_bin" ] || fail "umlctl-fleet not found at $fleet_bin"

# Short paths: unix socket names are limited to 108 bytes.
kt=$(mktemp -d /tmp/kumldtest.XXXXXX)
sock=$kt/k.sock
umls=$kt/uml
kumld_pid=""

fleet() { "$fleet_bin" --socket="$sock" "$@"; }

start_kumld() {
  "$kumld_bin" --socket="$sock" --uml_dir="$umls" "$@" >>"$kt/kumld.out" 2>&1 &
  kumld_pid=$!
  for _ in $(seq 100); do
    fleet ls >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "kumld did not come up"
}

stop_kumld() {
  kill -TERM "$kumld_pid"
  wait "$kumld_pid" || fail "kumld exited $? on SIGTERM"
}

# field <umid> <column>: a column of `fleet ls` (2 state, 3 pid, 8 restarts).
field() {
  fleet ls | awk -v u="$1" -v c="$2" '$1 == u { print $c }'
}

# column_is <umid> <column> <value>: for wait_for (which re-runs it).
column_is() {
  [ "$(field "$1" "$2")" = "$3" ]
}

# alive <pid>: the process exists and is not a zombie. A re-adopted VMM is
# not kumld's child: once killed it stays a zombie until whoever inherited it
# reaps it, which outside a test sandbox's pid namespace may take a while.
alive() {
  local state
  state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# wait_for <seconds> <description> <command...>: polls until it succeeds.
wait_for() {
  local limit=$1 what=$2
  shift 2
  for _ in $(seq $((limit * 5))); do
    "$@" && return 0
    sleep 0.2
  done
  fleet ls >&2
  fail "timed out after $limit s waiting for: $what"
}

cleanup() {
  # Nothing of ours may outlive the test: the fleet, then kumld.
  if [ -n "$kumld_pid" ] && kill -0 "$kumld_pid" 2>/dev/null; then
    fleet down >/dev/null 2>&1
    kill -TERM "$kumld_pid" 2>/dev/null
  fi
  for f in "$umls"/*/pid; do
    [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
  done
  rm -rf "$kt"
}
trap cleanup EXIT
