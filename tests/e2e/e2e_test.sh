#!/usr/bin/env bash
# Starts the example MCP server and `mcpgate serve` (static token, routes /mcp) on free loopback ports, then runs
# the official MCP TypeScript SDK client (client_test.mjs) through the gateway. Registered with CTest by
# tests/e2e/CMakeLists.txt; node_modules come from `npm ci --prefix tests/e2e` (.ci/install-deps).
#   tests/e2e/e2e_test.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath "$1")
mcpgate="$build/src/cli/mcpgate"
example="$build/examples/mcp-server/mcpgate_example_mcp_server"

if [ ! -d "$here/node_modules/@modelcontextprotocol/sdk" ]; then
  echo "FAIL: $here/node_modules is missing: run .ci/install-deps (npm ci --prefix tests/e2e)" >&2
  exit 1
fi
command -v node >/dev/null || { echo "FAIL: node is not installed: run .ci/install-deps" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log; do echo "--- $f" >&2; cat "$f" >&2; done
  exit 1
}
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

: >"$work/example.log"
"$example" --port 0 >"$work/example.log" 2>&1 &
pids+=($!)
upstream=""
for _ in $(seq 100); do
  upstream=$(sed -n 's|^listening on \(http://[^ ]*\)$|\1|p' "$work/example.log")
  [ -n "$upstream" ] && break
  sleep 0.1
done
[ -n "$upstream" ] || fail "the example MCP server did not start"

token=$("$mcpgate" token new --name e2e-client --scopes mcp:read | awk '/^  mcpg_/ {print $1}')
[ -n "$token" ] || fail "mcpgate token new printed no token"
sha256=$(printf '%s\n' "$token" | "$mcpgate" token hash)
subject="e2e-subject"
# An authorization server for the RFC 9728 metadata; its key set is a public key nobody holds the private half of.
modulus=$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null | openssl rsa -noout -modulus |
  sed 's/^Modulus=//')
python3 -c 'import base64, json, sys
n = int(sys.argv[1], 16)
b64 = base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
print(json.dumps({"keys": [{"kty": "RSA", "kid": "k", "use": "sig", "alg": "RS256", "n": b64, "e": "AQAB"}]}))' \
  "$modulus" >"$work/jwks.json"

# The gateway's port is in its public URL (the SDK follows resource_metadata there), so it is picked here, not
# bound as port 0. Should another test take it first, serve exits ("cannot listen") and another port is tried;
# serve logs "listening" only once it holds the port.
write_config() {
  cat >"$work/mcpgate.toml" <<CONF
[server]
public_url = "http://127.0.0.1:$port/mcp"
port = $port

[admin]
enabled = false

[[issuers]]
issuer = "https://authorization-server.invalid"
audiences = ["http://127.0.0.1:$port/mcp"]
jwks_file = "$work/jwks.json"

[[static_tokens]]
name = "e2e-client"
subject = "$subject"
sha256 = "$sha256"
scopes = ["mcp:read"]

[[routes]]
prefix = "/mcp"
scopes = ["mcp:read"]
upstream = "$upstream"
CONF
}
gateway=""
for _ in 1 2 3; do
  port=$(free_port)
  write_config
  "$mcpgate" serve --config "$work/mcpgate.toml" 2>"$work/gateway.log" &
  gateway=$!
  pids+=("$gateway")
  for _ in $(seq 200); do
    grep -q '"msg":"listening"' "$work/gateway.log" && break
    kill -0 "$gateway" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '"msg":"listening"' "$work/gateway.log" && kill -0 "$gateway" 2>/dev/null && break
  wait "$gateway" 2>/dev/null || true
  pids=("${pids[0]}")
  gateway=""
done
[ -n "$gateway" ] && listening "$port" || fail "mcpgate serve did not listen"

MCPGATE_E2E_URL="http://127.0.0.1:$port/mcp" MCPGATE_E2E_TOKEN="$token" MCPGATE_E2E_SUBJECT="$subject" \
  timeout 60 node "$here/client_test.mjs" || fail "the SDK client failed (exit $?)"
kill -TERM "$gateway" 2>/dev/null || true
status=0
wait "$gateway" || status=$?
pids=("${pids[0]}")
[ "$status" = 0 ] || fail "mcpgate serve exited $status on SIGTERM"
if grep -qF "$token" "$work/gateway.log"; then fail "the token reached the gateway log"; fi
