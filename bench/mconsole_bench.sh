#!/bin/bash
# mconsole figures: `version` round trips through both doors, then
# stop-to-parked on the counter payload (where a KVM is).
# usage: bench/mconsole_bench.sh <mconsole_bench binary> <payloads dir>
set -euo pipefail
bench=$1
payloads=$2
"$bench" doors 2000
"$bench" stop "$payloads/counter.bin" 200
