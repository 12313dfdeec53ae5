# Sourced by the fuzz scripts: the fuzz targets and their input size limits.
# A target <t> is tests/fuzz/<t>_fuzzer.cc; build_fuzzer.sh knows what it
# links; its seeds are in corpus/<t>/ (make_seeds.py).
# shellcheck shell=bash
FUZZ_TARGETS="virtqueue mmio_blk virtio_console virtio_net uart mconsole_wire
agent_frames cmdline manifest cow_disk"

# -max_len for target $1: the largest input worth generating.
fuzz_max_len() {
  case "$1" in
    agent_frames) echo 16384 ;;  # several frames; a socket takes it unread
    cow_disk) echo 20000 ;;      # a v3 header is 4128 bytes, then bitmap, data
    mconsole_wire | virtio_net) echo 8192 ;;
    *) echo 4096 ;;
  esac
}
