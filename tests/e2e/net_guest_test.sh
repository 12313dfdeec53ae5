#!/bin/bash
# End to end with the default guest kernel (slow): Linux's virtio-net driver
# on kuml's transports, eth0 configured by the kernel's own ip= option (no
# userspace network tools), with real peers:
#  - tap: the tap lives in a network namespace this test creates; the
#    guest pings the namespace's stack and fetches a token from an HTTP
#    server there; the namespace pings the guest and talks TCP to a server
#    in the guest;
#  - slirp: the guest fetches a token from an HTTP server on the host's
#    loopback through the router address 10.0.2.2, and a host client talks
#    to a server in the guest through a hostfwd= port.
# The guest is an initramfs of busybox (its init below). Runs in a network
# namespace of its own (under with-kvm.sh, inside the nested KVM host).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_default_guest

if [ -z "${KUML_NET_TEST_NS:-}" ]; then
  KUML_NET_TEST_NS=1 exec unshare -n "$0" "$@"
fi
export PATH=/usr/sbin:/sbin:$PATH
ip link set lo up || fail "namespace setup"
py=$(command -v python3) || fail "python3 not found"

# The guest: ping the peer, fetch http://<peer>:<port>/token, then serve one
# TCP connection on port 8001 (read a line, answer it), power off. Its
# parameters come from the kernel command line (unknown name=value
# arguments reach init's environment).
root=$e2e_tmp/initrd
mkdir -p "$root/bin" "$root/www"
cp /bin/busybox "$root/bin/busybox" || fail "no static /bin/busybox"
cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
say() { echo "kuml: $*"; }
say "eth0 $(ip -4 -o addr show dev eth0 | awk '{print $4}') mac $(cat /sys/class/net/eth0/address)"
if ping -c 3 -W 5 "$net_peer" >/tmp/ping 2>&1; then
  say "ping $net_peer ok"
else
  say "ping $net_peer failed: $(tail -n 2 /tmp/ping | tr '\n' ' ')"
fi
# HTTP by hand with nc: Debian's static busybox wget crashed here (a
# segfault in its address lookup, with no /etc in this initramfs).
if got=$(printf 'GET /token HTTP/1.0\r\n\r\n' | timeout 30 nc "$net_peer" "$net_port" | tail -n 1) && [ -n "$got" ]; then
  say "fetched: $got"
else
  say "fetch failed: $got"
fi
cat >/serve <<'EOS'
#!/bin/sh
read -r line
echo "guest heard: $line"
echo "$line" >/tmp/heard
EOS
chmod +x /serve
say "serving on 8001"
if timeout 120 nc -l -p 8001 -e /serve; then
  say "served: $(cat /tmp/heard 2>/dev/null)"
else
  say "serve failed"
fi
poweroff -f
EOF
chmod +x "$root/init"
initrd=$e2e_tmp/net.cpio.gz
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1 >"$initrd") || fail "initrd"
# The guest lives in its initramfs; ubd0 (UML's default is ./root_fs) is an
# empty scratch disk.
scratch=$e2e_tmp/scratch.img
truncate -s 1M "$scratch"

# http_server <netns or ""> <addr> <port> <token>: serves /token; sets $http_pid.
http_server() {
  local ns=$1 dir=$e2e_tmp/www-$3
  mkdir -p "$dir" && echo "$4" >"$dir/token"
  if [ -n "$ns" ]; then
    ip netns exec "$ns" "$py" -m http.server -b "$2" -d "$dir" "$3" \
      >"$e2e_tmp/http-$3.log" 2>&1 &
  else
    "$py" -m http.server -b "$2" -d "$dir" "$3" >"$e2e_tmp/http-$3.log" 2>&1 &
  fi
  http_pid=$!
}

# talk <ns or ""> <addr> <port> <line>: prints the server's answer.
talk() {
  local cmd=("$py" -c '
import socket, sys, time
# The guest says it serves just before its nc listens; a hostfwd port
# accepts at once and drops the connection while nothing listens: retry.
for _ in range(40):
    try:
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
        s.sendall(sys.argv[3].encode() + b"\n")
        line = s.makefile().readline().strip()
        if line:
            print(line)
            break
    except OSError:
        pass
    time.sleep(0.5)' "$2" "$3" "$4")
  if [ -n "$1" ]; then ip netns exec "$1" "${cmd[@]}"; else "${cmd[@]}"; fi
}

# wait_console <log> <pattern> <seconds>: fails at once if kuml ($kuml_pid)
# has exited.
wait_console() {
  local i
  for ((i = 0; i < $3 * 5; i++)); do
    grep -q -- "$2" "$1" && return 0
    if ! kill -0 "$kuml_pid" 2>/dev/null; then
      sed 's/^/  | /' "$1" | tail -n 40
      fail "kuml exited before its console showed '$2'"
    fi
    sleep 0.2
  done
  sed 's/^/  | /' "$1" | tail -n 40
  fail "console lacks '$2' after $3 s"
}

cleanup() {
  kill $(jobs -p) 2>/dev/null
  ip netns del kumlpeer 2>/dev/null
}
trap cleanup EXIT

# --- tap in a namespace --------------------------------------------------
modprobe tun 2>/dev/null
ip netns add kumlpeer || fail "ip netns add"
ip netns exec kumlpeer ip link set lo up
ip netns exec kumlpeer ip tuntap add dev kt0 mode tap &&
  ip netns exec kumlpeer ip addr add 10.5.0.1/24 dev kt0 &&
  ip netns exec kumlpeer ip link set kt0 up || fail "tap setup"
http_server kumlpeer 10.5.0.1 7001 "token-from-namespace"
log=$e2e_tmp/tap.log
# kuml itself runs in the namespace: that is where the tap is.
ip netns exec kumlpeer timeout --kill-after=10 600 "$kuml_bin" \
  kernel="$guest_kernel" initrd="$initrd" rdinit=/init mem=128M ubd0="$scratch" \
  eth0=tuntap,kt0 ip=10.5.0.2::10.5.0.1:255.255.255.0::eth0:off \
  net_peer=10.5.0.1 net_port=7001 </dev/null >"$log" 2>&1 &
kuml_pid=$!
wait_console "$log" "kuml: serving on 8001" 500
ip netns exec kumlpeer ping -c 3 -i 0.5 -W 10 10.5.0.2 ||
  fail "the namespace cannot ping the guest"
answer=$(talk kumlpeer 10.5.0.2 8001 "hello-from-namespace")
wait "$kuml_pid"
kuml_status=$?
sed 's/^/  | /' "$log" | tail -n 30
expect_status 0
# The MAC policy: fe:fd + the ip= address.
expect_line "$log" "kuml: eth0 10.5.0.2/24 mac fe:fd:0a:05:00:02"
expect_line "$log" "kuml: ping 10.5.0.1 ok"
expect_line "$log" "kuml: fetched: token-from-namespace"
[ "$answer" = "guest heard: hello-from-namespace" ] ||
  fail "the guest's server answered '$answer'"
expect_line "$log" "kuml: served: hello-from-namespace"
echo "ok: tap (ping both ways, TCP both ways with a namespace)"

# --- slirp ---------------------------------------------------------------
hport=$((20000 + RANDOM % 20000))
fport=$((hport + 1))
http_server "" 127.0.0.1 "$hport" "token-from-host-loopback"
log=$e2e_tmp/slirp.log
timeout --kill-after=10 600 "$kuml_bin" \
  kernel="$guest_kernel" initrd="$initrd" rdinit=/init mem=128M ubd0="$scratch" \
  "eth0=slirp,,hostfwd=tcp:127.0.0.1:$fport-:8001" \
  ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off \
  net_peer=10.0.2.2 net_port="$hport" </dev/null >"$log" 2>&1 &
kuml_pid=$!
wait_console "$log" "kuml: serving on 8001" 500
answer=$(talk "" 127.0.0.1 "$fport" "hello-from-host")
wait "$kuml_pid"
kuml_status=$?
sed 's/^/  | /' "$log" | tail -n 30
expect_status 0
expect_line "$log" "kuml: eth0 10.0.2.15/24"
expect_line "$log" "kuml: fetched: token-from-host-loopback"
[ "$answer" = "guest heard: hello-from-host" ] ||
  fail "the guest's server answered '$answer' through hostfwd"
expect_line "$log" "kuml: served: hello-from-host"
# libslirp answers pings to its router address.
grep -q "kuml: ping 10.0.2.2 ok" "$log" && echo "ok: slirp router answers ping"
echo "ok: slirp (guest -> host loopback via 10.0.2.2, host -> guest via hostfwd)"
echo PASS
