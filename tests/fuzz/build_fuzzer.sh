#!/bin/bash
# needs: clang pkg-config libabsl-dev (manifest: protobuf-compiler libprotobuf-dev)
# Builds one libFuzzer target with Debian's clang (libFuzzer + ASan + UBSan,
# UBSan fatal), outside Bazel, linking the .cc files it needs directly:
#   tests/fuzz/build_fuzzer.sh <target> <output binary> [<repo root>]
# Targets: FUZZ_TARGETS in targets.sh (see README.md). Extra clang++ flags
# can be given in $FUZZ_CXXFLAGS (e.g. -O2).
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)
# shellcheck source=targets.sh
source "$here/targets.sh"
TARGETS=$FUZZ_TARGETS
if [ $# -lt 2 ]; then
  echo "usage: $0 <target> <output binary> [<repo root>]" >&2
  echo "targets: $(echo $TARGETS)" >&2
  exit 2
fi
target=$1
out=$2
root=${3:-$(cd "$here/../.." && pwd -P)}
command -v clang++ > /dev/null || { echo "clang++ not found (apt-get install clang)" >&2; exit 1; }

absl="absl_status absl_statusor absl_strings absl_str_format absl_synchronization absl_time"
# The whole command-line library (every frontend/*.cc but the tests: one
# library in frontend/BUILD), so a new file there needs no edit here.
frontend="$(cd "$root" && ls frontend/*.cc | grep -v '_test\.cc$' | tr '\n' ' ')
  util/net_address.cc"
virtio_core="devices/virtio/virtqueue.cc devices/virtio/descriptor_chain.cc
  vmm/guest_memory.cc"
disk="disk/cow_format.cc disk/cow_disk.cc disk/cow_open.cc disk/cow_merge.cc
  disk/cow_create.cc disk/host_file.cc disk/raw_file_backend.cc
  disk/ubd_open.cc util/file_io.cc util/file_lock.cc"
extra_flags=()
gen=""
case "$target" in
  virtqueue)      srcs="$virtio_core" ;;
  mmio_blk)       srcs="$virtio_core devices/virtio/mmio_transport.cc devices/virtio/block_device.cc" ;;
  virtio_console) srcs="$virtio_core devices/virtio/mmio_transport.cc devices/virtio/console_device.cc" ;;
  virtio_net)     srcs="$virtio_core devices/virtio/mmio_transport.cc devices/virtio/net_device.cc vmm/event_loop.cc" ;;
  uart)           srcs="devices/serial/uart_8250.cc" ;;
  mconsole_wire)  srcs="mconsole/wire.cc mconsole/command_core.cc $frontend" ;;
  agent_frames)   srcs="machine/stream_agent_client.cc" ;;
  cmdline)        srcs="$frontend" ;;
  manifest)
    srcs="kumld/manifest.cc $frontend"
    command -v protoc > /dev/null || { echo "protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
    gen=$(mktemp -d)
    trap 'rm -rf "$gen"' EXIT
    mkdir -p "$gen/proto"
    protoc --proto_path="$root" --cpp_out="$gen" "$root/proto/host.proto"
    extra_flags+=(-I"$gen" "$gen/proto/host.pb.cc")
    absl="$absl protobuf"
    ;;
  cow_disk)       srcs="$disk" ;;
  *) echo "unknown target '$target' (targets: $(echo $TARGETS))" >&2; exit 2 ;;
esac

paths=()
for s in $srcs; do paths+=("$root/$s"); done
# shellcheck disable=SC2046,SC2086
clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
  -Wno-unused-command-line-argument ${FUZZ_CXXFLAGS:-} -I"$root" \
  "$root/tests/fuzz/${target}_fuzzer.cc" "${paths[@]}" "${extra_flags[@]}" \
  $(pkg-config --cflags --libs $absl) -lpthread \
  -o "$out"
