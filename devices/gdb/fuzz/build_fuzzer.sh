#!/bin/bash
# needs: clang pkg-config libabsl-dev
# Builds the gdb stub's fuzzer (the packet decoder and the server over a
# fake target with real guest memory and page tables) with Debian's clang
# (libFuzzer + ASan + UBSan, UBSan fatal), outside Bazel:
#   devices/gdb/fuzz/build_fuzzer.sh <output binary> [<repo root>]
# Extra clang++ flags can be given in $FUZZ_CXXFLAGS (e.g. -O2).
set -euo pipefail
out=$1
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)
root=${2:-$(cd "$here/../../.." && pwd -P)}
command -v clang++ > /dev/null || { echo "clang++ not found (apt-get install clang)" >&2; exit 1; }
srcs="devices/gdb/fuzz/gdb_packet_fuzzer.cc
  devices/gdb/gdb_server.cc devices/gdb/gdb_packets.cc devices/gdb/hex.cc
  devices/gdb/register_layout.cc devices/gdb/rsp_packet.cc
  devices/gdb/target_description.cc
  devices/gdb/testing/fake_debug_target.cc
  vmm/guest_memory.cc vmm/paging/page_walk.cc
  vmm/paging/testing/page_table_builder.cc"
paths=()
for s in $srcs; do paths+=("$root/$s"); done
# shellcheck disable=SC2046,SC2086
clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
  -Wno-unused-command-line-argument ${FUZZ_CXXFLAGS:-} -I"$root" \
  "${paths[@]}" \
  $(pkg-config --cflags --libs absl_status absl_statusor absl_strings absl_str_format absl_synchronization) \
  -lpthread -o "$out"
