#!/bin/bash
# kumld with kuml guests (runs under with-kvm.sh: needs a KVM): four tiny
# payload guests (tests/payloads/idle.bin) with a private disk each, made
# from one base image by the manifest's `prepare` copies; brought up with
# progress, listed, one killed with SIGKILL and restarted by policy, kumld
# restarted (re-adopts), one stopped, all brought down. With cgroup v2 (the
# test mounts it where nothing is mounted), each guest runs in its own
# group with the manifest's memory.max and cpu.max.
lib=${TEST_SRCDIR:+$TEST_SRCDIR/kuml/kumld/tests/lib.sh}
source "${lib:-$(dirname "$0")/lib.sh}" || { echo "FAIL: no lib.sh" >&2; exit 1; }

kuml_bin=${KUML_BIN:-$runfiles/cli/kuml}
payload=${IDLE_PAYLOAD:-$runfiles/tests/payloads/idle.bin}
[ -x "$kuml_bin" ] || fail "kuml not found at $kuml_bin"
[ -s "$payload" ] || fail "idle payload not found at $payload"

cg=/sys/fs/cgroup
if [ "$(stat -fc %T $cg 2>/dev/null)" != cgroup2fs ] && [ "$(id -u)" = 0 ] &&
  [ -z "$(ls -A $cg 2>/dev/null)" ]; then
  mount -t cgroup2 none $cg && echo "mounted cgroup2 on $cg"
fi
have_cgroup2=0
[ "$(stat -fc %T $cg 2>/dev/null)" = cgroup2fs ] && have_cgroup2=1

dd if=/dev/zero of="$kt/base.img" bs=1M count=4 status=none
printf 'base-image-v1' | dd of="$kt/base.img" conv=notrunc status=none
base_md5=$(md5sum <"$kt/base.img")

cat >"$kt/fleet.textproto" <<EOT
default_restart: ON_FAILURE
restart_backoff_ms: 200
default_limits { memory_max: "64M" cpu_max: "25%" }
guest {
  umid: "p{i}"
  count: 4
  cmdline: "kernel=$payload mem=16M ubd0=$kt/{umid}.img"
  prepare { path: "$kt/{umid}.img" copy_of: "$kt/base.img" }
  ready_pattern: "idle ready"
  stop_timeout_ms: 5000
}
EOT

start_kumld --kuml="$kuml_bin"
fleet up --timeout=300 "$kt/fleet.textproto" | tee "$kt/up.out" || fail "fleet up"
grep -q '^\[4/4 up\]' "$kt/up.out" || fail "no progress up to 4/4"
fleet ls
for g in p0 p1 p2 p3; do
  [ "$(field $g 2)" = RUNNING ] || fail "$g is not RUNNING"
  grep -q "kuml payload: idle ready" "$umls/kumld.d/log/$g.log" || fail "$g console log"
  cmp -s "$kt/base.img" "$kt/$g.img" || fail "$g's disk is not a copy of the base"
  if [ $have_cgroup2 = 1 ]; then
    grep -qx "$(field $g 3)" $cg/kumld/$g/cgroup.procs || fail "$g not in its cgroup"
    [ "$(cat $cg/kumld/$g/memory.max)" = 67108864 ] || fail "$g memory.max"
    [ "$(cat $cg/kumld/$g/cpu.max)" = "25000 100000" ] || fail "$g cpu.max"
  else
    fleet ls | grep "^$g " | grep -q "limits not applied" || fail "$g: no warning about limits"
  fi
done

old=$(field p1 3)
kill -KILL "$old"
wait_for 120 "p1 restarted" column_is p1 8 1
wait_for 120 "p1 up again" column_is p1 2 RUNNING
fleet ls | grep -q "^p1 .*signal 9" || fail "p1's last exit is not signal 9"

pids_before=$(for g in p0 p1 p2 p3; do field $g 3; done)
stop_kumld
for p in $pids_before; do alive "$p" || fail "VMM $p died with kumld"; done
start_kumld --kuml="$kuml_bin"
grep -q "re-adopted p3" "$kt/kumld.out" || fail "no re-adoption"
pids_after=$(for g in p0 p1 p2 p3; do field $g 3; done)
[ "$pids_before" = "$pids_after" ] || fail "pids changed after kumld restart"

fleet stop p3 || fail "stop p3"
wait_for 30 "p3 stopped" column_is p3 2 STOPPED
fleet start p3 || fail "start p3"
wait_for 60 "p3 up again" column_is p3 2 RUNNING

fleet down || fail "fleet down"
[ -z "$(fleet ls | tail -n +2)" ] || fail "guests left after down"
for p in $pids_after; do alive "$p" && fail "VMM $p outlived down"; done
[ "$(md5sum <"$kt/base.img")" = "$base_md5" ] || fail "base image changed"
for g in p0 p1 p2 p3; do
  cmp -s "$kt/base.img" "$kt/$g.img" || fail "$g's disk changed (the payload never writes)"
  [ $have_cgroup2 = 0 ] || [ ! -d $cg/kumld/$g ] || fail "$g's cgroup left behind"
done
stop_kumld
echo PASS
