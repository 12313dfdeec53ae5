#!/bin/bash
# End to end: kuml running the counter payload (tests/payloads/counter.c),
# driven through both mconsole doors by real clients: uml_mconsole (one-shot
# and interactive), umlctl (gRPC, --json, list) and a Node gRPC client;
# stop/go seen from outside (the payload's ticks stop and resume), sysrq's
# break+key reaching the guest, mconsole=notify:, reboot in the same process,
# the gdb stub started, used by the real gdb and stopped through mconsole,
# halt, and the umid dir removed at exit.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/mconsole_lib.sh"
source "${TEST_SRCDIR:-.}/kuml/tests/node/node_env.sh"
payload=${TEST_SRCDIR:-.}/kuml/tests/payloads/counter.bin
node_client=${TEST_SRCDIR:-.}/kuml/tests/node/mconsole_client.js
kuml_proto=${TEST_SRCDIR:-.}/kuml/proto/kuml.proto
refl_proto=${TEST_SRCDIR:-.}/kuml/tests/node/reflection_min.proto

# mconsole=notify: listener: records every datagram as hex lines.
notify_sock=$uml_dir/notify.sock
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "w", buffering=1)
while True:
    out.write(s.recv(2048).hex() + "\n")
' "$notify_sock" "$uml_dir/notify.log" &
notify_pid=$!
trap 'kill $notify_pid 2>/dev/null; [ -z "$kuml_pid" ] || kill -9 $kuml_pid 2>/dev/null; rm -rf "$uml_dir"' EXIT
wait_for 120 "the notify listener" test -S "$notify_sock"

log=$e2e_tmp/console.log
disk=$uml_dir/disk.img
truncate -s 1M "$disk"
# Two vCPUs (the payload runs on the first; the second waits for a SIPI in
# KVM): stop parks both. With ncpus=2 the sandbox once killed kuml at the
# first stop -- absl::Mutex's contended path made system calls the vCPU
# filter did not expect.
start_kuml "$log" kernel="$payload" ubd0="$disk" umid=pay mem=64M ncpus=2 \
  mconsole=notify:"$notify_sock"
wait_for 60 "the mconsole socket" test -S "$uml_dir/pay/mconsole"
wait_for 60 "the gRPC socket" test -S "$uml_dir/pay/grpc"
expect_eq "pid file" "$(cat "$uml_dir/pay/pid")" "$kuml_pid"
# The sandbox is on by default: seccomp filters on every thread, no new
# privileges (machine/sandbox_policy.h); each vCPU thread has one more.
expect_eq "seccomp mode" "$(awk '/^Seccomp:/ {print $2}' /proc/$kuml_pid/status)" 2
expect_eq "no_new_privs" "$(awk '/^NoNewPrivs:/ {print $2}' /proc/$kuml_pid/status)" 1
vcpu_tid=$(grep -l '^kuml-vcpu0$' /proc/$kuml_pid/task/*/comm | head -1 | cut -d/ -f5)
[ -n "$vcpu_tid" ] || fail "no kuml-vcpu0 thread"
expect_eq "vCPU filters" "$(awk '/^Seccomp_filters:/ {print $2}' /proc/$kuml_pid/task/$vcpu_tid/status)" 2
expect_eq "vCPU threads" "$(cat /proc/$kuml_pid/task/*/comm | grep -c '^kuml-vcpu')" 2
wait_for 120 "the payload to start" grep -q "counter: start" "$log"

mc pay version
expect_eq "version status" "$mc_status" 0
case "$mc_out" in "OK Linux (none) unknown (no Linux banner in "*) ;; *) fail "version: '$mc_out'" ;; esac
mc pay bogus
expect_eq "unknown command" "$mc_out" "ERR Unknown command"
expect_eq "unknown status" "$mc_status" 1
mc pay config ubd0
expect_eq "config ubd0" "$mc_out" "OK $disk"
mc pay config con0
expect_eq "config con0" "$mc_out" "OK fd:0,fd:1"
mc pay remove ubd5
expect_eq "remove ubd5 status" "$mc_status" 237
mc pay proc meminfo
expect_eq "proc without agent status" "$mc_status" 1
case "$mc_out" in "ERR The guest has no kuml agent"*) ;; *) fail "proc: '$mc_out'" ;; esac

# stop: the payload prints a tick every 2^24 counts; none while stopped.
wait_for 120 "a tick" grep -q "counter: tick" "$log"
mc pay stop
expect_eq "stop" "$mc_out" "OK stopped"
ticks=$(grep -c "counter: tick" "$log")
mc pay stop
expect_eq "stop again" "$mc_out" "ERR Already stopped"
ctl pay version
expect_eq "umlctl version status while stopped" "$ctl_status" 0
sleep 8
expect_eq "ticks while stopped" "$(grep -c "counter: tick" "$log")" "$ticks"
mc pay go
expect_eq "go" "$mc_out" "OK "
# A function, so that the count is taken on every try (a "$(grep -c ...)"
# argument would be expanded once, before the first: under load the first
# tick after go came later than that, and the test waited in vain while the
# guest ticked on).
ticks_grew() { [ "$(grep -c "counter: tick" "$log")" -gt "$ticks" ]; }
wait_for 120 "ticks after go" ticks_grew
mc pay go
expect_eq "go again" "$mc_out" "ERR Not stopped"

# sysrq: a break and the key on the serial line; the guest's answer returns.
mc pay sysrq q
case "$mc_out" in *"counter: break then 'q'"*) ;; *) fail "sysrq: '$mc_out'" ;; esac

# Interactive uml_mconsole.
out=$(printf 'version\nconfig con0\nbogus\n' | timeout 60 uml_mconsole "$uml_dir/pay/mconsole" 2>/dev/null)
echo "interactive: $out"
case "$out" in *"OK fd:0,fd:1"*"ERR Unknown command"*) ;; *) fail "interactive uml_mconsole" ;; esac

# umlctl over gRPC.
ctl pay stop
expect_eq "umlctl stop" "$ctl_out" "OK stopped"
ctl pay go
expect_eq "umlctl go" "$ctl_out" "OK "
ctl --json pay version
case "$ctl_out" in *'"release":"unknown"'*) ;; *) fail "umlctl --json version" ;; esac
ctl list
case "$ctl_out" in "pay	$kuml_pid	$uml_dir/pay/grpc") ;; *) fail "umlctl list: '$ctl_out'" ;; esac
[ "$(stat -c %a "$uml_dir/pay/grpc")" = 600 ] || fail "grpc socket is not owner-only"

# Node gRPC client.
timeout 120 "$node_bin" "$node_client" "$uml_dir/pay/grpc" "$kuml_proto" "$refl_proto" version ||
  fail "node client"

# reboot: same process, the payload starts again, a second SOCKET notify.
starts=$(grep -c "counter: start" "$log")
mc pay reboot
expect_eq "reboot" "$mc_out" "OK "
# On a timeout, say which half went missing: the stop (no "rebooting") or
# the second boot's first line.
reboot_seen() {
  [ "$(grep -c "counter: start" "$log")" -gt "$starts" ] && return 0
  [ "$(date +%s)" -lt "$reboot_deadline" ] && return 1
  echo >&8 "after the reboot request: $(grep -c "rebooting the guest" "$log") 'rebooting' lines;" \
    "start/reboot lines: $(grep -n "rebooting\|counter: start" "$log" | tr '\n' ' ')"
  reboot_deadline=$((reboot_deadline + 100000))  # say it once
  return 1
}
reboot_deadline=$(( $(date +%s) + 115 ))
exec 8>&2  # wait_for silences its command
wait_for 120 "the payload after reboot" reboot_seen
kill -0 "$kuml_pid" || fail "kuml exited on reboot"

# kuml's gdb stub started and stopped through mconsole (issue 14): the real
# gdb attaches through `config gdb=`, reads the payload's registers and
# detaches; `remove gdb` stops the stub.
mc pay config gdb
expect_eq "config gdb before" "$mc_out" "OK none"
mc pay config gdb=70000
case "$mc_out" in "ERR expected gdb=<TCP port"*) ;; *) fail "config gdb=70000: '$mc_out'" ;; esac
mc pay config gdb="$uml_dir/gdb.sock"
case "$mc_out" in "OK gdb stub listening on unix:$uml_dir/gdb.sock"*) ;; *) fail "config gdb=: '$mc_out'" ;; esac
gdb_out=$(timeout 60 gdb -nx -batch -ex "target remote $uml_dir/gdb.sock" \
  -ex 'info registers rip' -ex 'info threads' -ex detach 2>&1)
case "$gdb_out" in
  *"rip            0x10"*"Thread 1 (vCPU 0)"*"detached"*) ;;
  *) fail "gdb through config gdb=: $gdb_out" ;;
esac
mc pay config gdb
expect_eq "config gdb while listening" "$mc_out" "OK unix:$uml_dir/gdb.sock"
mc pay remove gdb
expect_eq "remove gdb" "$mc_out" "OK "
mc pay config gdb
expect_eq "config gdb after remove" "$mc_out" "OK none"

mc pay halt
expect_eq "halt" "$mc_out" "OK "
wait_exit 60
expect_eq "kuml exit status after halt" "$kuml_status" 0
[ ! -e "$uml_dir/pay" ] || fail "umid dir left behind: $(ls -la "$uml_dir/pay")"

# Notifications: MCONSOLE_SOCKET at boot and after the reboot.
sock_hex=$(printf '%s\0' "$uml_dir/pay/mconsole" | od -An -tx1 | tr -d ' \n')
want=$(printf 'bebafeca0200000000000000%02x000000%s' $(( ${#sock_hex} / 2 )) "$sock_hex")
n=$(grep -c "^$want\$" "$uml_dir/notify.log")
expect_eq "SOCKET notifications" "$n" 2
echo PASS
