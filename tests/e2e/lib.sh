# Shared by the end-to-end tests: find kuml, the default guest, and run kuml
# with a time limit, its console captured.
set -uo pipefail
# debugfs, e2fsck and mke2fs live in /usr/sbin, outside Bazel's strict PATH.
export PATH=$PATH:/usr/sbin:/sbin

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

e2e_tmp=${TEST_TMPDIR:-$(mktemp -d)}
# Bazel points HOME at the test's scratch dir; the cache lives in the user's
# real home (passwd), where ./setup.sh built the guest.
real_home=$(getent passwd "$(id -u)" | cut -d: -f6)
cache=${KUML_CACHE:-${real_home:-/root}/.cache/kuml}
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

# fresh_rootfs <dest>: a private copy of the default root_fs (a guest booted
# read-write changes its disk).
fresh_rootfs() {
  cp --sparse=always "$guest_rootfs" "$1" || fail "cannot copy $guest_rootfs to $1"
}

# prompts_at_least <log> <n>: the default guest's shell has shown its prompt
# ("kuml:/# ", PS1 of its /etc/profile) at least <n> times. Type a line only
# once it has shown one more prompt than lines were typed: its line editor
# switches the tty between raw and canonical mode around each prompt, and
# input arriving during that switch was lost now and then on a 2-CPU guest.
prompts_at_least() {
  [ "$(grep -oE 'kuml:[^ ]*# ' "$1" | wc -l)" -ge "$2" ]
}

# wait_until <seconds> <command...>: runs <command> (anew each time) until it
# succeeds; false when the time runs out.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  while ((SECONDS < deadline)); do
    "$@" && return 0
    sleep 0.5
  done
  return 1
}

# expect_order <log> <pattern>...: each pattern appears, in this order.
expect_order() {
  local log=$1 line=0 n
  shift
  for pattern in "$@"; do
    n=$(tail -n +"$((line + 1))" "$log" | grep -n -m1 -- "$pattern" | cut -d: -f1)
    [ -n "$n" ] || fail "console lacks '$pattern' after line $line"
    line=$((line + n))
  done
}

expect_status() {
  [ "$kuml_status" = "$1" ] || fail "kuml exited $kuml_status, expected $1"
}
