#!/bin/bash
# needs: debootstrap e2fsprogs util-linux
# Builds the Debian root_fs a UML user makes (issue 17's test image): Debian
# bookworm, debootstrap minbase with sysvinit, /dev/ubda as / in /etc/fstab,
# gettys on tty0 (con0) and tty1 (con1) in /etc/inittab, hostname umlguest,
# root without a password. Nothing in it knows kuml: the same file boots
# under the real UML (tests/e2e/debian_image_test.sh runs both).
#
#   guest/build-debian-image.sh        prints the image's path (builds it once)
#
# Cached outside the checkout, keyed by this script's hash:
#   ${KUML_CACHE:-~/.cache/kuml}/debian/bookworm-uml-<hash>.img  (1 GiB sparse ext4)
#   ${KUML_CACHE:-~/.cache/kuml}/debian/bookworm-uml.img -> the newest one
# Needs root (debootstrap), debootstrap and e2fsprogs, and Debian's archive
# (KUML_DEBIAN_MIRROR, default deb.debian.org): about 30 s and 110 MB of
# downloads here.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="${KUML_CACHE:-${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}/.cache/kuml}/debian"
mirror=${KUML_DEBIAN_MIRROR:-http://deb.debian.org/debian}
hash=$(sha256sum <"${BASH_SOURCE[0]}" | cut -c1-16)
image=$cache/bookworm-uml-$hash.img
say() { echo "build-debian-image: $*" >&2; }
die() { say "$*"; exit 1; }

if [ -f "$image" ]; then
  echo "$image"
  exit 0
fi
[ "$(id -u)" = 0 ] || die "needs root (debootstrap); run ./setup.sh as root"
command -v debootstrap >/dev/null || die "no debootstrap (apt-get install debootstrap)"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
[ -f "$image" ] && { echo "$image"; exit 0; }  # built while we waited

work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
start=$(date +%s)
say "debootstrap bookworm (minbase, sysvinit) from $mirror"
debootstrap --variant=minbase --include=sysvinit-core bookworm "$root" \
  "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -20 "$work/debootstrap.log" >&2
  die "debootstrap failed (log above)"
}

# What a UML user configures (the UML HOWTO's root_fs, Debian style).
echo umlguest >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tumlguest\n' >"$root/etc/hosts"
cat >"$root/etc/fstab" <<'EOF'
# UML's disk names: ubd0 is /dev/ubda.
/dev/ubda	/	ext4	defaults	0	1
proc		/proc	proc	defaults	0	0
EOF
# The gettys: UML's consoles are tty0 (con0) and tty1.. (con<n>); the
# stock tty1..tty6 lines go, as on UML images.
sed -i -E '/^[1-6]:[0-9]+:respawn:\/sbin\/getty/d' "$root/etc/inittab"
cat >>"$root/etc/inittab" <<'EOF'
# UML consoles: con0 (the terminal kuml or linux runs on) and con1.
0:2345:respawn:/sbin/getty 38400 tty0
1:2345:respawn:/sbin/getty 38400 tty1
EOF
chroot "$root" passwd -d root >/dev/null
# Smaller and reproducible enough: no package cache, no machine id.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
: >"$root/etc/machine-id"

truncate -s 1G "$work/image"
mkfs.ext4 -q -F -L root -d "$root" "$work/image"
mv "$work/image" "$image"
ln -sfn "$(basename "$image")" "$cache/bookworm-uml.img"
say "built $image in $(($(date +%s) - start)) s"
echo "$image"
