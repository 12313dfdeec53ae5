#!/bin/bash
# Two kuml guests exchange frames over each UML transport between guests
# (mcast, ucast, a real uml_switch), and a host kernel stack pings a kuml
# guest through a tap. The guests are tiny payloads (tests/payloads/
# net_peer.c): they take their IP from their MAC (fe:fd:a:b:c:d), answer ARP
# and ping, and the _ping variant pings its peer. Runs in a network
# namespace of its own (under with-kvm.sh, inside the nested KVM host).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ -z "${KUML_NET_TEST_NS:-}" ]; then
  KUML_NET_TEST_NS=1 exec unshare -n "$0" "$@"
fi
export PATH=/usr/sbin:/sbin:$PATH
ip link set lo up && ip link set lo multicast on &&
  ip route add 224.0.0.0/4 dev lo || fail "namespace setup"

payloads=${TEST_SRCDIR:-.}/kuml/tests/payloads
responder=$payloads/net_peer.bin
pinger=$payloads/net_peer_ping.bin
[ -s "$responder" ] && [ -s "$pinger" ] || fail "payloads not found in $payloads"
sock_dir=$(mktemp -d /tmp/kuml-net-e2e-XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$sock_dir"' EXIT
truncate -s 1M "$e2e_tmp/d1.img" "$e2e_tmp/d2.img"

# pair <name> <responder eth switch> <pinger eth switch>
pair() {
  local name=$1
  timeout 300 "$kuml_bin" kernel="$responder" ubd0="$e2e_tmp/d1.img" \
    "$2" </dev/null >"$e2e_tmp/$name-responder.log" 2>&1 &
  local responder_pid=$!
  run_kuml 300 "$e2e_tmp/$name-pinger.log" kernel="$pinger" \
    ubd0="$e2e_tmp/d2.img" "$3"
  wait "$responder_pid"
  local responder_status=$?
  sed 's/^/  responder | /' "$e2e_tmp/$name-responder.log"
  [ "$kuml_status" = 0 ] || fail "$name: pinger exited $kuml_status"
  [ "$responder_status" = 0 ] || fail "$name: responder exited $responder_status"
  expect_line "$e2e_tmp/$name-pinger.log" "net: echo reply from 10.1.0.2 seq 3"
  expect_line "$e2e_tmp/$name-pinger.log" "net: ping ok"
  expect_line "$e2e_tmp/$name-responder.log" "net: answered 3 echo requests"
  echo "ok: $name"
}

pair mcast eth0=mcast,fe:fd:0a:01:00:02 eth0=mcast,fe:fd:0a:01:00:01
pair ucast eth0=ucast,fe:fd:0a:01:00:02,127.0.0.1,6002,6001 \
  eth0=ucast,fe:fd:0a:01:00:01,127.0.0.1,6001,6002

# Its stdin: a fifo it holds open for writing too, so it never reads EOF (at
# EOF uml_switch spins, logging without end), and the job is the switch alone,
# which the exit trap's kill reaches (`sleep 1000 | uml_switch` left it running).
mkfifo "$sock_dir/switch.in"
uml_switch -unix "$sock_dir/switch.ctl" <>"$sock_dir/switch.in" >"$e2e_tmp/switch.log" 2>&1 &
for _ in $(seq 50); do [ -S "$sock_dir/switch.ctl" ] && break; sleep 0.1; done
pair uml_switch "eth0=daemon,fe:fd:0a:01:00:02,unix,$sock_dir/switch.ctl" \
  "eth0=daemon,fe:fd:0a:01:00:01,unix,$sock_dir/switch.ctl"

# The host's own stack pings a kuml guest on a pre-configured tap.
modprobe tun 2>/dev/null
ip tuntap add dev kt0 mode tap && ip addr add 10.4.0.1/24 dev kt0 &&
  ip link set kt0 up || fail "tap setup"
timeout 300 "$kuml_bin" kernel="$responder" ubd0="$e2e_tmp/d1.img" \
  eth0=tuntap,kt0,fe:fd:0a:04:00:02 </dev/null >"$e2e_tmp/tap.log" 2>&1 &
tap_pid=$!
for _ in $(seq 600); do grep -q "net: up" "$e2e_tmp/tap.log" && break; sleep 0.2; done
ping -c 3 -i 0.5 -W 10 10.4.0.2 || { cat "$e2e_tmp/tap.log"; fail "ping through the tap"; }
wait "$tap_pid" || fail "tap guest exited $?"
expect_line "$e2e_tmp/tap.log" "net: answered 3 echo requests"
echo "ok: tap"
echo PASS
