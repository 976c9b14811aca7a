# bench/lib.sh — what every benchmark script needs, sourced after `set -euo pipefail`:
#   source "$root/bench/lib.sh"
#   "$server" ... & pids+=($!)        # every background process it starts; all are stopped on exit
#   port=$(free_port); wait_port "$port"; line=$(wait_line "$work/out" "listening on")
#   gateway_binaries build             # sets $mcpgate and $example (built there when missing)
# $work is a fresh temporary directory, removed on exit.
work=$(mktemp -d)
pids=()
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap bench_cleanup EXIT

# Sets $mcpgate and $example (the example MCP server): from $MCPGATE_BIN_DIR when set, else from build directory $1
# (relative to the repository root), building the two targets there when either is missing.
gateway_binaries() {
  local root build
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  build=$1
  [[ $build = /* ]] || build=$root/$build
  if [[ -n ${MCPGATE_BIN_DIR:-} ]]; then
    mcpgate=$MCPGATE_BIN_DIR/mcpgate
    example=$MCPGATE_BIN_DIR/mcpgate_example_mcp_server
    return
  fi
  mcpgate=$build/src/cli/mcpgate
  example=$build/examples/mcp-server/mcpgate_example_mcp_server
  if [[ ! -x $mcpgate || ! -x $example ]]; then
    [[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" -G Ninja >/dev/null
    cmake --build "$build" -j2 --target mcpgate mcpgate_example_mcp_server
  fi
}

# A loopback TCP port nobody listens on right now.
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits (at most 20 s) until 127.0.0.1:$1 accepts a connection.
wait_port() {
  for _ in $(seq 1 1000); do
    (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.02
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}
# Prints the first line of file $1 matching pattern $2, waiting at most 20 s for it.
wait_line() {
  for _ in $(seq 1 1000); do
    grep -m1 "$2" "$1" 2>/dev/null && return 0
    sleep 0.02
  done
  echo "no '$2' in $1" >&2
  return 1
}
