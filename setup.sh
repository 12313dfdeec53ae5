#!/bin/bash
# Sets up a fresh Debian 12 machine for kuml and builds everything:
#   1. the Debian packages kuml, its tests and its guest build need;
#   2. the VMM (Bazel, offline, system libraries) -> out/bin/;
#   3. the default guest: kernel (Debian's linux-source-6.1 + guest/) and a
#      busybox root_fs, cached in ${KUML_CACHE:-~/.cache/kuml}/guest/;
#   4. ./root_fs, a private copy of that root_fs for the README's run line
#      (UML's `linux` boots ./root_fs when given no ubd0=).
# Idempotent: a second run reuses every cached artifact and takes seconds.
#
# usage: ./setup.sh [--no-packages] [--no-guest]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
top=$PWD
install_packages=1
build_guest=1
for arg in "$@"; do
  case "$arg" in
    --no-packages) install_packages=0 ;;
    --no-guest) build_guest=0 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

log() { printf '\n== setup: %s\n' "$*"; }
start=$(date +%s)

# --- 1. packages ------------------------------------------------------------
# The VMM build and tests; the nested KVM test host (tests/kvmhost); the UML
# tools we interoperate with; plus what guest/*.sh declare in "# needs:".
packages=(
  bazel-bootstrap default-jdk-headless build-essential pkg-config git
  libabsl-dev libgrpc++-dev libprotobuf-dev protobuf-compiler
  protobuf-compiler-grpc libgtest-dev libgmock-dev libbenchmark-dev
  qemu-system-x86 linux-image-amd64 kmod cpio gzip bc
  uml-utilities user-mode-linux clang busybox-static e2fsprogs
  libslirp-dev libvdeplug-dev libpcap-dev vde2 iproute2 iputils-ping
  libseccomp-dev  # the VMM's sandbox (vmm/sandbox)
  slirp  # the real UML's slirp transport, beside kuml's (bench/net_vm_bench.sh)
  gdb  # the debugger kuml's gdb stub serves (tests/e2e/gdb_guest_test.sh)
  net-tools  # ifconfig, route, arp: what uml_net runs (tests/e2e/uml_net_test.sh)
)
# Node.js and npm (for the Node gRPC client test): machines may already carry
# a Node.js that bundles its own npm (e.g. nodesource's `nodejs`), which
# conflicts with Debian's `npm` package; ask Debian only for what is absent.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
for script in guest/*.sh tests/kvmhost/*.sh; do
  read -r -a needs <<< "$(sed -n 's/^# needs: //p' "$script" | head -n1)"
  packages+=("${needs[@]}")
done
if [ "$install_packages" = 1 ]; then
  missing=()
  for p in $(printf '%s\n' "${packages[@]}" | sort -u); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${#missing[@]} Debian packages: ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q \
      --no-install-recommends "${missing[@]}"
  else
    log "Debian packages: all present"
  fi
fi

# --- 1b. Node gRPC client libraries (tests/node), in the cache, not the tree --
node_dir=${KUML_CACHE:-$HOME/.cache/kuml}/node
if [ ! -d "$node_dir/node_modules/@grpc/grpc-js" ] ||
   [ ! -d "$node_dir/node_modules/@grpc/proto-loader" ]; then
  log "installing @grpc/grpc-js and @grpc/proto-loader into $node_dir"
  mkdir -p "$node_dir"
  npm install --no-audit --no-fund --prefix "$node_dir" \
    @grpc/grpc-js@1.10 @grpc/proto-loader@0.7
fi

# --- 2. the VMM ----------------------------------------------------------------
log "building the VMM (bazel)"
bazel build //cli:all
mkdir -p out/bin
bin_dir=$(bazel info bazel-bin 2>/dev/null)
for b in kuml umlctl kumld; do
  install -m 0755 "$bin_dir/cli/$b" "out/bin/$b"
done

# --- 3. the default guest ---------------------------------------------------
if [ "$build_guest" = 1 ]; then
  log "building the default guest kernel (cached)"
  guest/build-kernel.sh
  log "building the default root_fs (cached)"
  guest/build-rootfs.sh
  # The test image of a UML user's own root_fs (tests/e2e/debian_image_test).
  log "building the Debian test image (debootstrap, cached)"
  guest/build-debian-image.sh >/dev/null
  cache=${KUML_CACHE:-$HOME/.cache/kuml}
  if [ ! -e "$top/root_fs" ]; then
    cp --sparse=always "$cache/guest/root_fs" "$top/root_fs"
    log "copied the default root_fs to ./root_fs (yours to change)"
  fi
fi

log "done in $(( $(date +%s) - start )) s. Boot the default guest with:"
echo "    out/bin/kuml ubd0=root_fs mem=128M"
