#!/bin/bash
# with-kvm.sh COMMAND [ARGS...]: runs COMMAND where a KVM is available.
#
# - When this host has a usable, hardware-backed /dev/kvm (vmx/svm), COMMAND
#   runs here directly.
# - Otherwise COMMAND runs inside a throwaway "nested KVM host": a QEMU virtual
#   machine under software emulation (TCG) whose emulated AMD CPU offers SVM,
#   running Debian's kernel with the real kvm_amd module, so /dev/kvm exists
#   inside it. The host's file system is shared read-only over 9p, so COMMAND
#   and everything it uses are the same files; the current directory and
#   $TEST_TMPDIR / $TEST_UNDECLARED_OUTPUTS_DIR (when set) and the paths in
#   $KUML_KVMHOST_RW (colon-separated) are shared writable.
# - With neither, it fails loudly: a KVM test must never pass without a KVM.
#
# KUML_KVMHOST=host|nested|auto (default auto) forces the choice.
# KUML_KVMHOST_MEM (MiB, default 2048), KUML_KVMHOST_CPUS (default 1).
#
# Why one CPU: with two, the nested host itself sometimes froze when two of
# them ran side by side on a 2-core machine (Bazel runs two tests at once).
# Its kernel reported soft lockups on both CPUs in its own threads
# (rcu_preempt, kthreadd: not in KVM_RUN), and a test blocked forever in
# whatever waited for the vCPU: a kick, a join, a reboot. Measured with
# machine_control_kvm_test, 2 at a time: 2 of 4 runs hung with -smp 2, 0 of
# 6 with -smp 1. It looks like a lost inter-processor interrupt in QEMU's
# multi-threaded TCG under host load. One CPU has no cross-CPU interrupts to
# lose, and costs little: each nested host gets about one core anyway.
set -uo pipefail
# Our helper scripts: beside this one, or in the Bazel runfiles tree when this
# script runs as an sh_test (then it is a copy under the test's own name).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ ! -f "$here/nested-init.sh" ] && [ -n "${TEST_SRCDIR:-}" ]; then
  here=$TEST_SRCDIR/kuml/tests/kvmhost
fi
mode=${KUML_KVMHOST:-auto}

if [ $# -eq 0 ]; then
  echo "usage: with-kvm.sh COMMAND [ARGS...]" >&2
  exit 2
fi

host_kvm_usable() {
  [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]
}

# A software-assisted /dev/kvm (kvm_pvm on hosts without vmx/svm) runs guest
# ring-0 code about a thousand times slower than hardware and lacks SYSCALL
# (../shared/reference/kvm-here.md): the tests' timings and ring-0 payloads
# assume hardware-like KVM. auto therefore takes the host's /dev/kvm only when
# it is hardware-backed and otherwise uses the nested host, whose kvm_amd is
# the real module on an emulated SVM CPU -- the KVM CI gets too.
# KUML_KVMHOST=host forces the software-assisted one.
host_kvm_hardware() {
  grep -qwE 'vmx|svm' /proc/cpuinfo
}

if [ "$mode" = host ] || { [ "$mode" = auto ] && host_kvm_usable && host_kvm_hardware; }; then
  if ! host_kvm_usable; then
    echo "kvmhost: KUML_KVMHOST=host but /dev/kvm is not usable here" >&2
    exit 1
  fi
  if grep -qwE 'vmx|svm' /proc/cpuinfo; then
    echo "kvmhost: using this host's /dev/kvm (hardware virtualization)" >&2
  else
    echo "kvmhost: using this host's /dev/kvm (software-assisted KVM:" \
      "guest ring 0 is emulated, expect slow guests)" >&2
  fi
  exec "$@"
fi

# --- nested KVM host -------------------------------------------------------
fail() {
  echo "kvmhost: FAILED: $*" >&2
  echo "kvmhost: this test needs a KVM: none on this host (/dev/kvm absent)" \
    "and the nested KVM host could not be started. ./setup.sh installs" \
    "what it needs (qemu-system-x86, linux-image-amd64, busybox-static)." >&2
  exit 1
}

qemu=$(command -v qemu-system-x86_64) || fail "qemu-system-x86_64 not found"
kernel=""
release=""
for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
  r=${k#/boot/vmlinuz-}
  if [ -d "/lib/modules/$r/kernel/arch/x86/kvm" ]; then
    kernel=$k
    release=$r
    break
  fi
done
[ -n "$kernel" ] || fail "no /boot/vmlinuz-* with KVM modules in /lib/modules"

# The initramfs is cached per kernel release and per version of our scripts.
cache_home=${KUML_CACHE:-$(getent passwd "$(id -u)" | cut -d: -f6)/.cache/kuml}
stamp=$(cat "$here/build-initramfs.sh" "$here/nested-init.sh" | md5sum | cut -c1-12)
initrd=$cache_home/kvmhost/initramfs-$release-$stamp.gz
if [ ! -s "$initrd" ]; then
  mkdir -p "$(dirname "$initrd")" 2>/dev/null || true
  if ! touch "$initrd.probe" 2>/dev/null; then
    initrd=$(mktemp -d)/initramfs.gz  # read-only cache (e.g. a sandbox)
  fi
  rm -f "$initrd.probe"
  bash "$here/build-initramfs.sh" "$release" "$initrd" ||
    fail "could not build the nested host's initramfs"
fi

ctl=$(mktemp -d /tmp/kvmhost.XXXXXX)
trap 'rm -rf "$ctl"' EXIT
# The command runs with this environment and working directory.
{
  export -p | grep -v -E '^declare -x (PWD|OLDPWD|SHLVL|_)='
  printf 'cd %q || exit 126\n' "$PWD"
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} > "$ctl/run.sh"

# Writable: the working directory, Bazel's test directories and the
# directories of the files a test runner writes (gtest's XML, premature-exit
# marker ...), and $KUML_KVMHOST_RW. Parents are mounted before children.
candidates=("$PWD")
for v in TEST_TMPDIR TEST_UNDECLARED_OUTPUTS_DIR; do
  [ -n "${!v:-}" ] && candidates+=("${!v}")
done
for v in XML_OUTPUT_FILE TEST_PREMATURE_EXIT_FILE TEST_INFRASTRUCTURE_FAILURE_FILE \
         TEST_WARNINGS_OUTPUT_FILE TEST_SHARD_STATUS_FILE; do
  [ -n "${!v:-}" ] && candidates+=("$(dirname "${!v}")")
done
IFS=: read -r -a extra <<< "${KUML_KVMHOST_RW:-}"
candidates+=("${extra[@]}")
# The nested host mounts a fresh tmpfs on /tmp, hiding the host's. A command
# whose real file lies under /tmp (a checkout there, e.g. a CI clone, whose
# sources Bazel's runfiles link to) needs that checkout shared too: the
# nearest ancestor with a WORKSPACE file, else the command's directory.
# A test's data files too: its runfiles resolve into the checkout (one that
# does is enough to find it; the first few hundred are looked at).
runfile_in_tmp=""
if [ -n "${TEST_SRCDIR:-}" ] && [ -d "$TEST_SRCDIR" ]; then
  runfile_in_tmp=$(find "$TEST_SRCDIR" -maxdepth 5 -type l 2>/dev/null | head -n 300 |
                     xargs -r readlink -f -- 2>/dev/null | grep -m1 '^/tmp/')
fi
for f in "$@" $runfile_in_tmp; do
  real=$(readlink -f -- "$f" 2>/dev/null) || continue
  case "$real" in /tmp/*) ;; *) continue ;; esac
  [ -e "$real" ] || continue
  root=$(dirname "$real")
  while [ "$root" != /tmp ] && [ ! -e "$root/WORKSPACE" ]; do root=$(dirname "$root"); done
  [ "$root" != /tmp ] || root=$(dirname "$real")
  candidates+=("$root")
done
rw_dirs=()
while IFS= read -r d; do
  [ -n "$d" ] && rw_dirs+=("$d")
done < <(for d in "${candidates[@]}"; do
           [ -n "$d" ] && [ -d "$d" ] && (cd "$d" && pwd -P)
         done | sort -u | awk '{ print length($0) " " $0 }' | sort -n | cut -d' ' -f2-)

virtfs=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
        -virtfs "local,path=$ctl,mount_tag=ctl,security_model=none,multidevs=remap")
i=0
for d in "${rw_dirs[@]}"; do
  echo "$d" > "$ctl/rw$i"
  virtfs+=(-virtfs "local,path=$d,mount_tag=rw$i,security_model=none,multidevs=remap")
  i=$((i + 1))
done

if host_kvm_usable; then
  why="this host's /dev/kvm is software-assisted (no vmx/svm; KUML_KVMHOST=host uses it anyway)"
else
  why="no /dev/kvm on this host"
fi
echo "kvmhost: $why; running inside a nested KVM host" \
  "(QEMU TCG, emulated AMD CPU with SVM, $release kvm_amd)" >&2
start=$(date +%s.%N)
"$qemu" -accel tcg,thread=multi -cpu max -smp "${KUML_KVMHOST_CPUS:-1}" \
  -m "${KUML_KVMHOST_MEM:-2048}" -nographic -no-reboot -nodefaults \
  -serial file:"$ctl/console" -kernel "$kernel" -initrd "$initrd" \
  -append "console=ttyS0 quiet panic=-1 loglevel=3" "${virtfs[@]}" \
  </dev/null >"$ctl/qemu.log" 2>&1 &
qemu_pid=$!
# Stopped from outside (Bazel's test timeout sends SIGTERM): show what the
# command printed so far, which otherwise comes back only at its end.
on_term() {
  echo "kvmhost: stopped from outside after $(echo "$(date +%s.%N) - $start" | bc) s" \
    "(a test timeout?); the command's output so far:" >&2
  cat "$ctl/output" 2>/dev/null
  echo "kvmhost: the nested host's console, last lines:" >&2
  tail -n 20 "$ctl/console" >&2
  kill "$qemu_pid" 2>/dev/null
  exit 143
}
trap on_term TERM INT
wait "$qemu_pid"
qemu_rc=$?
end=$(date +%s.%N)
cat "$ctl/output" 2>/dev/null
if [ ! -s "$ctl/rc" ]; then
  echo "kvmhost: the nested host did not finish (qemu exit $qemu_rc)" >&2
  tail -n 30 "$ctl/console" "$ctl/qemu.log" >&2
  exit 1
fi
rc=$(cat "$ctl/rc")
echo "kvmhost: command exited $rc after $(echo "$end - $start" | bc) s in the nested host" >&2
exit "$rc"
