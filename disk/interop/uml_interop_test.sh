#!/bin/bash
# Interoperability of kuml's COW code with the real UML programs:
#  1. `umlctl cow create` makes the same file as uml_mkcow;
#  2. a COW file the real UML kernel wrote reads the same through kuml's
#     disk (OpenUbd) as uml_moo's merge, and `umlctl cow merge` matches it;
#  3. a COW file kuml wrote (unaligned, partial-sector writes) is merged by
#     uml_moo into the same image as ours, and the real UML reads it so;
#  4. the real UML boots from a root COW file that kuml wrote;
#  5. host locks: kuml refuses an image UML has open, and UML one kuml holds.
# usage: uml_interop_test.sh <umlctl-cow> <ubd_tool> <uml_lib.sh>
set -euo pipefail
umlctl=$(readlink -f "$1")
ubd_tool=$(readlink -f "$2")
source "$3"

work="${TEST_TMPDIR:-$(mktemp -d)}/uml_interop"
rm -rf "$work"; mkdir -p "$work"; cd "$work"
export TMPDIR="$work" HOME="$work"  # UML: guest memory file, ~/.uml

make_uml_rootfs rootfs.img
head -c $((2051 * 512)) /dev/urandom > base.img     # odd sector count
head -c $((64 * 512)) /dev/urandom > source.img     # what the guest copies
touch -d '2024-01-02 03:04:05' base.img

echo "== 1. create matches uml_mkcow byte for byte"
uml_mkcow mkcow.cow base.img
"$umlctl" create ours.cow base.img
cmp mkcow.cow ours.cow || die "umlctl cow create differs from uml_mkcow"
[ "$(stat -c %s ours.cow)" = $((12288 + 2051 * 512)) ] || die "size"

echo "== 2. a COW written by the real UML"
boot_uml uml_write.log ubd1=uml.cow,base.img ubd2r=source.img mode=write
grep -q 'Creating "uml.cow" as COW file for "base.img"' uml_write.log ||
  die "UML did not create uml.cow"
grep -q UML-WROTE uml_write.log || { cat uml_write.log; die "guest write"; }
uml_moo uml.cow uml_moo.img
"$umlctl" merge uml.cow uml_ours.img
"$ubd_tool" cat uml.cow > uml_cat.img
cmp uml_moo.img uml_ours.img || die "umlctl cow merge differs from uml_moo"
cmp uml_moo.img uml_cat.img || die "kuml's disk reads the UML COW differently"
# Not vacuous: the guest's writes are there, and only there.
cp base.img want.img
for r in "0 0 1" "3 1 1" "9 2 8" "200 16 40" "2050 40 1"; do
  set -- $r
  dd if=source.img of=want.img bs=512 seek="$1" skip="$2" count="$3" \
    conv=notrunc status=none
done
cmp want.img uml_moo.img || die "UML's writes are not where the guest put them"
"$umlctl" info uml.cow | tee info.txt
grep -q 'in the COW file: 51 of 2051 sectors' info.txt || die "info count"

echo "== 3. a COW written by kuml, read by uml_moo and by the real UML"
"$umlctl" create kuml.cow base.img
head -c 1500 /dev/urandom > d1; head -c 100 /dev/urandom > d2
head -c 70000 /dev/urandom > d3
"$ubd_tool" write kuml.cow 700 d1            # partial sectors at both ends
"$ubd_tool" write kuml.cow $((2050 * 512 + 300)) d2   # inside the last one
"$ubd_tool" write kuml.cow $((1000 * 512 + 3)) d3     # 138 sectors, unaligned
uml_moo kuml.cow kuml_moo.img
"$umlctl" merge kuml.cow kuml_ours.img
"$ubd_tool" cat kuml.cow > kuml_cat.img
cmp kuml_moo.img kuml_ours.img || die "our merge of our COW differs from uml_moo"
cmp kuml_moo.img kuml_cat.img || die "uml_moo disagrees with kuml's disk"
cmp -s kuml_moo.img base.img && die "the writes did not land"
boot_uml uml_md5.log ubd1r=kuml.cow mode=md5
want=$(md5sum < kuml_moo.img | cut -d' ' -f1)
grep -q "UML-MD5 $want" uml_md5.log || {
  grep UML-MD5 uml_md5.log; die "the real UML reads our COW differently"; }

echo "== 4. the real UML boots from a root COW file kuml wrote"
cp rootfs.img rootfs_marked.img
echo "written by kuml's COW code" > marker.txt
debugfs -w -R "write marker.txt marker" rootfs_marked.img > /dev/null 2>&1
"$umlctl" create root.cow rootfs.img
"$ubd_tool" import root.cow rootfs_marked.img
timeout 120 linux ubd0=root.cow con0=fd:0,fd:1 con=null mem=128M init=/init \
  mode=marker < /dev/null > uml_root.log 2>&1 || true
grep -q "UML-MARKER written by kuml's COW code" uml_root.log || {
  cat uml_root.log; die "UML did not boot from our COW file"; }

echo "== 5. host locks between kuml and UML"
head -c $((64 * 512)) /dev/zero > lock.img
timeout 120 linux ubd0r=rootfs.img ubd1=lock.img con0=fd:0,fd:1 con=null \
  mem=128M init=/init mode=hold < /dev/null > uml_hold.log 2>&1 &
uml_pid=$!
for _ in $(seq 100); do grep -q UML-READY uml_hold.log && break; sleep 0.3; done
grep -q UML-OPENED-UBDB uml_hold.log || { cat uml_hold.log; die "UML hold boot"; }
if "$ubd_tool" write lock.img 0 d2 2> lock_err.txt; then
  die "kuml opened an image the running UML has locked"
fi
grep -q "Failed to lock 'lock.img', err = 11 (file already locked by pid" \
  lock_err.txt || { cat lock_err.txt; die "lock message"; }
wait "$uml_pid" || true
"$ubd_tool" hold lock.img 30 > hold.out &
hold_pid=$!
for _ in $(seq 50); do grep -q holding hold.out && break; sleep 0.1; done
boot_uml uml_refused.log ubd1=lock.img mode=hold
kill "$hold_pid"; wait "$hold_pid" 2>/dev/null || true
grep -q UML-OPEN-FAILED uml_refused.log || { cat uml_refused.log; die "UML used a locked image"; }
grep -q "Failed to lock 'lock.img'" uml_refused.log || die "UML lock message"

echo "PASS"
