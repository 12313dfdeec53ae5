#!/bin/bash
# End to end with the default guest kernel: the real uml_mconsole asks kuml
# for the kernel's version (read from the image), sends magic SysRq through
# the 8250 (break + key) and gets the kernel's own answer, stops and resumes
# the guest and halts it. (mconsole reboot is covered on the counter payload
# by mconsole_payload_test and machine_control_kvm_test; with this kernel in
# a heavily loaded nested host the second boot did not show within 600 s in
# two runs and passed in a third, manual one: under investigation.)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/mconsole_lib.sh"
require_default_guest
trap 'stop_stdin_holder; [ -z "$kuml_pid" ] || kill -9 $kuml_pid 2>/dev/null; rm -rf "$uml_dir"' EXIT

disk=$uml_dir/root_fs
fresh_rootfs "$disk"
# The console log on the nested host's own tmpfs: read back from a file on
# the shared (9p) test directory it stopped growing after the guest's shell
# prompt in one run, which a local file never did.
log=$uml_dir/console.log
kuml_log=$log
# The guest's shell reads the console: keep its input open (EOF would power
# the guest off).
stdin_holder | "$kuml_bin" uml_dir="$uml_dir" umid=guest kernel="$guest_kernel" \
  ubd0="$disk" mem=128M >"$log" 2>&1 &
kuml_pid=$!
wait_for 60 "the mconsole socket" test -S "$uml_dir/guest/mconsole"

release=$(strings "$guest_kernel" | sed -n 's/^Linux version \([^ ]*\) .*#1 .*/\1/p' | head -n1)
mc guest version
case "$mc_out" in "OK Linux (none) $release #1 "*" x86_64") ;; *) fail "version '$mc_out' (release $release)" ;; esac

wait_for 900 "the guest's init" grep -q "kuml: init ok" "$log"
sleep 5  # let the shell settle on the console

mc guest sysrq h
expect_eq "sysrq status" "$mc_status" 0
case "$mc_out" in *"sysrq: HELP : "*"reboot(b)"*) ;; *) fail "sysrq h: '$mc_out'" ;; esac

mc guest stop
expect_eq "stop" "$mc_out" "OK stopped"
mc guest sysrq h
case "$mc_out" in "ERR The guest is stopped"*) ;; *) fail "sysrq while stopped: '$mc_out'" ;; esac
mc guest version
expect_eq "version while stopped" "$mc_status" 0
mc guest go
expect_eq "go" "$mc_out" "OK "

mc guest sysrq s
case "$mc_out" in *"sysrq: Emergency Sync"*) ;; *) fail "sysrq s: '$mc_out'" ;; esac

mc guest halt
expect_eq "halt" "$mc_out" "OK "
wait_exit 60
expect_eq "kuml exit status after halt" "$kuml_status" 0
[ ! -e "$uml_dir/guest" ] || fail "umid dir left behind"
echo PASS
