#!/usr/bin/env bash
# Gateway requests per second with a service token injected from the encrypted SQLite store vs without, same
# upstream (the example MCP server), same gateway process, interleaved round by round.
#   bench/gateway/secret_injection.sh                 # binaries from build/
#   ROUNDS=5 DURATION=8s bench/gateway/secret_injection.sh build-release
# Route /plain forwards as is; route /secret adds `X-Service-Token: {secret:bench/api_token}` (resolved through the
# store, cached in memory for [store] cache_ttl). Prints req/s per round and min/median/max of secret/plain.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-6s}
PY=/usr/bin/python3
source "$root/bench/lib.sh"  # $work, pids, free_port, wait_port, wait_line, gateway_binaries
gateway_binaries "${1:-${MCPGATE_BUILD_DIR:-build}}"

"$example" --port 0 >"$work/example.out" 2>"$work/example.log" &
pids+=($!)
mcp_port=$(wait_line "$work/example.out" "listening on" | sed -n 's|.*127.0.0.1:\([0-9]*\)/.*|\1|p')

"$mcpgate" secrets keygen >"$work/master.key"
chmod 600 "$work/master.key"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/service-token"
"$mcpgate" secrets put bench api_token --store "sqlite:$work/store.db" --key-file "$work/master.key" \
  <"$work/service-token" >/dev/null
token="bench-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
digest=$(printf %s "$token" | sha256sum | cut -d' ' -f1)
gw_port=$(free_port)
cat >"$work/mcpgate.toml" <<TOML
[server]
public_url = "http://127.0.0.1:$gw_port/plain"
port = $gw_port
threads = 64
[admin]
enabled = false
[gateway]
access_log = false
[store]
backend = "sqlite"
path = "$work/store.db"
key_file = "$work/master.key"
[[static_tokens]]
name = "bench"
sha256 = "$digest"
scopes = ["mcp:read"]
[[routes]]
prefix = "/plain"
upstream = "http://127.0.0.1:$mcp_port/mcp"
[[routes]]
prefix = "/secret"
upstream = "http://127.0.0.1:$mcp_port/mcp"
inject_headers = { X-Service-Token = "{secret:bench/api_token}" }
TOML
"$mcpgate" serve --config "$work/mcpgate.toml" 2>"$work/gateway.log" &
pids+=($!)
wait_port "$gw_port"
session=$(curl -sS -D - -o /dev/null -X POST "http://127.0.0.1:$gw_port/plain" \
  -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -H 'Accept: application/json' \
  --data '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}' |
  tr -d '\r' | awk -F': ' 'tolower($1) == "mcp-session-id" {print $2}')
[[ -n $session ]] || { echo "initialize gave no Mcp-Session-Id" >&2; cat "$work/gateway.log" >&2; exit 1; }
rps() {
  MCP_SESSION_ID=$session BENCH_TOKEN=$token wrk -t2 -c16 -d"$DURATION" -s "$here/ping.lua" "$1" |
    awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "non-2xx " $0 > "/dev/stderr"}'
}
echo "round  plain req/s  secret req/s  secret/plain"
ratios=()
for r in $(seq 1 "$ROUNDS"); do
  p=$(rps "http://127.0.0.1:$gw_port/plain")
  s=$(rps "http://127.0.0.1:$gw_port/secret")
  ratio=$("$PY" -c "print(f'{$s/$p:.3f}')")
  ratios+=("$ratio")
  printf '%-6s %11s  %12s  %12s\n' "$r" "$p" "$s" "$ratio"
done
"$PY" -c 'import statistics, sys; r = [float(x) for x in sys.argv[1:]]; print(f"secret/plain min {min(r):.3f}  median {statistics.median(r):.3f}  max {max(r):.3f}")' "${ratios[@]}"
