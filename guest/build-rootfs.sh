#!/bin/bash
# needs: busybox-static e2fsprogs binutils coreutils findutils gcc
#
# Builds kuml's default root file system: an ext4 image holding busybox-static with its
# applet links, the files under guest/rootfs/ (the init script, /etc), the probes of
# guest/probes/ (freestanding static programs, in /usr/libexec/kuml/) and the usual
# directories. No root rights and no loop mounts: mke2fs -d copies a staging tree into
# the image, debugfs adds the device nodes and makes root own everything.
#
#   guest/build-rootfs.sh [<output image> [<size>]]
#
# <output image> defaults to ${KUML_CACHE:-$HOME/.cache/kuml}/guest/root_fs, <size> to
# 64M (anything mke2fs and truncate accept: 64M, 1G, ...). The image is rebuilt only
# when its inputs change (this script, guest/rootfs/, guest/probes/, busybox, gcc, e2fsprogs, the size,
# KUML_ROOTFS_EXTRA); <output>.inputs records what it was built from. A guest that
# boots the image read-write changes it: tests that need a pristine disk copy it (or use
# a copy-on-write file over it), and --force rebuilds it.
#
# Environment: KUML_CACHE (cache root); KUML_ROOTFS_EXTRA=<dir> copies the contents of
# <dir> over the staging tree (e.g. a guest agent and /etc/kuml/init.d/ scripts).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"  # mke2fs, debugfs, e2fsck; not in a user's PATH on Debian

# The real guest/ directory, also when this runs through a symlink (Bazel runfiles).
readonly script=$(readlink -f "${BASH_SOURCE[0]}")
readonly here=$(dirname "$script")
readonly files="$here/rootfs"
readonly probes="$here/probes"
readonly agent="$here/agent"
readonly guest_cache="${KUML_CACHE:-${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}/.cache/kuml}/guest"

force=0
if [[ "${1:-}" == --force ]]; then force=1; shift; fi
case "${1:-}" in
  -h|--help) sed -n '2,/^set -euo/p' "$script" | sed '$d'; exit 0 ;;
esac
(( $# <= 2 )) || { echo "usage: $0 [--force] [<output image> [<size>]]" >&2; exit 2; }
output="${1:-$guest_cache/root_fs}"
size="${2:-64M}"
extra="${KUML_ROOTFS_EXTRA:-}"

die() { echo "build-rootfs: $*" >&2; exit 1; }

start=$(date +%s.%N)
elapsed() { echo "$(date +%s.%N) $start" | awk '{printf "%.1f", $1 - $2}'; }

busybox=$(command -v busybox || true)
[[ -n "$busybox" ]] || die "busybox not found (apt-get install busybox-static)"
readelf -l "$(readlink -f "$busybox")" | grep -q 'program interpreter' &&
  die "$busybox is dynamically linked; the guest needs busybox-static"
[[ -d "$files" ]] || die "missing $files"
[[ -z "$extra" || -d "$extra" ]] || die "KUML_ROOTFS_EXTRA=$extra is not a directory"
[[ "$size" =~ ^[0-9]+[KMGT]?$ ]] || die "bad size '$size' (examples: 64M, 1G)"

# Content hash of a directory tree: paths, types, modes, link targets and file contents.
tree_hash() {
  (cd "$1" && find . -printf '%p %y %m %l\n' | LC_ALL=C sort &&
     find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum) | sha256sum | cut -c1-16
}

inputs=$(
  echo "script $(sha256sum < "$script" | cut -c1-16)"
  echo "files $(tree_hash "$files")"
  echo "probes $(tree_hash "$probes")"
  echo "agent $(tree_hash "$agent")"
  echo "gcc $(gcc --version | head -n1)"
  echo "busybox $(sha256sum < "$busybox" | cut -c1-16)"
  echo "mke2fs $(mke2fs -V 2>&1 | head -n1)"
  echo "size $size"
  [[ -z "$extra" ]] || echo "extra $(tree_hash "$extra")"
)
if [[ $force == 0 && -f "$output" && -f "$output.inputs" ]] &&
   [[ "$(cat "$output.inputs")" == "$inputs" ]]; then
  echo "build-rootfs: cached in $(elapsed)s: $output"
  exit 0
fi

mkdir -p "$(dirname "$output")"
staging=$(mktemp -d "${TMPDIR:-/tmp}/kuml-rootfs.XXXXXX")
trap 'rm -rf "$staging"' EXIT
root="$staging/root"
mkdir -p "$root"

# Directories (mode matters: mke2fs -d copies it).
(cd "$root" && mkdir -p bin sbin usr/bin usr/sbin etc dev proc sys run tmp root mnt \
   var/lib/kuml var/log var/tmp etc/kuml/init.d lib home)
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 700 "$root/root"

# busybox and one link per applet (relative, so the image works wherever it is mounted).
cp "$busybox" "$root/bin/busybox"
chmod 755 "$root/bin/busybox"
# Applets at the top level (linuxrc) are skipped; bin/sh -> busybox, usr/bin/x -> ../../bin/busybox.
"$busybox" --list-full | awk -F/ 'NF > 1 {
    up = ""; for (i = 1; i < NF; i++) up = up "../"
    target = (NF == 2 && $1 == "bin") ? "busybox" : up "bin/busybox"
    if ($0 == "bin/busybox") next
    print target "\t" $0
  }' | while IFS=$'\t' read -r target applet; do
  ln -sfn "$target" "$root/$applet"
done

# Our files over the applet links (sbin/init is a busybox applet too).
cp -a --remove-destination "$files/." "$root/"
ln -sfn sbin/init "$root/init"

# Probes: each probes/<name>.c becomes /usr/libexec/kuml/<name with - for _>.
mkdir -p "$root/usr/libexec/kuml"
for src in "$probes"/*.c; do
  [[ -e "$src" ]] || continue
  name=$(basename "$src" .c | tr _ -)
  gcc -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie -mno-red-zone \
    -O2 -Wall -Wextra -Werror -o "$root/usr/libexec/kuml/$name" "$src" ||
    die "cannot compile $src"
  strip "$root/usr/libexec/kuml/$name"
done
# The guest agent (mconsole log/proc/stack/cad/hot-plug): a static program
# with libc, started by etc/kuml/init.d/50-kuml-agent.
gcc -static -O2 -Wall -Wextra -Werror -o "$root/usr/libexec/kuml/kuml-agent" \
  "$agent/kuml_agent.c" || die "cannot compile the guest agent"
strip "$root/usr/libexec/kuml/kuml-agent"
if [[ -n "$extra" ]]; then cp -a --remove-destination "$extra/." "$root/"; fi
[[ -x "$root/sbin/init" ]] || die "no executable sbin/init in the staging tree"

# The image.
tmp_image="$output.tmp.$$"
rm -f "$tmp_image"
truncate -s "$size" "$tmp_image"
mke2fs -q -F -t ext4 -b 4096 -L kuml-root -E lazy_itable_init=0,lazy_journal_init=0,root_owner=0:0 \
  -d "$root" "$tmp_image" || { rm -f "$tmp_image"; die "mke2fs failed"; }

# Device nodes a kernel without devtmpfs (or an initramfs) would want, and root as owner
# of everything (mke2fs -d keeps the building user's uid/gid).
{
  echo "cd /dev"  # debugfs mknod takes a name in the current directory, not a path
  echo "mknod console c 5 1"
  echo "mknod null c 1 3"
  echo "mknod ttyS0 c 4 64"
  echo "mknod tty c 5 0"
  echo "cd /"
  (cd "$root" && find . -mindepth 1) | sed 's|^\.||' | while read -r path; do
    echo "set_inode_field $path uid 0"
    echo "set_inode_field $path gid 0"
  done
  for node in /dev/console /dev/null /dev/ttyS0 /dev/tty; do
    echo "set_inode_field $node uid 0"
    echo "set_inode_field $node gid 0"
  done
  echo "set_inode_field /dev/console mode 020600"
  echo "set_inode_field /dev/null mode 020666"
  echo "set_inode_field /dev/ttyS0 mode 020660"
  echo "set_inode_field /dev/tty mode 020666"
} > "$staging/debugfs.cmds"
debugfs -w -f "$staging/debugfs.cmds" "$tmp_image" > "$staging/debugfs.log" 2>&1 ||
  { cat "$staging/debugfs.log" >&2; rm -f "$tmp_image"; die "debugfs failed"; }
if grep -qiE 'error|not found|invalid' "$staging/debugfs.log"; then
  grep -iE 'error|not found|invalid' "$staging/debugfs.log" | head >&2
  rm -f "$tmp_image"
  die "debugfs reported problems"
fi
e2fsck -fn "$tmp_image" > "$staging/fsck.log" 2>&1 ||
  { cat "$staging/fsck.log" >&2; rm -f "$tmp_image"; die "the new image does not pass e2fsck"; }

mv -f "$tmp_image" "$output"
echo "$inputs" > "$output.inputs"
echo "build-rootfs: built in $(elapsed)s: $output ($size)"
