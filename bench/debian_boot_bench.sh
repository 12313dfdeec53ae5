#!/bin/bash
# Boot to `umlguest login:` of a UML user's own Debian root_fs
# (guest/build-debian-image.sh), one run each, side by side: the real UML
# natively, kuml on this host's /dev/kvm, kuml in the nested KVM host
# (tests/kvmhost). The driver is tests/e2e/debian_image.py (the same boot,
# logins on tty0 and tty1, and halt as debian_image_test).
#   bench/debian_boot_bench.sh <kuml> <uml_xstate_shim.so> <image>
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kuml=$1 shim=$2 image=$3
work=$(mktemp -d /tmp/kuml-debian-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The driver's runfiles layout: tests/uml/linux beside its shim.
mkdir -p "$work/rf/kuml/tests/uml" "$work/rf/kuml/cli"
cp "$here/tests/uml/linux" "$work/rf/kuml/tests/uml/linux"
cp "$shim" "$work/rf/kuml/tests/uml/uml_xstate_shim.so"
cp "$kuml" "$work/rf/kuml/cli/kuml"
declare -A boot total
for where in uml host nested; do
  mkdir -p "$work/$where"
  vmm=kuml runner=()
  case $where in
    uml) vmm=uml ;;
    host) runner=(env KUML_KVMHOST=host "$here/tests/kvmhost/with-kvm.sh") ;;
    # The nested host sees only shared paths: the whole work dir.
    nested) runner=(env KUML_KVMHOST=nested KUML_KVMHOST_RW="$work" "$here/tests/kvmhost/with-kvm.sh") ;;
  esac
  TEST_TMPDIR=$work/$where TEST_SRCDIR=$work/rf "${runner[@]}" python3 \
    "$here/tests/e2e/debian_image.py" "$vmm" "$image" "$work/$where/facts" \
    >"$work/$where/log" 2>&1 || { tail -20 "$work/$where/log"; exit 1; }
  boot[$where]=$(sed -n 's/.*: boot to login \([0-9.]*\) s/\1/p' "$work/$where/log")
  total[$where]=$(sed -n 's/.*total \([0-9.]*\) s/\1/p' "$work/$where/log")
done
printf '%-34s %10s %10s %12s\n' "Debian bookworm root_fs" "login (s)" "all (s)" "login / UML"
for where in uml host nested; do
  case $where in
    uml) name="real UML 6.1 (native)" ;;
    host) name="kuml, this host's /dev/kvm" ;;
    nested) name="kuml, nested KVM host (TCG+SVM)" ;;
  esac
  printf '%-34s %10s %10s %12s\n' "$name" "${boot[$where]}" "${total[$where]}" \
    "$(awk -v a="${boot[$where]}" -v b="${boot[uml]}" 'BEGIN { printf "%.1fx", a / b }')"
done
