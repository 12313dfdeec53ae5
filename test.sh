#!/bin/bash
# The test command (README; .ci/run runs exactly this): sets up what is
# missing (./setup.sh, cached), then runs every test. Extra arguments go to
# `bazel test`, e.g. ./test.sh --config=nokvm (skip the tests that need a
# KVM) or ./test.sh --config=fast (skip the slow guest-kernel boots).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
./setup.sh
status=0
bazel test //... "$@" || status=$?
bazel shutdown >/dev/null 2>&1 || true
exit $status
