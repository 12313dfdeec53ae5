#!/bin/bash
# Builds the initramfs of the nested KVM host (see with-kvm.sh): static
# busybox, the KVM and 9p modules of the installed Debian kernel, and an init
# that runs one command from the host's file system with /dev/kvm available.
#
# usage: build-initramfs.sh <kernel release> <output initramfs>
# needs: linux-image-amd64 busybox-static cpio gzip kmod
set -euo pipefail
# modinfo lives in /usr/sbin, which Bazel's strict test PATH leaves out.
export PATH=$PATH:/usr/sbin:/sbin
release=$1
out=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,mods,proc,sys,dev,host,ctl,tmp}
cp /bin/busybox "$stage/bin/busybox"
# Modules in dependency order (modinfo -F depends); kvm-amd needs ccp for SEV.
modules="irqbypass ccp kvm kvm-amd kvm-intel virtio_ring virtio
  virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet
  9pnet_virtio 9p"
: > "$stage/mods/order"
for m in $modules; do
  f=$(modinfo -k "$release" -F filename "$m" 2>/dev/null || true)
  case "$f" in
    "" ) echo "build-initramfs: module $m not found for kernel $release" >&2
         exit 1 ;;
    \(builtin\)) continue ;;
  esac
  base=$(basename "$f")
  case "$base" in
    *.ko.xz) xz -dc "$f" > "$stage/mods/${base%.xz}"; base=${base%.xz} ;;
    *.ko.zst) zstd -qdc "$f" > "$stage/mods/${base%.zst}"; base=${base%.zst} ;;
    *) cp "$f" "$stage/mods/$base" ;;
  esac
  echo "$base" >> "$stage/mods/order"
done
cp "$here/nested-init.sh" "$stage/init"
chmod +x "$stage/init"
(cd "$stage" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
