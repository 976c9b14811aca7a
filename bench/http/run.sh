#!/usr/bin/env bash
# Throughput of the HTTP surface with wrk: `mcpgate serve` answering forward-auth (GET /auth) and the embedded
# example (a Guard on cpp-httplib) answering POST /mcp, both with a valid static bearer token.
#   bench/http/run.sh                 # Release build in build-bench-http, then 2 × wrk -t2 -c32 -d10s --latency
#   THREADS=16 bench/http/run.sh      # fewer workers than connections: see the p99 tail it makes
#   DURATION=30s bench/http/run.sh
# Prints req/s, p50 and p99 per endpoint; fails if any response was not 2xx (the token must be accepted).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10s}
# Worker threads of each server. cpp-httplib gives each kept-alive connection a worker for as long as it stays
# open: with fewer threads than wrk connections (-c32), the connections left waiting make the p99 tail.
THREADS=${THREADS:-64}
cmake -S . -B build-bench-http -G Ninja -DCMAKE_BUILD_TYPE=Release -DMCPGATE_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench-http -j2 --target mcpgate mcpgate_embedded_example

source bench/lib.sh  # $work, pids, free_port, wait_port
token="bench-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
digest=$(printf %s "$token" | sha256sum | cut -d' ' -f1)
# A key set for an issuer no request uses: the static token is the credential being measured.
/usr/bin/python3 - "$work/jwks.json" <<'PY'
import json, sys, base64
from cryptography.hazmat.primitives.asymmetric import rsa
n = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers()
b = lambda i: base64.urlsafe_b64encode(i.to_bytes((i.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
json.dump({"keys": [{"kty": "RSA", "kid": "bench", "use": "sig", "alg": "RS256", "n": b(n.n), "e": b(n.e)}]},
          open(sys.argv[1], "w"))
PY
write_config() {  # $1 = file, $2 = port
  cat >"$1" <<TOML
[server]
public_url = "https://mcp.example.com/mcp"
listen_address = "127.0.0.1"
port = $2
threads = $THREADS
forward_auth_path = "/auth"
trusted_proxies = ["127.0.0.1"]

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

[admin]
enabled = false
TOML
}
serve_port=$(free_port)
write_config "$work/serve.toml" "$serve_port"
build-bench-http/src/cli/mcpgate serve --config "$work/serve.toml" 2>"$work/serve.log" &
pids+=($!)
example_port=$(free_port)
write_config "$work/example.toml" "$example_port"
build-bench-http/examples/embedded/mcpgate_embedded_example "$work/example.toml" 2>"$work/example.log" &
pids+=($!)
wait_port "$serve_port"
wait_port "$example_port"

cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"whoami"}'
wrk.headers["Content-Type"] = "application/json"
LUA

run() {  # $1 = label, rest = wrk arguments
  local label=$1
  shift
  local out
  out=$(wrk -t2 -c32 -d"$DURATION" --latency -H "Authorization: Bearer $token" "$@")
  if grep -q "Non-2xx" <<<"$out"; then
    echo "$label: some responses were not 2xx" >&2
    echo "$out" >&2
    return 1
  fi
  printf '%-44s %10s req/s   p50 %8s   p99 %8s\n' "$label" \
    "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")" \
    "$(awk '$1 == "50%" {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")"
}
run "mcpgate serve: GET /auth (forward-auth)" -H "X-Original-Method: POST" \
  "http://127.0.0.1:$serve_port/auth/mcp"
run "embedded example: POST /mcp (Guard + handler)" -s "$work/post.lua" "http://127.0.0.1:$example_port/mcp"
