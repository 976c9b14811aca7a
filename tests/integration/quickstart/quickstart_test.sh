#!/usr/bin/env bash
# Runs examples/quickstart.sh --check against binaries that are already built (no apt, no build), in a temporary
# demo directory on free loopback ports. Registered with CTest by tests/integration/quickstart/CMakeLists.txt.
#   tests/integration/quickstart/quickstart_test.sh check BUILD_DIR   # the README's first command works
#   tests/integration/quickstart/quickstart_test.sh rerun BUILD_DIR   # a second run reuses token and store
set -euo pipefail
mode=$1
build=$(realpath "$2")
source_dir=$(cd "$(dirname "$0")/../../.." && pwd)

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The ports are picked here and handed over, so a test running alongside may take one first: the quickstart
# then says the port is in use or that the gateway did not start on it, and the run is repeated on other ports.
run_check() {
  for attempt in 1 2 3; do
    status=0
    MCPGATE_BUILD_DIR="$build" MCPGATE_DEMO_DIR="$work/demo" MCPGATE_PORT=$(free_port) \
      MCPGATE_ADMIN_PORT=$(free_port) MCPGATE_EXAMPLE_PORT=0 \
      "$source_dir/examples/quickstart.sh" --check --no-install --no-build 2>"$work/stderr" || status=$?
    cat "$work/stderr" >&2
    [ "$status" = 0 ] && return 0
    grep -qE 'is in use|did not start on port' "$work/stderr" || return "$status"
    echo "quickstart_test: port taken by another process, attempt $attempt; trying other ports" >&2
  done
  return 1
}

case "$mode" in
  check)
    run_check
    # The state the README describes: private files, only the token's digest in the config.
    for f in master.key demo-token store.db mcpgate.toml; do
      [ "$(stat -c %a "$work/demo/$f")" = 600 ] || { echo "FAIL: $f is not mode 0600" >&2; exit 1; }
    done
    token=$(cat "$work/demo/demo-token")
    if grep -qF "$token" "$work/demo/mcpgate.toml" "$work/demo/gateway.log"; then
      echo "FAIL: the demo token is in the config or the gateway log" >&2
      exit 1
    fi
    grep -q '^backend = "sqlite"' "$work/demo/mcpgate.toml" || { echo "FAIL: not the SQLite store" >&2; exit 1; }
    ;;
  rerun)
    run_check
    first_token=$(cat "$work/demo/demo-token")
    first_key=$(cat "$work/demo/master.key")
    run_check
    [ "$(cat "$work/demo/demo-token")" = "$first_token" ] || { echo "FAIL: the token changed" >&2; exit 1; }
    [ "$(cat "$work/demo/master.key")" = "$first_key" ] || { echo "FAIL: the master key changed" >&2; exit 1; }
    echo "rerun: same token, same master key, store still readable"
    ;;
  *)
    echo "usage: $0 check|rerun BUILD_DIR" >&2
    exit 2
    ;;
esac
