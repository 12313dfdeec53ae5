#!/bin/bash
# Regenerates the fixtures of tests/cow_payload_test.cc: a COW file written
# by the real UML kernel over a small backing file (uml-interfaces.md §3),
# both gzipped here. Run by hand; needs what disk/interop/uml_lib.sh needs.
#   base.img.gz      512 sectors, sector s byte j = (s * 31 + j * 7 + 1) & 255
#   uml_written.cow.gz  the guest copied 1, 1, 8, 40 (as 5 x 4 KiB) and 1
#                    sectors of its own data to sectors 0, 3, 9, 200, 511
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../interop/uml_lib.sh"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
export TMPDIR="$work" HOME="$work"
make_uml_rootfs rootfs.img
awk 'BEGIN { for (s = 0; s < 512; s++) for (j = 0; j < 512; j++)
       printf "%c", (s * 31 + j * 7 + 1) % 256 }' LC_ALL=C > base.img
[ "$(stat -c %s base.img)" = 262144 ] || die "awk wrote the wrong size"
head -c $((64 * 512)) /dev/urandom > source.img
boot_uml uml.log ubd1=uml_written.cow,base.img ubd2r=source.img mode=write \
  last=511
grep -q UML-WROTE uml.log || { cat uml.log; die "UML did not write"; }
gzip -9n < base.img > "$here/base.img.gz"
gzip -9n < uml_written.cow > "$here/uml_written.cow.gz"
echo "mtime $(stat -c %Y base.img)"
