# Shared by the COW interoperability tests: a tiny root file system for the
# real UML kernel (Debian's `linux`, a ptrace-based user process: no KVM), and
# a function that boots it.
# needs: user-mode-linux uml-utilities busybox-static e2fsprogs

die() { echo "FAIL: $*" >&2; exit 1; }
# The real UML through tests/uml/linux (a shim for hosts with a large XSAVE
# area) when the test's runfiles have it.
if [ -x "${TEST_SRCDIR:-/nonexistent}/kuml/tests/uml/linux" ]; then
  PATH="$TEST_SRCDIR/kuml/tests/uml:$PATH"
fi
need() { command -v "$1" > /dev/null || die "$1 not found (apt-get install $2)"; }
need linux user-mode-linux
need uml_mkcow uml-utilities
need uml_moo uml-utilities
need busybox busybox-static
export PATH="$PATH:/usr/sbin:/sbin"
need mke2fs e2fsprogs
need debugfs e2fsprogs

# make_uml_rootfs <image>: ext2 with a static busybox and an /init that does
# what the kernel argument mode=<...> says (unknown a=b arguments reach init's
# environment): write, md5 (of /dev/ubdb, O_DIRECT: see below), marker, hold.
make_uml_rootfs() {
  local image=$1 stage
  stage=$(mktemp -d)
  mkdir -p "$stage"/{bin,dev,proc,sys,tmp}
  cp "$(readlink -f "$(command -v busybox)")" "$stage/bin/busybox"
  for a in sh dd md5sum cat mount poweroff sleep echo sync ls sed head; do
    ln -s busybox "$stage/bin/$a"
  done
  cat > "$stage/init" <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
echo "UML-INIT mode=$mode"
case "$mode" in
  write)
    # Single sectors, runs, a multi-page request, the last sector; the data
    # comes from the disk itself (ubdc), so the host knows what to expect.
    dd if=/dev/ubdc of=/dev/ubdb bs=512 count=1 seek=0 skip=0 conv=notrunc
    dd if=/dev/ubdc of=/dev/ubdb bs=512 count=1 seek=3 skip=1 conv=notrunc
    dd if=/dev/ubdc of=/dev/ubdb bs=512 count=8 seek=9 skip=2 conv=notrunc
    dd if=/dev/ubdc of=/dev/ubdb bs=4096 count=5 seek=25 skip=2 conv=notrunc
    dd if=/dev/ubdc of=/dev/ubdb bs=512 count=1 seek=${last:-2050} skip=40 conv=notrunc
    sync
    echo UML-WROTE ;;
  md5)
    # O_DIRECT, one segment per request: the real UML's buffered
    # multi-segment reads of a COW disk are wrong (uml-interfaces.md 3.5).
    echo "UML-MD5 $(dd if=/dev/ubdb bs=4096 iflag=direct 2>/dev/null | md5sum)" ;;
  marker)
    echo "UML-MARKER $(cat /marker)" ;;
  hold)
    # UML opens (and locks) a disk's host file when the guest opens the disk.
    # (A failed redirection of a group is not fatal, unlike exec's.)
    { echo UML-OPENED-UBDB; echo UML-READY; sleep 6; } 3< /dev/ubdb ||
      { echo UML-OPEN-FAILED; echo UML-READY; } ;;
esac
echo UML-DONE
poweroff -f
INIT
  chmod 755 "$stage/init"
  rm -f "$image"
  truncate -s 8M "$image"
  mke2fs -q -F -t ext2 -d "$stage" "$image" || die "mke2fs failed"
  rm -rf "$stage"
}

# boot_uml <log> <args...>: runs the real UML kernel to completion with its
# console in <log>; UML keeps its guest memory file in $TMPDIR. mem=128M: with
# address space randomization the real UML has as little as 18 MB usable of
# mem=48M on some boots (its memory map spans the gap to a randomized heap).
boot_uml() {
  local log=$1; shift
  timeout 120 linux ubd0r=rootfs.img con0=fd:0,fd:1 con=null mem=128M \
    init=/init "$@" < /dev/null > "$log" 2>&1 || true
  grep -q UML-DONE "$log" || { cat "$log" >&2; die "UML did not finish: $*"; }
}
