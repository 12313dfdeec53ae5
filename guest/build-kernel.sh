#!/bin/bash
# needs: build-essential bc flex bison libelf-dev libssl-dev lz4 ccache linux-source-6.1 patch xz-utils binutils util-linux
#
# Builds kuml's default guest kernel from Debian's linux-source-6.1 package, with the
# config fragment guest/kernel/kuml.config and the patches guest/patches/*.patch, and
# caches the result outside the checkout:
#
#   ${KUML_CACHE:-$HOME/.cache/kuml}/guest/
#     kernel-<hash>/        vmlinux (ELF with the PVH note, debug info stripped),
#                           bzImage, config, System.map, inputs, build.log
#     vmlinux, bzImage      stable symlinks to the current kernel-<hash>/ files
#     kernel                symlink to the current kernel-<hash>/
#     ccache/               compiler cache (when ccache is installed)
#
# <hash> covers the source package version, the fragment, the patches, this script
# and the compiler version, so a change to any of them builds a new kernel and an
# unchanged tree returns at once. Usage:
#
#   guest/build-kernel.sh [--force] [--debug]
#
# --debug builds the same kernel plus guest/kernel/kuml-debug.config (debug info, the
# kernel's gdb scripts) into its own kernel-<hash>/, unstripped, with scripts/gdb and
# vmlinux-gdb.py beside vmlinux, linked as vmlinux-debug, bzImage-debug, kernel-debug;
# the default kernel's links are untouched. Opt-in (./setup.sh does not build it).
#
# Environment: KUML_CACHE (cache root), KUML_JOBS (make -j, default nproc),
# KUML_LINUX_SOURCE (source tarball, default /usr/src/linux-source-6.1.tar.xz),
# KUML_KEEP_KERNEL_TREE=1 (keep the build tree, kernel-<hash>.build/, for debugging).
set -euo pipefail

# All of it in main(), read before anything runs: editing this file (a git checkout)
# during a 20-minute build must not change what the running build does next.
main() {
# The real guest/ directory, also when this runs through a symlink (Bazel runfiles).
readonly script=$(readlink -f "${BASH_SOURCE[0]}")
readonly here=$(dirname "$script")
readonly fragment="$here/kernel/kuml.config"
readonly guest_cache="${KUML_CACHE:-${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}/.cache/kuml}/guest"
readonly src_tar="${KUML_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}"
readonly jobs="${KUML_JOBS:-$(nproc)}"

force=0
debug=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --debug) debug=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$script" | sed '$d'; exit 0 ;;
    *) echo "usage: $0 [--force] [--debug]" >&2; exit 2 ;;
  esac
done
# --debug: the same kernel with debug info and the kernel's gdb scripts, in
# its own kernel-<hash>/ (the default kernel and its links stay as they are).
fragments=("$fragment")
[[ $debug == 0 ]] || fragments+=("$here/kernel/kuml-debug.config")

die() { echo "build-kernel: $*" >&2; exit 1; }

start=$(date +%s.%N)
elapsed() { echo "$(date +%s.%N) $start" | awk '{printf "%.1f", $1 - $2}'; }

[[ -r "$src_tar" ]] || die "no kernel source at $src_tar (apt-get install linux-source-6.1)"
[[ -r "$fragment" ]] || die "missing $fragment"
if [[ -n "${KUML_LINUX_SOURCE:-}" ]]; then
  src_version="file:$(stat -c '%s-%Y' "$src_tar")"
else
  src_version=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
  [[ -n "$src_version" ]] || src_version="file:$(stat -c '%s-%Y' "$src_tar")"
fi
shopt -s nullglob
patches=("$here"/patches/*.patch)
shopt -u nullglob

# The cache key: everything that changes what comes out.
hash=$(
  {
    echo "source $src_version"
    echo "compiler $(gcc --version | head -n1)"
    sha256sum "${fragments[@]}" "$script" | awk '{print $1}'
    for p in "${patches[@]}"; do echo "patch $(basename "$p") $(sha256sum < "$p")"; done
  } | sha256sum | cut -c1-16
)
readonly out="$guest_cache/kernel-$hash"

# The debug kernel's links end in -debug.
suffix=""
[[ $debug == 0 ]] || suffix="-debug"
link_current() {
  ln -sfn "kernel-$hash/vmlinux" "$guest_cache/vmlinux$suffix"
  ln -sfn "kernel-$hash/bzImage" "$guest_cache/bzImage$suffix"
  ln -sfn "kernel-$hash" "$guest_cache/kernel$suffix"
}

report() {
  echo "build-kernel: $1 in $(elapsed)s"
  echo "  vmlinux: $guest_cache/vmlinux$suffix -> $out/vmlinux"
  echo "  bzImage: $guest_cache/bzImage$suffix -> $out/bzImage"
  if [[ $debug == 1 ]]; then
    echo "  debug it: kuml kernel=$guest_cache/vmlinux$suffix ... gdb=1234, then"
    echo "    gdb -iex 'add-auto-load-safe-path $out' $out/vmlinux \\"
    echo "        -ex 'target remote 127.0.0.1:1234'   (lx-dmesg, lx-ps ... load)"
  fi
}

mkdir -p "$guest_cache"
if [[ $force == 0 && -f "$out/done" ]]; then
  link_current
  report "cached"
  exit 0
fi

# One build at a time per cache (two setups, or two checkouts sharing the cache).
exec 9> "$guest_cache/.kernel.lock"
flock 9
if [[ $force == 0 && -f "$out/done" ]]; then  # built by whoever held the lock
  link_current
  report "cached (built concurrently)"
  exit 0
fi

build="$guest_cache/kernel-$hash.build"
rm -rf "$build" "$out.tmp"
mkdir -p "$build" "$out.tmp"
log="$out.tmp/build.log"
echo "build-kernel: building kernel-$hash (log: $log)"
# On failure keep only the log (as kernel-<hash>.failed.log), not gigabytes of tree.
trap 'status=$?
  if [[ $status != 0 ]]; then
    cp -f "$log" "$guest_cache/kernel-$hash.failed.log" 2> /dev/null &&
      echo "build-kernel: log kept in $guest_cache/kernel-$hash.failed.log" >&2
    rm -rf "$out.tmp"
    [[ "${KUML_KEEP_KERNEL_TREE:-0}" == 1 ]] || rm -rf "$build"
  fi' EXIT

echo "build-kernel: extracting $src_tar"
tar -xf "$src_tar" -C "$build"
tree="$build/linux-source-6.1"
[[ -f "$tree/Makefile" ]] || die "unexpected tarball layout: no linux-source-6.1/Makefile"

for p in "${patches[@]}"; do
  echo "build-kernel: applying $(basename "$p")"
  patch -d "$tree" -p1 --batch --forward --quiet < "$p" || die "patch $(basename "$p") does not apply"
done

make_args=(-C "$tree" ARCH=x86_64 KBUILD_BUILD_USER=kuml KBUILD_BUILD_HOST=kuml
           KBUILD_BUILD_TIMESTAMP="kuml-$hash")
if command -v ccache > /dev/null; then
  export CCACHE_DIR="$guest_cache/ccache" CCACHE_BASEDIR="$tree" CCACHE_NOHASHDIR=true
  make_args+=(CC="ccache gcc" HOSTCC="ccache gcc")
  echo "build-kernel: using ccache ($CCACHE_DIR)"
fi

allconfig="$build/allconfig"
cat "${fragments[@]}" > "$allconfig"
echo "build-kernel: configuring (allnoconfig + ${fragments[*]##*/})"
KCONFIG_ALLCONFIG="$allconfig" make "${make_args[@]}" allnoconfig >> "$log" 2>&1 ||
  { tail -n 30 "$log" >&2; die "configuration failed"; }

# Kconfig silently drops what it cannot satisfy: every line of the fragment must hold.
missing=$(awk '
  function parse(line,    m) {
    if (match(line, /^CONFIG_[A-Za-z0-9_]+=/)) {
      key = substr(line, 1, RLENGTH - 1); val = substr(line, RLENGTH + 1); return 1
    }
    if (line ~ /^# CONFIG_[A-Za-z0-9_]+ is not set$/) {
      split(line, m, " "); key = m[2]; val = "n"; return 1
    }
    return 0
  }
  FNR == NR { if (parse($0)) want[key] = val; next }
  { if (parse($0)) have[key] = val }
  END {
    for (k in want) {
      h = (k in have) ? have[k] : "n"
      if (h != want[k]) printf "  %s: wanted %s, got %s\n", k, want[k], h
    }
  }' "$allconfig" "$tree/.config")
if [[ -n "$missing" ]]; then
  echo "$missing" >&2
  die "the final .config does not hold these fragment lines (dependencies missing?)"
fi

echo "build-kernel: compiling with make -j$jobs (several minutes on a small machine)"
make "${make_args[@]}" -j"$jobs" bzImage >> "$log" 2>&1 ||
  { tail -n 40 "$log" >&2; die "kernel build failed"; }

# vmlinux is what kuml loads: keep the symbol table (RIPs in error reports), drop debug info
# -- except in the debug kernel, which keeps it and the kernel's gdb scripts beside it
# (gdb auto-loads vmlinux-gdb.py from vmlinux's directory once it is a safe path).
if [[ $debug == 1 ]]; then
  make "${make_args[@]}" scripts_gdb >> "$log" 2>&1 || die "make scripts_gdb failed"
  cp "$tree/vmlinux" "$out.tmp/vmlinux"
  mkdir -p "$out.tmp/scripts"
  cp -rL "$tree/scripts/gdb" "$out.tmp/scripts/gdb"
  cp -L "$tree/vmlinux-gdb.py" "$out.tmp/vmlinux-gdb.py"
else
  strip --strip-debug -o "$out.tmp/vmlinux" "$tree/vmlinux"
fi
cp "$tree/arch/x86/boot/bzImage" "$out.tmp/bzImage"
cp "$tree/.config" "$out.tmp/config"
cp "$tree/System.map" "$out.tmp/System.map"

# The PVH entry is announced by an ELF note: owner "Xen", type 18 (XEN_ELFNOTE_PHYS32_ENTRY).
readelf -n "$out.tmp/vmlinux" | awk '$1 == "Xen" && /\(0x00000012\)|PHYS32_ENTRY/ {found = 1}
  END {exit !found}' || die "vmlinux has no PVH (Xen PHYS32_ENTRY) note"

{
  echo "hash $hash"
  echo "source $src_tar $src_version"
  echo "compiler $(gcc --version | head -n1)"
  for f in "${fragments[@]}"; do echo "fragment $(basename "$f") $(sha256sum < "$f")"; done
  for p in "${patches[@]}"; do echo "patch $(basename "$p") $(sha256sum < "$p")"; done
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) in $(elapsed)s"
} > "$out.tmp/inputs"
touch "$out.tmp/done"

rm -rf "$out"
mv "$out.tmp" "$out"
if [[ "${KUML_KEEP_KERNEL_TREE:-0}" != 1 ]]; then
  rm -rf "$build"
fi
rm -f "$guest_cache/kernel-$hash.failed.log"
link_current
report "built"
}

main "$@"
