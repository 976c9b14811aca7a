#!/usr/bin/env bash
# End-to-end test of the MCP-aware authorization ([[routes.rules]]) with the official MCP TypeScript SDK client.
# Starts, on free loopback ports: the example MCP server behind a recording pass-through (upstream_recorder.mjs, so
# the client test can prove a refused call never reached the server), a fake Stytch project (fake_stytch.mjs: DCR,
# PKCE authorize, token endpoint, JWKS) and `mcpgate serve` with [stytch] pointing at it, two static tokens and one
# MCP route with rules; then runs the given client test with node. Registered with CTest by tests/e2e/CMakeLists.txt.
#   tests/e2e/rules_test.sh BUILD_DIR rules_client_test.mjs|oauth_step_up_test.mjs
# The route (the example server knows echo, whoami, countdown):
#   scopes mcp:read; countdown is denied to everyone; echo needs mcp:write; whoami needs the route's scope only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath "$1")
client="$here/$2"
mcpgate="$build/src/cli/mcpgate"
example="$build/examples/mcp-server/mcpgate_example_mcp_server"

if [ ! -d "$here/node_modules/@modelcontextprotocol/sdk" ]; then
  echo "FAIL: $here/node_modules is missing: run .ci/install-deps (npm ci --prefix tests/e2e)" >&2
  exit 1
fi
command -v node >/dev/null || { echo "FAIL: node is not installed: run .ci/install-deps" >&2; exit 1; }
[ -f "$client" ] || { echo "FAIL: no client test $client" >&2; exit 1; }

# shellcheck source=../lib.sh
source "$here/lib.sh"

"$example" --port 0 >"$work/example.log" 2>&1 &
pids+=($!)
example_url=$(wait_for "$work/example.log" 's|^listening on \(http://[^ ]*\)/mcp$|\1|p')
[ -n "$example_url" ] || fail "the example MCP server did not start"

node "$here/upstream_recorder.mjs" "$example_url" >"$work/recorder.log" 2>&1 &
pids+=($!)
recorder=$(wait_for "$work/recorder.log" 's|^listening on \(http://[^ ]*\)$|\1|p')
[ -n "$recorder" ] || fail "the recording upstream did not start"

node "$here/fake_stytch.mjs" >"$work/stytch.log" 2>&1 &
pids+=($!)
stytch_json=$(wait_for "$work/stytch.log" '/^{.*"url"/p')
[ -n "$stytch_json" ] || fail "the fake Stytch did not start"
stytch_url=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["url"])' "$stytch_json")
project_id=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["project_id"])' "$stytch_json")

reader=$(new_token e2e-reader mcp:read)
writer=$(new_token e2e-writer mcp:read,mcp:write)
[ -n "$reader" ] && [ -n "$writer" ] || fail "mcpgate token new printed no token"
reader_sha=$(printf '%s\n' "$reader" | "$mcpgate" token hash)
writer_sha=$(printf '%s\n' "$writer" | "$mcpgate" token hash)

# The gateway's port is in its public URL (the SDK follows resource_metadata there), so it is picked here, not
# bound as port 0; should another process take it first, serve exits and another port is tried.
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
name = "e2e-reader"
subject = "e2e-reader-subject"
sha256 = "$reader_sha"
scopes = ["mcp:read"]

[[static_tokens]]
name = "e2e-writer"
subject = "e2e-writer-subject"
sha256 = "$writer_sha"
scopes = ["mcp:read", "mcp:write"]

[[routes]]
prefix = "/mcp"
scopes = ["mcp:read"]
upstream = "$recorder"

[[routes.rules]]
name = "no-countdown"
method = "tools/call"
target = "countdown"
deny = true

[[routes.rules]]
name = "echo-writes"
method = "tools/call"
target = "echo"
scopes = ["mcp:write"]
CONF
}
start_gateway

MCPGATE_E2E_URL="http://127.0.0.1:$port/mcp" MCPGATE_E2E_READER_TOKEN="$reader" MCPGATE_E2E_WRITER_TOKEN="$writer" \
  MCPGATE_E2E_RECORDER="$recorder" MCPGATE_E2E_STYTCH="$stytch_url" MCPGATE_E2E_GATEWAY_LOG="$work/gateway.log" \
  timeout 90 node "$client" || fail "$(basename "$client") failed"
stop_gateway "$reader" "$writer"
