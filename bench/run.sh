#!/bin/bash
# Runs kuml's benchmarks where a KVM is (this host's /dev/kvm, or the nested
# KVM host of tests/kvmhost when there is none) and prints the figures.
# Timings taken in the nested host describe emulated hardware; compare the
# ratios, not the absolute numbers. On a host whose /dev/kvm is the
# software-assisted kvm_pvm, KUML_KVMHOST=host runs kuml on it instead, beside
# the natively run UML (guest ring-0 code is emulated there, VMM-side costs
# are real). usage: bench/run.sh [exits|boot|debian|net|netvm|console|mconsole|gdb]...
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bazel build //cli:kuml //tests/payloads //bench:console_flood_initrd >/dev/null 2>&1
bin=$(bazel info bazel-bin 2>/dev/null)
cache=${KUML_CACHE:-$HOME/.cache/kuml}
which=("$@")
[ ${#which[@]} -gt 0 ] || which=(exits boot)
for b in "${which[@]}"; do
  echo "== $b"
  case "$b" in
    exits) tests/kvmhost/with-kvm.sh bench/exits_bench.sh "$bin/cli/kuml" "$bin/tests/payloads" ;;
    # gdb stub round trips, kuml and QEMU's gdbstub on the same KVM: the
    # host's (the nested host's TCG does not fire debug-register breakpoints).
    gdb) KUML_KVMHOST=host tests/kvmhost/with-kvm.sh bench/gdb_bench.sh "$bin/cli/kuml" "$bin/tests/payloads" ;;
    # kuml in the (nested) KVM host; the real UML natively, in the same run.
    console)
      CONSOLE_BENCH_ONLY=kuml tests/kvmhost/with-kvm.sh bench/console_bench.sh "$bin/cli/kuml" "$cache/guest/vmlinux" "$bin/bench/console_flood.cpio.gz"
      CONSOLE_BENCH_ONLY=uml bench/console_bench.sh "$bin/cli/kuml" "$cache/guest/vmlinux" "$bin/bench/console_flood.cpio.gz" ;;
    # A UML user's Debian root_fs to login: UML, kuml on the host's KVM and
    # in the nested host, one run each.
    debian)
      bazel build //tests/uml:uml_xstate_shim.so >/dev/null 2>&1
      bench/debian_boot_bench.sh "$bin/cli/kuml" "$bin/tests/uml/uml_xstate_shim.so" "$(guest/build-debian-image.sh)" ;;
    boot) tests/kvmhost/with-kvm.sh bench/boot_bench.sh "$bin/cli/kuml" "$cache/guest/vmlinux" "$cache/guest/root_fs" ;;
    # No KVM: kuml's virtio-net device and each transport, driven host-side.
    net) bazel build //bench:net_bench >/dev/null 2>&1 && "$bin/bench/net_bench" ;;
    # Both mconsole doors (no KVM), stop-to-parked and a whole kuml (KVM),
    # the real UML (natively).
    mconsole) bazel build //bench:mconsole_bench >/dev/null 2>&1 &&
      bench/mconsole_bench.sh "$bin/bench/mconsole_bench" "$bin/tests/payloads" "$bin/cli/kuml" "$cache/guest/root_fs" ;;
    # A whole guest per side: kuml's default kernel in the (nested) KVM host,
    # Debian's UML natively, the same init and host receiver; one table.
    netvm)
      bazel build //bench:net_flood_initrd //bench:net_sink >/dev/null 2>&1
      out=$(mktemp -d)
      tests/kvmhost/with-kvm.sh bench/net_vm_bench.sh kuml "$bin/cli/kuml" "$cache/guest/vmlinux" \
        "$bin/bench/net_flood.cpio.gz" "$bin/bench/net_sink" | tee "$out/kuml" || true
      bench/net_vm_bench.sh uml "$bin/cli/kuml" "$cache/guest/vmlinux" \
        "$bin/bench/net_flood.cpio.gz" "$bin/bench/net_sink" | tee "$out/uml" || true
      bench/net_vm_bench.sh --combine "$out/kuml" "$out/uml"
      rm -rf "$out" ;;
    *) echo "unknown benchmark $b" >&2; exit 2 ;;
  esac
done
