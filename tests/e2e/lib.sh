# Shared by the end-to-end tests: find kuml, the default guest, and run kuml
# with a time limit, its console captured.
set -uo pipefail

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

e2e_tmp=${TEST_TMPDIR:-$(mktemp -d)}
cache=${KUML_CACHE:-${HOME:-/root}/.cache/kuml}
guest_kernel=$cache/guest/vmlinux
guest_rootfs=$cache/guest/root_fs

# kuml from the runfiles (sh_test data) or the first argument.
kuml_bin=${KUML_BIN:-${TEST_SRCDIR:-.}/kuml/cli/kuml}
[ -x "$kuml_bin" ] || fail "kuml binary not found at $kuml_bin"

require_default_guest() {
  [ -s "$guest_kernel" ] || fail "no guest kernel at $guest_kernel: run ./setup.sh (it builds it)"
  [ -s "$guest_rootfs" ] || fail "no root_fs at $guest_rootfs: run ./setup.sh"
}

# run_kuml <timeout s> <console log> <kuml args...>: runs kuml with stdin
# from /dev/null; sets $kuml_status.
run_kuml() {
  local limit=$1 log=$2
  shift 2
  local start end
  start=$(date +%s.%N)
  timeout --kill-after=10 "$limit" "$kuml_bin" "$@" </dev/null >"$log" 2>&1
  kuml_status=$?
  end=$(date +%s.%N)
  echo "kuml exited $kuml_status after $(echo "$end - $start" | bc) s; console:"
  sed 's/^/  | /' "$log" | tail -n 80
  [ "$kuml_status" != 124 ] || fail "kuml did not finish within $limit s"
}

expect_line() {
  local log=$1 pattern=$2
  grep -q -- "$pattern" "$log" || fail "console lacks '$pattern'"
}
