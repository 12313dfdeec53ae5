#!/bin/bash
# End to end: the README's run line — `kuml ubd0=root_fs mem=128M` with no
# kuml_test — boots the default guest to a busybox shell on the console
# (tty0 on kuml's stdin/stdout); a command typed there runs, and `halt -f`
# (reboot(RB_HALT_SYSTEM), not a power-off) ends kuml with status 0, as a
# halted UML's process exits. (default_guest_test covers the power-off.)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_default_guest

cd "$e2e_tmp" || fail "no scratch dir"
fresh_rootfs root_fs  # kuml's default disk is ./root_fs, as UML's
log=$e2e_tmp/console.log
: >"$log"


# The "user" at the keyboard: types a command at the shell's prompt, then halt
# at the next one (not before: see prompts_at_least in lib.sh). (A pipe, not a
# fifo: the 9p share of the nested KVM host has none.)
user() {
  wait_until 500 prompts_at_least "$log" 1 || return
  printf 'echo typed-$((6 * 7))\n'
  wait_until 120 prompts_at_least "$log" 2 || return
  printf 'halt -f\n'
  # Then the end of input: kuml just stops reading (UML does the same).
}

user | timeout --kill-after=10 600 "$kuml_bin" kernel="$guest_kernel" \
  mem=128M >"$log" 2>&1
kuml_status=${PIPESTATUS[1]}
sed 's/^/  | /' "$log" | tail -n 15
expect_order "$log" "kuml: init ok" "typed-42" "reboot: System halted"
# A halt, not init's power-off after the shell ended.
grep -qE "^kuml: power off.?$" "$log" && fail "the guest powered off instead of halting"
expect_status 0
echo PASS
