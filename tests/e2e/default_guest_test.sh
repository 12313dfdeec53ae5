#!/bin/bash
# End to end: the default guest kernel (guest/, PVH vmlinux) boots from the
# default root_fs on ubd0 in a KVM vCPU; busybox's init prints its marker,
# writes and reads back a file on the disk, runs the system-call probe of
# patch 0001, reboots once (kuml restarts the guest in the same process: the
# tests run again and the file counts 2), and powers off; kuml exits 0. The
# file is then read from the host with debugfs. The guest has two vCPUs
# (UML's ncpus=2): both boots bring both up.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_default_guest

disk=$e2e_tmp/root_fs
fresh_rootfs "$disk"
log=$e2e_tmp/console.log
run_kuml 900 "$log" kernel="$guest_kernel" ubd0="$disk" mem=128M ncpus=2 \
  kuml_test=rwfile,pvmsyscall,rebootonce

expect_order "$log" \
  "smp: Brought up 1 node, 2 CPUs" \
  "kuml: init ok" "kuml: rwfile ok 1" "kuml: pvmsyscall ok" "kuml: rebooting" \
  "smp: Brought up 1 node, 2 CPUs" "kuml: init ok" "kuml: rwfile ok 2" "kuml: pvmsyscall ok" \
  "kuml: rebootonce: second boot" "kuml: power off"
if grep -q "kuml: test .* failed" "$log"; then fail "a guest test failed"; fi
expect_status 0

got=$(debugfs -R 'cat /var/lib/kuml/rwfile' "$disk" 2>/dev/null)
[ "$got" = 2 ] || fail "host reads '$got' from /var/lib/kuml/rwfile, expected 2"
e2fsck -fn "$disk" >/dev/null 2>&1 || fail "e2fsck finds errors on the guest's disk"
echo PASS
