#!/bin/bash
# A Node gRPC client (@grpc/grpc-js, proto loaded at run time) against
# kuml's MConsole service over a fake guest: every RPC, its errors and
# uml-err trailers, server reflection.
set -uo pipefail
here=$TEST_SRCDIR/kuml
source "$here/tests/node/node_env.sh"
dir=$(mktemp -d /tmp/kuml-node-XXXXXX)
trap 'exec 3>&-; rm -rf "$dir"' EXIT
coproc server { "$here/mconsole/fake_mconsole_server" "$dir" nodeguest; }
exec 3>&"${server[1]}"
read -r -t 30 line <&"${server[0]}" || { echo "FAIL: server did not start" >&2; exit 1; }
[ "$line" = ready ] || { echo "FAIL: server said '$line'" >&2; exit 1; }
"$node_bin" "$here/tests/node/mconsole_client.js" "$dir/nodeguest/grpc" \
  "$here/proto/kuml.proto" "$here/tests/node/reflection_min.proto" fake || exit 1
