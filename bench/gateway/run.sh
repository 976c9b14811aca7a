#!/usr/bin/env bash
# Gateway benchmark: `mcpgate serve` in front of real upstreams on loopback, measured against the same upstream
# reached directly, interleaved round by round (direct, gateway, direct, gateway, ...) on one machine.
#   bench/gateway/run.sh                       # binaries from build/ (built there if missing)
#   bench/gateway/run.sh build-release         # another build directory
#   MCPGATE_BIN_DIR=/some/dir bench/gateway/run.sh   # prebuilt mcpgate + mcpgate_example_mcp_server in one dir
#   ROUNDS=7 DURATION=10s STREAMS=500 bench/gateway/run.sh
# 1. wrk POST JSON-RPC ping (ping.lua) to the example MCP server: req/s, p50, p99, gateway/direct ratios.
# 2. SSE flush-to-receipt latency (sse_upstream.py → sse_latency.py), direct vs through the gateway.
# 3. VmRSS and Threads of mcpgate idle and with STREAMS open SSE streams (sse_hold.py); the open-streams gauge
#    must return to 0 once they close.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-8s}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-16}
SSE_EVENTS=${SSE_EVENTS:-150}
STREAMS=${STREAMS:-1000}
HOLD_INTERVAL_MS=${HOLD_INTERVAL_MS:-1000}
PY=/usr/bin/python3

# Every open stream holds a socket to the client and one to the upstream in the gateway, plus ours.
ulimit -n 16384

source "$root/bench/lib.sh"
gateway_binaries "${1:-${MCPGATE_BUILD_DIR:-build}}"
# Machine-wide count of connections dropped at a full listen queue (a dropped SYN is retried after ~1 s).
listen_drops() { awk '$1 == "TcpExt:" && !h {for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next} $1 == "TcpExt:" {print $col["ListenDrops"]}' /proc/net/netstat; }
status_of() { awk '/^VmRSS/ {rss = $2} /^Threads/ {t = $2} END {printf "VmRSS %8.1f MiB   Threads %5d\n", rss / 1024, t}' "/proc/$1/status"; }

# Upstreams: the example MCP server (JSON-RPC) and the SSE timestamp streamer.
"$example" --port 0 >"$work/example.out" 2>"$work/example.log" &
pids+=($!)
mcp_port=$(wait_line "$work/example.out" "listening on" | sed -n 's|.*127.0.0.1:\([0-9]*\)/.*|\1|p')
"$PY" "$here/sse_upstream.py" >"$work/sse.out" 2>"$work/sse.log" &
pids+=($!)
sse_port=$(wait_line "$work/sse.out" "listening on" | sed -n 's|.*127.0.0.1:\([0-9]*\).*|\1|p')

# The gateway: one static token (configured by its SHA-256), a route to each upstream.
token="bench-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
digest=$(printf %s "$token" | sha256sum | cut -d' ' -f1)
gw_port=$(free_port)
admin_port=$(free_port)
# A key set for an issuer no request uses (the server needs one to advertise): the static token is what is used.
"$PY" - "$work/jwks.json" <<'PYTHON'
import base64, json, sys
from cryptography.hazmat.primitives.asymmetric import rsa
n = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers()
b = lambda i: base64.urlsafe_b64encode(i.to_bytes((i.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
json.dump({"keys": [{"kty": "RSA", "kid": "bench", "use": "sig", "alg": "RS256", "n": b(n.n), "e": b(n.e)}]},
          open(sys.argv[1], "w"))
PYTHON
cat >"$work/mcpgate.toml" <<TOML
[server]
public_url = "https://mcp.example.com/mcp"
listen_address = "127.0.0.1"
port = $gw_port
threads = $((STREAMS + 100))

[admin]
port = $admin_port

[[issuers]]
issuer = "https://as.example.org"
audiences = ["https://mcp.example.com/mcp"]
jwks_file = "$work/jwks.json"

[[static_tokens]]
name = "bench"
sha256 = "$digest"
scopes = ["mcp:read", "mcp:write"]

[[routes]]
prefix = "/mcp"
scopes = ["mcp:read", "mcp:write"]
upstream = "http://127.0.0.1:$mcp_port"

[[routes]]
prefix = "/sse"
scopes = ["mcp:read"]
upstream = "http://127.0.0.1:$sse_port"
TOML
"$mcpgate" serve --config "$work/mcpgate.toml" 2>"$work/gateway.log" &
gw_pid=$!
pids+=($gw_pid)
wait_port "$gw_port" || { cat "$work/gateway.log" >&2; exit 1; }
wait_port "$admin_port"
for _ in $(seq 1 250); do  # the worker pool starts its threads in the background: read "idle" once it has
  (($(awk '/^Threads/ {print $2}' "/proc/$gw_pid/status") >= STREAMS + 100)) && break
  sleep 0.02
done

echo "== machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== mcpgate: $mcpgate"
echo "== gateway idle at start: $(status_of "$gw_pid")   ([server] threads = $((STREAMS + 100)))"

# One MCP session, opened through the gateway (so it is bound to the bench token), used by both targets.
session=$(curl -sS -D - -o /dev/null -X POST "http://127.0.0.1:$gw_port/mcp" \
  -H "Authorization: Bearer $token" -H "Content-Type: application/json" -H "Accept: application/json" \
  --data '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}' |
  tr -d '\r' | awk -F': ' 'tolower($1) == "mcp-session-id" {print $2}')
[[ -n $session ]] || { echo "initialize through the gateway gave no Mcp-Session-Id" >&2; exit 1; }

echo
echo "== 1. POST ping: wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$DURATION --latency, $ROUNDS interleaved rounds"
mkdir -p "$work/wrk"
ping() {  # $1 = output file, $2 = URL, $3 = token ("" for none)
  local before
  before=$(listen_drops)
  MCP_SESSION_ID=$session BENCH_TOKEN=$3 wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$DURATION" --latency \
    -s "$here/ping.lua" "$2" >"$1"
  echo "ListenDrops: $(($(listen_drops) - before))" >>"$1"
}
for r in $(seq 1 "$ROUNDS"); do
  ping "$work/wrk/direct-$r.txt" "http://127.0.0.1:$mcp_port/mcp" ""
  ping "$work/wrk/gateway-$r.txt" "http://127.0.0.1:$gw_port/mcp" "$token"
done
"$PY" "$here/wrk_summary.py" "$work/wrk" || echo "(a run had non-2xx responses: see its row)"

echo
echo "== 2. SSE flush-to-receipt latency, one event every 20 ms, $ROUNDS interleaved rounds x $SSE_EVENTS events"
"$PY" "$here/sse_latency.py" --direct "http://127.0.0.1:$sse_port/sse" --gateway "http://127.0.0.1:$gw_port/sse" \
  --token "$token" --rounds "$ROUNDS" --events "$SSE_EVENTS"

echo
echo "== 3. $STREAMS open SSE streams through the gateway (one event per stream every $HOLD_INTERVAL_MS ms)"
"$PY" "$here/sse_hold.py" --url "http://127.0.0.1:$gw_port/sse?interval_ms=$HOLD_INTERVAL_MS" --token "$token" \
  --pid "$gw_pid" --metrics "http://127.0.0.1:$admin_port/metrics" --streams "$STREAMS"
