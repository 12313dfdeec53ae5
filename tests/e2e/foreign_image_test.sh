#!/bin/bash
# End to end: kuml boots an ext4 image this project did not build — a static
# /init compiled here from foreign_init.c with the host's libc, packed with
# mke2fs -d — with the issue's exact command line:
#   kuml ubd0=<image> con0=fd:0,fd:1 mem=128M init=/init rw
# The init (//tests/e2e:foreign_init, linked statically) reads a file from its
# root fs, writes another, and powers off with reboot(RB_POWER_OFF); kuml must
# exit 0 and the written file be on the disk.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_default_guest
init_bin=$(dirname "${BASH_SOURCE[0]}")/foreign_init
[ -x "$init_bin" ] || init_bin=${TEST_SRCDIR}/kuml/tests/e2e/foreign_init
[ -x "$init_bin" ] || fail "no foreign_init binary beside the test"
# A static binary has no program interpreter (the guest has no libc).
readelf -l "$init_bin" | grep -q INTERP && fail "foreign_init is not linked statically"

tree=$e2e_tmp/tree
mkdir -p "$tree/etc" "$tree/dev" "$tree/proc"
cp "$init_bin" "$tree/init" && chmod 755 "$tree/init" || fail "cannot copy the init"
echo "hello from the host" > "$tree/etc/foreign-message"
image=$e2e_tmp/foreign.ext4
mke2fs -q -t ext4 -d "$tree" "$image" 32M || fail "mke2fs failed"

log=$e2e_tmp/console.log
run_kuml 600 "$log" kernel="$guest_kernel" ubd0="$image" con0=fd:0,fd:1 \
  mem=128M init=/init rw
expect_order "$log" "foreign-init: started" \
  "foreign-init: read: hello from the host" \
  "foreign-init: wrote /written-by-guest" "foreign-init: powering off"
expect_status 0
got=$(debugfs -R 'cat /written-by-guest' "$image" 2>/dev/null)
[ "$got" = "the guest wrote this" ] || fail "host reads '$got' from /written-by-guest"
echo PASS
