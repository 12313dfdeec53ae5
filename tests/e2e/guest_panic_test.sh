#!/bin/bash
# End to end: a guest kernel panic (SysRq c from the default guest's init)
# reaches kuml through the panic port of patch 0002, and kuml exits 3 with a
# message saying so, instead of hanging in a halted guest.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_default_guest
disk=$e2e_tmp/root_fs
fresh_rootfs "$disk"
log=$e2e_tmp/console.log
run_kuml 600 "$log" kernel="$guest_kernel" ubd0="$disk" mem=128M kuml_test=panic
expect_order "$log" "kuml: init ok" "kuml: panicking on purpose" "Kernel panic"
expect_status 3
grep -qi "panic" "$log" || fail "kuml did not report the panic"
echo PASS
