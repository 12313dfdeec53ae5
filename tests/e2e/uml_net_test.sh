#!/bin/bash
# eth0=tuntap,,,<host ip> for a user who is not root, kuml against the real
# UML: each VMM runs as `nobody` (groups kvm and uml-net only, no
# capabilities) in a network namespace of its own, on the same busybox
# root_fs, whose init gives eth0 192.168.99.2/24, pings the host side 192.168.99.1
# and waits. Both must get their tap from the real setuid uml_net (called
# `uml_net 4 tuntap up 192.168.99.1`, then `add tap0 192.168.99.2 ...`: a log
# wrapper records the calls), and the host must show the same things for
# both: the gate as 192.168.99.1/32 on the tap, a host route to 192.168.99.2 over
# it, proxy ARP on it, a ping that got through, no tap left after the VMM
# exits 0. (192.168.99.0/24: a class C network, so the netmask kuml passes
# to `uml_net add`, the address's classful one as kuml cannot see the
# guest's, is the one UML passes; devices/net/uml_net.h.)
#
# kuml runs on this host's /dev/kvm directly (a setuid helper and a user
# switch do not belong in the nested KVM host); without /dev/kvm it fails.
set -uo pipefail
runfiles=$TEST_SRCDIR/kuml
# shellcheck source=lib.sh
source "$runfiles/tests/e2e/lib.sh"
[ "$(id -u)" = 0 ] || fail "needs root (to create the namespaces and become nobody)"
[ -c /dev/kvm ] || fail "needs /dev/kvm"
[ -x /usr/bin/uml_net ] || fail "needs the real uml_net (uml-utilities, ./setup.sh)"
[ -f "$guest_kernel" ] || fail "no guest kernel at $guest_kernel: run ./setup.sh"
getent group uml-net >/dev/null || fail "no group uml-net (uml-utilities)"

# Everything `nobody` touches lives here (Bazel's dirs are under /root).
work=$(mktemp -d /tmp/kuml-umlnet.XXXXXX)
chmod 755 "$work"
netns=()
cleanup() {
  for ns in "${netns[@]}"; do ip netns del "$ns" 2>/dev/null; done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
cp "$runfiles/cli/kuml" "$work/kuml-bin"
cp "$guest_kernel" "$work/vmlinux"
cp "$(readlink -f "$runfiles/tests/uml/uml_xstate_shim.so")" "$work/shim.so"
mkdir -p "$work/bin"
# uml_net as the VMMs find it on PATH: a wrapper that logs, then the real
# setuid one (exec keeps the socket UML passes as stdout).
cat >"$work/bin/uml_net" <<EOF
#!/bin/sh
echo "uml_net \$*" >>"\$UML_NET_LOG"
exec /usr/bin/uml_net "\$@"
EOF
chmod 755 "$work/bin/uml_net"

# The guest: busybox, init brings eth0 up and pings the host side.
root=$work/root
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev"
cp /bin/busybox "$root/bin/"
cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
ip addr add 192.168.99.2/24 dev eth0
ip link set eth0 up
if ping -c 5 -W 5 192.168.99.1 >/dev/null 2>&1; then r=ok; else r=failed; fi
echo "GUEST-PING=$r"
sleep 30
poweroff -f
EOF
chmod 755 "$root/init"
mke2fs -q -t ext4 -d "$root" "$work/root_fs.img" 32M >/dev/null || fail "mke2fs"
chmod 644 "$work/root_fs.img"
kvm_gid=$(getent group kvm | cut -d: -f3)
net_gid=$(getent group uml-net | cut -d: -f3)

# run_one uml|kuml: boots it as nobody in a fresh namespace; writes facts.
run_one() {
  local vmm=$1
  local ns=kumlnet-$vmm-$$ dir=$work/$vmm
  mkdir -p "$dir"
  cp "$work/root_fs.img" "$dir/root_fs"
  chown -R nobody "$dir"
  ip netns add "$ns" || fail "ip netns add"
  netns+=("$ns")
  ip netns exec "$ns" ip link set lo up
  local cmd
  if [ "$vmm" = uml ]; then
    cmd=(env LD_PRELOAD="$work/shim.so" /usr/bin/linux)
  else
    cmd=("$work/kuml-bin" kernel="$work/vmlinux")
  fi
  cmd+=(ubd0="$dir/root_fs" rw init=/init eth0=tuntap,,,192.168.99.1 con0=fd:0,fd:1
    con=null mem=96M umid=umlnet uml_dir="$dir/uml")
  : >"$dir/console"
  ip netns exec "$ns" setpriv --reuid=nobody --regid=nogroup \
    --groups="$kvm_gid,$net_gid" --inh-caps=-all \
    env HOME="$dir" PATH="$work/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
    UML_NET_LOG="$dir/calls" "${cmd[@]}" </dev/null >"$dir/console" 2>&1 &
  local pid=$!
  local waited=0
  until grep -q "GUEST-PING=" "$dir/console"; do
    kill -0 "$pid" 2>/dev/null || { cat "$dir/console" >&2; fail "$vmm exited before the guest pinged"; }
    [ $waited -lt 600 ] || { kill "$pid"; fail "$vmm: no ping result in 600 s"; }
    sleep 1
    waited=$((waited + 1))
  done
  {
    echo "ping=$(sed -n 's/.*GUEST-PING=\([a-z]*\).*/\1/p' "$dir/console" | head -1)"
    echo "gate=$(ip netns exec "$ns" ip -4 -o addr show dev tap0 | awk '{print $4}')"
    echo "route=$(ip netns exec "$ns" ip -4 route show 192.168.99.2 | awk '{print $1, $2, $3}')"
    echo "proxy_arp=$(ip netns exec "$ns" cat /proc/sys/net/ipv4/conf/tap0/proxy_arp 2>&1)"
    echo "calls=$(awk '{print $3, $4, $5, $6}' "$dir/calls" | head -2 | paste -sd';')"
  } >"$dir/facts"
  wait "$pid"
  echo "exit=$?" >>"$dir/facts"
  echo "tap_after=$(ip netns exec "$ns" ip -o link show | grep -c tap)" >>"$dir/facts"
  echo "--- $vmm:"
  cat "$dir/facts"
}

run_one uml
run_one kuml
grep -qx 'ping=ok' "$work/uml/facts" || fail "the real UML's guest could not ping: harness broken"
if ! diff -u "$work/uml/facts" "$work/kuml/facts"; then
  echo "--- kuml console:" >&2
  tail -20 "$work/kuml/console" >&2
  fail "kuml (+) differs from the real UML (-) with uml_net"
fi
echo "PASS: uml_net gives kuml, run by nobody, the tap and routes it gives UML"
