#!/bin/bash
# A UML user's own Debian root_fs (guest/build-debian-image.sh: debootstrap
# minbase + sysvinit, /dev/ubda in fstab, gettys on tty0 and tty1) booted
# with UML's line `ubd0=root_fs con0=fd:0,fd:1 con1=pts con=null mem=256M`,
# first by the real UML (here: it needs no KVM), then by kuml (where a KVM
# is: with-kvm.sh). Each must reach `umlguest login:` on con0, log root in,
# show / as /dev/ubda (98:0) rw on tty0, give a second login on con1's pty
# (tty1), and exit 0 after `halt`; debian_image.py writes those facts, and
# the two reports must be the same line for line. Boot-to-login times are
# printed (in the test log) for both.
set -uo pipefail
runfiles=$TEST_SRCDIR/kuml
# shellcheck source=lib.sh
source "$runfiles/tests/e2e/lib.sh"
image=$cache/debian/bookworm-uml.img
[ -f "$image" ] || {
  echo "FAIL: no Debian image at $image: run ./setup.sh (guest/build-debian-image.sh)" >&2
  exit 1
}
driver=$runfiles/tests/e2e/debian_image.py

python3 "$driver" uml "$image" "$TEST_TMPDIR/uml.txt" || {
  echo "FAIL: the real UML did not get through the Debian image" >&2
  exit 1
}
"$runfiles/tests/kvmhost/with-kvm.sh" python3 "$driver" kuml "$image" \
  "$TEST_TMPDIR/kuml.txt" || {
  echo "FAIL: kuml did not get through the Debian image" >&2
  exit 1
}
if ! diff -u "$TEST_TMPDIR/uml.txt" "$TEST_TMPDIR/kuml.txt"; then
  echo "FAIL: kuml (+) differs from the real UML (-) on the Debian image" >&2
  exit 1
fi
echo "PASS: the Debian image behaves under kuml as under the real UML:"
cat "$TEST_TMPDIR/kuml.txt"
