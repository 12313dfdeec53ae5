#!/bin/bash
# The jail (UML's `jail` switch, as root) on the counter payload: once its
# devices are open kuml runs as nobody, chrooted into <umid dir>/jail, not
# dumpable, with the seccomp sandbox on; mconsole still answers, hot-plug is
# refused with a clear message, a reboot finds the kernel inside the jail,
# and when kuml ends its reaper removes the umid directory. As a non-root
# user the switch is a usage error.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/mconsole_lib.sh"
payload=${TEST_SRCDIR:-.}/kuml/tests/payloads/counter.bin
trap '[ -z "$kuml_pid" ] || kill -9 $kuml_pid 2>/dev/null; rm -rf "$uml_dir"' EXIT
[ "$(id -u)" = 0 ] || fail "needs root (the jail is root-only)"

log=$e2e_tmp/console.log
disk=$uml_dir/disk.img
truncate -s 1M "$disk"
start_kuml "$log" kernel="$payload" ubd0="$disk" umid=jailed mem=64M jail
wait_for 60 "the mconsole socket" test -S "$uml_dir/jailed/mconsole"
wait_for 120 "the payload to start" grep -q "counter: start" "$log"
wait_for 30 "the jail" test -d "$uml_dir/jailed/jail"
status=/proc/$kuml_pid/status
expect_eq "uid" "$(awk '/^Uid:/ {print $2, $3, $4, $5}' $status)" "65534 65534 65534 65534"
expect_eq "groups" "$(awk '/^Groups:/ {print $2}' $status)" ""
expect_eq "capabilities" "$(awk '/^CapEff:/ {print $2}' $status)" "0000000000000000"
expect_eq "root directory" "$(readlink /proc/$kuml_pid/root)" "$uml_dir/jailed/jail"
expect_eq "seccomp" "$(awk '/^Seccomp:/ {print $2}' $status)" 2
expect_eq "kernel in the jail" "$(cmp "$payload" "$uml_dir/jailed/jail/kernel" && echo same)" same

mc jailed version
expect_eq "version status" "$mc_status" 0
mc jailed config ubd1="$disk"
case "$mc_out" in "ERR kuml runs in a jail"*) ;; *) fail "config in the jail: '$mc_out'" ;; esac
mc jailed reboot
wait_for 120 "the second boot" test "$(grep -c 'counter: start' "$log")" -ge 2
mc jailed halt
wait_for 60 "kuml to exit" sh -c "! kill -0 $kuml_pid 2>/dev/null"
wait "$kuml_pid"
expect_eq "exit status" "$?" 0
kuml_pid=""
wait_for 30 "the reaper to remove the umid dir" test ! -e "$uml_dir/jailed"

# Not root: refused before anything is opened. (A copy of kuml that nobody
# may run: the runfiles are under root's home.)
bin_dir=$(mktemp -d /tmp/kuml-jail-bin-XXXXXX)
chmod 755 "$bin_dir"
cp "$kuml_bin" "$bin_dir/kuml"
out=$(cd / && setpriv --reuid=65534 --regid=65534 --clear-groups "$bin_dir/kuml" kernel=/nonexistent jail 2>&1)
non_root_status=$?
rm -rf "$bin_dir"
expect_eq "non-root status" "$non_root_status" 2
case "$out" in *"jail: needs root"*) ;; *) fail "non-root: '$out'" ;; esac
echo PASS
