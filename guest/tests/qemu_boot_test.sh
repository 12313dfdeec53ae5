#!/bin/bash
# Slow test: guest/test-under-qemu.sh on the cached default guest (./setup.sh builds it).
# Bazel may give tests their own HOME, so the cache is looked up in the user's real home.
set -euo pipefail
export KUML_CACHE=${KUML_CACHE:-$(getent passwd "$(id -u)" | cut -d: -f6)/.cache/kuml}
script=${TEST_SRCDIR:-.}/kuml/guest/test-under-qemu.sh
[[ -x "$script" ]] || script=$(dirname "$0")/../test-under-qemu.sh
exec "$script" --timeout 120
