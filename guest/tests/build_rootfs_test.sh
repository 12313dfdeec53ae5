#!/bin/bash
# Tests guest/build-rootfs.sh: builds an image in TEST_TMPDIR, checks what is in it with
# debugfs and e2fsck, checks the cache (unchanged inputs: no rebuild; another size: a
# rebuild) and that bad arguments fail.
set -uo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

script=${TEST_SRCDIR:-.}/kuml/guest/build-rootfs.sh
[[ -x "$script" ]] || script=$(dirname "$0")/../build-rootfs.sh
tmp=${TEST_TMPDIR:-$(mktemp -d)}
image=$tmp/root_fs
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

out=$("$script" "$image" 32M 2>&1) || { echo "$out"; echo "FAIL: build" >&2; exit 1; }
echo "$out"
[[ "$out" == *"built in"* ]] || fail "first run did not build: $out"
[[ $(stat -c %s "$image") == $((32 * 1024 * 1024)) ]] || fail "image size is not 32M"
e2fsck -fn "$image" > /dev/null 2>&1 || fail "e2fsck finds errors"

# stat_field <path> <regex>: debugfs's stat output for path matches regex.
has() {
  debugfs -R "stat $1" "$image" 2> /dev/null | grep -qE "$2" || fail "$1: no match for '$2'"
}
has /sbin/init 'Type: regular +Mode: +0755'
has /sbin/init 'User: +0 +Group: +0'
has /bin/busybox 'Type: regular +Mode: +0755'
has /bin/sh 'Fast link dest: "busybox"'
has /sbin/poweroff 'Fast link dest: "../bin/busybox"'
has /usr/bin/awk 'Fast link dest: "../../bin/busybox"'
has /init 'Fast link dest: "sbin/init"'
has /dev/console 'Type: character special'
has /dev/console 'Device major/minor number: 05:01'
has /dev/null 'Device major/minor number: 01:03'
has /tmp 'Mode: +01777'
has /usr/libexec/kuml/pvm-syscall-probe 'Type: regular +Mode: +0755'
has /usr/libexec/kuml/kuml-agent 'Type: regular +Mode: +0755'
has /etc/kuml/init.d/50-kuml-agent 'Type: regular +Mode: +0755'
has /etc/passwd 'User: +0 +Group: +0'
# Read it whole first: grep -q would stop early, and debugfs's SIGPIPE would fail
# the pipeline (pipefail).
init_text=$(debugfs -R "cat /sbin/init" "$image" 2> /dev/null)
grep -q '^say "init ok"' <<< "$init_text" ||
  fail "/sbin/init does not print the init marker"
debugfs -R "cat /etc/passwd" "$image" 2> /dev/null | grep -q '^root:' || fail "no root in passwd"

# Cached when nothing changed; rebuilt for another size.
out=$("$script" "$image" 32M 2>&1)
[[ "$out" == *cached* ]] || fail "second run was not cached: $out"
out=$("$script" "$image" 40M 2>&1)
[[ "$out" == *"built in"* ]] || fail "a new size did not rebuild: $out"
[[ $(stat -c %s "$image") == $((40 * 1024 * 1024)) ]] || fail "image size is not 40M"

# Bad input fails and leaves the image alone.
before=$(sha256sum < "$image")
"$script" "$image" lots > /dev/null 2>&1 && fail "size 'lots' accepted"
"$script" "$image" 1M 2M extra > /dev/null 2>&1 && fail "three arguments accepted"
KUML_ROOTFS_EXTRA=$tmp/does-not-exist "$script" "$image" > /dev/null 2>&1 &&
  fail "missing KUML_ROOTFS_EXTRA accepted"
[[ $(sha256sum < "$image") == "$before" ]] || fail "a failed run changed the image"

# KUML_ROOTFS_EXTRA lands in the image.
mkdir -p "$tmp/extra/etc/kuml/init.d"
printf '#!/bin/sh\necho hello\n' > "$tmp/extra/etc/kuml/init.d/10-hello"
chmod 755 "$tmp/extra/etc/kuml/init.d/10-hello"
KUML_ROOTFS_EXTRA=$tmp/extra "$script" "$image" 32M > /dev/null 2>&1 || fail "build with extra"
has /etc/kuml/init.d/10-hello 'Type: regular +Mode: +0755'

(( failures == 0 )) || { echo "$failures failure(s)" >&2; exit 1; }
echo PASS
