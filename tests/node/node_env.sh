# Sourced by tests: points NODE_PATH at the @grpc/grpc-js and
# @grpc/proto-loader that ./setup.sh installs into the kuml cache (never into
# the checkout), and fails loudly when they are missing.
real_home=$(getent passwd "$(id -u)" | cut -d: -f6)
node_cache=${KUML_CACHE:-${real_home:-/root}/.cache/kuml}/node
export NODE_PATH=$node_cache/node_modules
node_bin=$(command -v node) || { echo "FAIL: node not found (apt-get install nodejs)" >&2; exit 1; }
[ -d "$NODE_PATH/@grpc/grpc-js" ] && [ -d "$NODE_PATH/@grpc/proto-loader" ] || {
  echo "FAIL: @grpc/grpc-js or @grpc/proto-loader missing in $NODE_PATH: run ./setup.sh" >&2
  exit 1
}
