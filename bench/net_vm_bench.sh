#!/bin/bash
# Guest-to-host network throughput per transport, a whole guest kernel on
# each side: the same init (net_flood_init.c, in an initramfs) in kuml's
# default guest and in Debian's UML sends net_bytes over TCP, then small UDP
# datagrams as fast as it can, to a receiver on the host (net_sink.c) that
# times them. Transports, each with a host kernel stack as the peer:
#   tap     eth0=tuntap,<tap>                    sink on the tap's address
#   slirp   eth0=slirp (kuml: libslirp; UML: the slirp program)
#                                                sink on 127.0.0.1, reached as 10.0.2.2
#   daemon  eth0=daemon on a uml_switch whose -tap port is a host tap
# Guest to guest (two guests of the same VMM, the receiver is the second
# guest's init in its sink role, timing with its own clock):
#   g2g-mcast   eth0=mcast on the default group (the namespace's loopback)
#   g2g-daemon  eth0=daemon on a plain uml_switch
# Prints one "result" line per run (the vmm, the transport, receiver-timed
# TCP bytes/s, UDP datagrams/s received, % of the sent datagrams received,
# and the guests' own figures); --combine merges a kuml and a UML run into a
# table. Runs in a network namespace of its own.
#
# usage: net_vm_bench.sh kuml|uml <kuml> <vmlinux> <initrd> <net_sink> [bytes] [datagrams]
#        net_vm_bench.sh --combine <kuml results> <uml results>
# needs: user-mode-linux uml-utilities slirp
set -uo pipefail
if [ "${1:-}" = --combine ]; then
  printf '%-10s %12s %12s %7s   %11s %11s %7s   %s\n' transport "kuml TCP MB/s" \
    "UML TCP MB/s" kuml/UML "kuml UDP/s" "UML UDP/s" kuml/UML "received k/U"
  for t in tap slirp daemon g2g-mcast g2g-daemon; do
    k=$(grep "^result kuml $t " "$2" | tail -n1)
    u=$(grep "^result uml $t " "$3" | tail -n1)
    awk -v k="$k" -v u="$u" -v t="$t" 'BEGIN {
      nk = split(k, K, " "); nu = split(u, U, " ")
      kt = nk ? K[4] / 1e6 : -1; ut = nu ? U[4] / 1e6 : -1
      kp = nk ? K[5] : -1; up = nu ? U[5] : -1
      f = "%-10s %12s %12s %7s   %11s %11s %7s   %s\n"
      # Parenthesized: a bare ">" in print(f) arguments is a redirection.
      printf f, t, (kt > 0 ? sprintf("%.2f", kt) : "n/a"), (ut > 0 ? sprintf("%.2f", ut) : "n/a"),
        (kt > 0 && ut > 0 ? sprintf("%.2f", kt / ut) : "n/a"),
        (kp > 0 ? sprintf("%.0f", kp) : "n/a"), (up > 0 ? sprintf("%.0f", up) : "n/a"),
        (kp > 0 && up > 0 ? sprintf("%.2f", kp / up) : "n/a"),
        (nk ? K[6] : "-") "/" (nu ? U[6] : "-")
    }'
  done
  exit 0
fi

vmm=$1 kuml=$2 vmlinux=$3 initrd=$4 sink=$5
bytes=${6:-${NET_BENCH_BYTES:-16777216}}
datagrams=${7:-${NET_BENCH_DATAGRAMS:-20000}}
if [ -z "${KUML_NET_BENCH_NS:-}" ]; then
  KUML_NET_BENCH_NS=1 exec unshare -n "$0" "$@"
fi
export PATH=/usr/sbin:/sbin:$PATH
ip link set lo up
ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo  # g2g-mcast
modprobe tun 2>/dev/null
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
port=$((20000 + RANDOM % 20000))

# report <transport> <sink's tcp line> <sink's udp line> <sender's log>:
# the result line.
report() {
  local t=$1 tcp=$2 udp=$3 log=$4
  if [ -z "$tcp" ] || [ "$(echo "$tcp" | cut -d' ' -f2)" != "$bytes" ]; then
    echo "  ($vmm $t: no complete TCP transfer: sink '$tcp'; $(grep -a -m3 -i -e error -e fail -e panic "$log" | tr '\r\n' '  ' | cut -c1-200))" >&2
    echo "result $vmm $t 0 0 -"
    return
  fi
  local tcp_bps pps pct
  tcp_bps=$(echo "$tcp" | awk '{ printf "%.0f", $2 / $3 }')
  pps=$(echo "$udp" | awk '{ if ($4 > 0 && $2 > 1) printf "%.0f", ($2 - 1) / $4; else print 0 }')
  pct=$(echo "$udp" | awk -v n="$datagrams" '{ printf "%.0f%%", 100 * $2 / n }')
  echo "result $vmm $t $tcp_bps $pps $pct"
}

# boot <log> <args...>: one guest of $vmm, in the foreground.
boot() {
  local log=$1 disk=$tmp/disk-$BASHPID.img
  shift
  if [ "$vmm" = kuml ]; then
    truncate -s 1M "$disk"
    timeout 900 "$kuml" kernel="$vmlinux" ubd0="$disk" quiet "$@" </dev/null >"$log" 2>&1
  else
    timeout 300 linux con=none ssl=none con0=fd:0,fd:1 "$@" </dev/null >"$log" 2>&1
  fi
}

# start_switch <ctl socket> [uml_switch args...]: a uml_switch in the
# background, once its socket is there. Its stdin is a fifo it holds open
# for writing too, so it never reads EOF: at EOF uml_switch spins, logging
# without end. (It was fed by `sleep 1000 |`, and `kill $(jobs -p)` killed
# only the sleep: the switch outlived the run and filled the disk with its
# deleted log at ~100 MB/s.) Now the job is the switch alone.
start_switch() {
  local ctl=$1
  shift
  mkfifo "$ctl.in"
  uml_switch -unix "$ctl" "$@" <>"$ctl.in" >"$ctl.log" 2>&1 &
  for _ in $(seq 50); do [ -S "$ctl" ] && break; sleep 0.1; done
}

# run_g2g <transport>: a receiving guest, then a sending guest, on one
# guest-to-guest transport; prints a result line.
run_g2g() {
  local t=$1 eth_sink eth_send common sink_log=$tmp/$vmm-$t-sink.log log=$tmp/$vmm-$t.log
  case "$t" in
    g2g-mcast)
      eth_sink=eth0=mcast,fe:fd:0a:09:00:02 eth_send=eth0=mcast,fe:fd:0a:09:00:03 ;;
    g2g-daemon)
      start_switch "$tmp/g2g.ctl"
      eth_sink=eth0=daemon,fe:fd:0a:09:00:02,unix,$tmp/g2g.ctl
      eth_send=eth0=daemon,fe:fd:0a:09:00:03,unix,$tmp/g2g.ctl ;;
  esac
  common=(mem=128M initrd="$initrd" rdinit=/init net_port="$port")
  boot "$sink_log" "${common[@]}" "$eth_sink" net_role=sink net_addr=10.9.0.2 &
  local sink_pid=$!
  for _ in $(seq 3000); do
    grep -q 'netsink: listening' "$sink_log" 2>/dev/null && break
    kill -0 "$sink_pid" 2>/dev/null || break
    sleep 0.2
  done
  boot "$log" "${common[@]}" "$eth_send" net_addr=10.9.0.3 net_sink=10.9.0.2 \
    net_bytes="$bytes" net_udp="$datagrams"
  wait "$sink_pid"
  grep -a 'netflood:' "$log" | sed "s/^/  $vmm $t | /" >&2
  report "$t" "$(grep -a -o 'netsink: tcp .*' "$sink_log" | cut -d' ' -f2- | tr -d '\r')" \
    "$(grep -a -o 'netsink: udp .*' "$sink_log" | cut -d' ' -f2- | tr -d '\r')" "$log"
  kill $(jobs -p) 2>/dev/null
  port=$((port + 2))
}

# run_one <transport>: one guest boot; prints a result line.
run_one() {
  local t=$1 eth guest sink_addr peer args log=$tmp/$vmm-$t.log
  case "$t" in
    tap)
      ip tuntap add dev nbt0 mode tap && ip addr add 10.7.0.1/24 dev nbt0 &&
        ip link set nbt0 up || return
      eth=eth0=tuntap,nbt0 guest=10.7.0.2 sink_addr=10.7.0.1 peer=10.7.0.1 ;;
    slirp)
      if [ "$vmm" = kuml ]; then eth=eth0=slirp; else eth=eth0=slirp,,/usr/bin/slirp; fi
      guest=10.0.2.15 sink_addr=127.0.0.1 peer=10.0.2.2 ;;
    daemon)
      ip tuntap add dev nbs0 mode tap && ip addr add 10.8.0.1/24 dev nbs0 &&
        ip link set nbs0 up || return
      start_switch "$tmp/sw.ctl" -tap nbs0
      eth=eth0=daemon,fe:fd:0a:08:00:02,unix,$tmp/sw.ctl guest=10.8.0.2 sink_addr=10.8.0.1
      peer=10.8.0.1 ;;
  esac
  "$sink" "$sink_addr" "$port" >"$tmp/sink-$t.out" 2>&1 &
  local sink_pid=$!
  for _ in $(seq 50); do grep -q listening "$tmp/sink-$t.out" && break; sleep 0.1; done
  args=(mem=128M initrd="$initrd" rdinit=/init "$eth" net_addr="$guest"
    net_sink="$peer" net_port="$port" net_bytes="$bytes" net_udp="$datagrams")
  boot "$log" "${args[@]}"
  sleep 1
  kill "$sink_pid" 2>/dev/null
  wait "$sink_pid" 2>/dev/null
  grep -a 'netflood:' "$log" | sed "s/^/  $vmm $t | /" >&2
  report "$t" "$(grep '^tcp ' "$tmp/sink-$t.out")" "$(grep '^udp ' "$tmp/sink-$t.out")" "$log"
  kill $(jobs -p) 2>/dev/null
  ip link del nbt0 2>/dev/null
  ip link del nbs0 2>/dev/null
  port=$((port + 2))
}

for t in ${NET_BENCH_TRANSPORTS:-tap slirp daemon g2g-mcast g2g-daemon}; do
  case "$t" in
    g2g-*) run_g2g "$t" ;;
    *) run_one "$t" ;;
  esac
done
