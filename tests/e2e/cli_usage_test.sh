#!/bin/bash
# kuml's command-line behaviour that needs no KVM: --help, --version, and
# clear errors (naming the switch, non-zero exit) for bad or unsupported
# switches, with nothing touched on disk.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out=$e2e_tmp/out.txt

expect_exit() {  # expect_exit <status> <pattern> <kuml args...>
  local want=$1 pattern=$2
  shift 2
  "$kuml_bin" "$@" </dev/null >"$out" 2>&1
  local got=$?
  [ "$got" = "$want" ] || { cat "$out"; fail "kuml $* exited $got, want $want"; }
  grep -q -- "$pattern" "$out" || { cat "$out"; fail "kuml $*: output lacks '$pattern'"; }
  echo "ok: kuml $* -> $got: $(head -n1 "$out")"
}

expect_exit 0 "kuml 0.1.0" --version
expect_exit 0 "ubd<n>" --help
expect_exit 0 "kernel=" --help
expect_exit 2 "^kuml: mem=12Q" mem=12Q
expect_exit 2 "ubd0x=foo: Expected '=' or flag letter" ubd0x=foo
expect_exit 2 "ubd16" ubd16=disk.img
expect_exit 2 "not supported yet: hostfs=/srv" ubd0=x hostfs=/srv
expect_exit 2 "eth0=ethertap,tap0: the ethertap (Linux 2.2) transport is obsolete" ubd0=x eth0=ethertap,tap0
expect_exit 2 "eth1=slip,10.0.0.1: the slip transport is obsolete" ubd0=x eth1=slip,10.0.0.1
expect_exit 2 "bad slirp option 'hostfwd=tcp:1'" ubd0=x eth0=slirp,,hostfwd=tcp:1
expect_exit 2 "the first byte must be even" ubd0=x eth0=mcast,01:02:03:04:05:06
expect_exit 1 "ssl2=tty:/nonexistent/tty: tty:/nonexistent/tty: No such file" \
  ssl2=tty:/nonexistent/tty
expect_exit 1 "con1=tty:/dev/null: tty:/dev/null is not a terminal" \
  con1=tty:/dev/null
expect_exit 2 "con5=bogus: failed to parse channel pair" con5=bogus

# A disk image must not be created, truncated or modified by a refused run.
img=$e2e_tmp/untouched.img
printf 'precious' > "$img"
before=$(md5sum < "$img")
"$kuml_bin" ubd0="$img" eth0=bogus >/dev/null 2>&1 && fail "eth0=bogus accepted"
[ "$(md5sum < "$img")" = "$before" ] || fail "refused run changed $img"
[ ! -e "$e2e_tmp/root_fs" ] || fail "a root_fs appeared"
echo "PASS"
