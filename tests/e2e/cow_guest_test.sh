#!/bin/bash
# End to end, the UML HOWTO's COW line: `kuml ubd0=root_fs_cow,root_fs`
# creates root_fs_cow over the default root_fs ("Creating ... as COW file
# for ..."), the guest writes a file (and again after an in-process reboot,
# so the COW state survives it), and powers off. root_fs is untouched (bytes
# and mtime); the real uml_moo merges the COW file into an image that holds
# the file and passes e2fsck. Then `kuml ubd0=root_fs_cow` alone finds its
# backing file in the header and sees the file.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_default_guest
command -v uml_moo > /dev/null || fail "uml_moo not found (apt-get install uml-utilities)"

cd "$e2e_tmp" || fail "cd $e2e_tmp"
fresh_rootfs root_fs
touch -d '2024-05-06 07:08:09' root_fs
before=$(stat -c '%Y %s' root_fs; md5sum < root_fs)

log=$e2e_tmp/console1.log
run_kuml 900 "$log" kernel="$guest_kernel" ubd0=root_fs_cow,root_fs mem=128M \
  kuml_test=rwfile,rebootonce
expect_order "$log" 'Creating "root_fs_cow" as COW file for "root_fs"' \
  "kuml: rwfile ok 1" "kuml: rebooting" "kuml: rwfile ok 2" "kuml: power off"
expect_status 0
[ "$(stat -c '%Y %s' root_fs; md5sum < root_fs)" = "$before" ] ||
  fail "the backing file root_fs changed"

uml_moo root_fs_cow merged_fs || fail "uml_moo cannot merge kuml's COW file"
got=$(debugfs -R 'cat /var/lib/kuml/rwfile' merged_fs 2>/dev/null)
[ "$got" = 2 ] || fail "uml_moo's merge holds '$got' in /var/lib/kuml/rwfile, expected 2"
e2fsck -fn merged_fs > /dev/null 2>&1 || fail "e2fsck finds errors in the merged image"

log=$e2e_tmp/console2.log
run_kuml 900 "$log" kernel="$guest_kernel" ubd0=root_fs_cow mem=128M \
  kuml_test=rwfile
expect_order "$log" "kuml: rwfile ok 3" "kuml: power off"
expect_status 0
grep -q Creating "$log" && fail "the COW file was created again"
echo PASS
