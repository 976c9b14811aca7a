#!/usr/bin/env bash
# The README's first command: installs the Debian dependencies, builds mcpgate and the bundled example MCP server,
# then runs `mcpgate serve` in front of that server on http://127.0.0.1:8080/mcp with the SQLite token store and
# a demo static token, and prints the token with a curl line and a `claude mcp add` line that work as printed.
# Ctrl-C stops the gateway and the example server.
#   examples/quickstart.sh                    # install, build in build/, serve until Ctrl-C
#   examples/quickstart.sh --check            # same set-up, then initialize + tools/call whoami, stop, exit 0/1
#   examples/quickstart.sh --no-install       # skip .ci/install-deps (the packages are already there)
#   examples/quickstart.sh --no-build         # use the binaries already built in MCPGATE_BUILD_DIR
# Environment: MCPGATE_BUILD_DIR (build), MCPGATE_DEMO_DIR ($HOME/.mcpgate-demo: master key, store, token,
# config), MCPGATE_PORT (8080), MCPGATE_ADMIN_PORT (9090), MCPGATE_EXAMPLE_PORT (3000, or any free port when
# 3000 is taken). With MCPGATE_STYTCH_PROJECT_ID and MCPGATE_STYTCH_DOMAIN set, Stytch tokens are accepted too.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0 install=1 build_it=1
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    --no-install) install=0 ;;
    --no-build) build_it=0 ;;
    -h | --help)
      sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "quickstart.sh: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

build=${MCPGATE_BUILD_DIR:-build}
demo=${MCPGATE_DEMO_DIR:-$HOME/.mcpgate-demo}
port=${MCPGATE_PORT:-8080}
admin_port=${MCPGATE_ADMIN_PORT:-9090}
mcpgate="$build/src/cli/mcpgate"
example="$build/examples/mcp-server/mcpgate_example_mcp_server"

# -- dependencies and build ---------------------------------------------------------------------------------
if ((install)); then .ci/install-deps; fi
if ((build_it)); then
  cmake -S . -B "$build" -G Ninja >/dev/null
  cmake --build "$build" -j"$(nproc)" --target mcpgate mcpgate_example_mcp_server
fi
for bin in "$mcpgate" "$example"; do
  [ -x "$bin" ] || { echo "quickstart.sh: $bin is missing (build it, or drop --no-build)" >&2; exit 1; }
done
mcpgate=$(realpath "$mcpgate")
example=$(realpath "$example")

# -- the demo's state: master key, SQLite store, demo tokens, config ----------------------------------------
mkdir -p "$demo"
chmod 700 "$demo"
demo=$(realpath "$demo")
umask 077
key_file="$demo/master.key"
store="$demo/store.db"
token_file="$demo/demo-token"
config="$demo/mcpgate.toml"

# The master key encrypts the store; it never goes into the config file.
[ -s "$key_file" ] || "$mcpgate" secrets keygen --id demo >"$key_file"

# A service token the upstream "needs": kept encrypted in the store, injected by the route as a header.
if ! "$mcpgate" secrets get demo api_token --store "sqlite:$store" --key-file "$key_file" >/dev/null 2>&1; then
  openssl rand -hex 24 | "$mcpgate" secrets put demo api_token --store "sqlite:$store" \
    --key-file "$key_file" >/dev/null
fi

# The demo static token: created once (only its SHA-256 goes into the config), reused by later runs.
if [ ! -s "$token_file" ]; then
  "$mcpgate" token new --name demo --scopes mcp:read | awk '/^  mcpg_/ {print $1}' >"$token_file"
fi
token=$(cat "$token_file")
[ -n "$token" ] || { echo "quickstart.sh: $token_file is empty; delete it and run again" >&2; exit 1; }
token_sha256=$(printf '%s\n' "$token" | "$mcpgate" token hash)

# Stytch is on when both variables are set (the MCPGATE_STYTCH_* environment overrides fill [stytch]). Without
# it the gateway takes the static token only, and serves no OAuth discovery document.
stytch_on=0
if [ -n "${MCPGATE_STYTCH_PROJECT_ID:-}" ] && [ -n "${MCPGATE_STYTCH_DOMAIN:-}" ]; then stytch_on=1; fi

# -- the example MCP server -----------------------------------------------------------------------------------
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
example_port=${MCPGATE_EXAMPLE_PORT:-3000}
if [ -z "${MCPGATE_EXAMPLE_PORT:-}" ] && listening 3000; then example_port=0; fi

pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

: >"$demo/example.log"
"$example" --port "$example_port" >"$demo/example.log" 2>&1 &
pids+=($!)
upstream=""
for _ in $(seq 100); do  # up to 10 s
  upstream=$(sed -n 's|^listening on \(http://[^ ]*\)$|\1|p' "$demo/example.log")
  [ -n "$upstream" ] && break
  kill -0 "${pids[0]}" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$upstream" ]; then
  echo "quickstart.sh: the example MCP server did not start:" >&2
  cat "$demo/example.log" >&2
  exit 1
fi

# -- the configuration (an embedded default, written on every run) ------------------------------------------
cat >"$config" <<EOF
# Written by examples/quickstart.sh on every run; edit the script (or copy this file) to change it.
[server]
public_url = "http://127.0.0.1:$port/mcp"
listen_address = "127.0.0.1"
port = $port

[admin]
listen_address = "127.0.0.1"
port = $admin_port

[store]
backend = "sqlite"
path = "$store"
key_file = "$key_file"

# The demo token (the token itself is in $token_file).
[[static_tokens]]
name = "demo"
sha256 = "$token_sha256"
scopes = ["mcp:read"]


# Every authenticated caller reaches the example server; the service token comes from the encrypted store.
[[routes]]
prefix = "/mcp"
upstream = "$upstream"
inject_headers = { X-Demo-Service-Token = "{secret:demo/api_token}" }
EOF

# -- the gateway ----------------------------------------------------------------------------------------------
url="http://127.0.0.1:$port/mcp"
for p in "$port" "$admin_port"; do
  if listening "$p"; then
    echo "quickstart.sh: port $p is in use (MCPGATE_PORT / MCPGATE_ADMIN_PORT pick others)" >&2
    exit 1
  fi
done
if ((check)); then
  "$mcpgate" serve --config "$config" 2>"$demo/gateway.log" &
else
  "$mcpgate" serve --config "$config" &
fi
pids+=($!)
# Up? The port answers and the gateway is alive (with --check, its log also says it holds the port: another
# program that took the port meanwhile would answer too).
gateway_up() {
  listening "$port" && kill -0 "${pids[1]}" 2>/dev/null &&
    { ((!check)) || grep -q '"msg":"listening"' "$demo/gateway.log"; }
}
for _ in $(seq 200); do  # up to 20 s
  gateway_up && break
  kill -0 "${pids[1]}" 2>/dev/null || break
  sleep 0.1
done
if ! gateway_up; then
  echo "quickstart.sh: mcpgate serve did not start on port $port (MCPGATE_PORT picks another)" >&2
  [ -f "$demo/gateway.log" ] && cat "$demo/gateway.log" >&2
  exit 1
fi

init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1.0"}}}'
if ((!check)); then
  stytch=""
  if ((stytch_on)); then
    stytch="Stytch:        on (project $MCPGATE_STYTCH_PROJECT_ID); OAuth clients discover it at
               http://127.0.0.1:$port/.well-known/oauth-protected-resource/mcp"
  else
    stytch="Stytch:        off (set MCPGATE_STYTCH_PROJECT_ID and MCPGATE_STYTCH_DOMAIN to turn it on)"
  fi
  cat <<EOF

mcpgate is guarding the example MCP server at $url
Demo token:    $token
               (kept in $token_file; the config holds only its SHA-256)
$stytch

Try it:
  curl -sS -i $url -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d '$init'

Then call a tool with the Mcp-Session-Id it answered (whoami shows the identity headers the gateway injected):
  curl -sS $url -H "Authorization: Bearer $token" -H 'Mcp-Session-Id: PASTE-IT-HERE' -H 'MCP-Protocol-Version: 2025-06-18' -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}'

Add it to Claude Code:
  claude mcp add --transport http mcpgate-demo $url --header "Authorization: Bearer $token"

Admin:         http://127.0.0.1:$admin_port/healthz  http://127.0.0.1:$admin_port/readyz  http://127.0.0.1:$admin_port/metrics
Files:         $config (config), $store (store), $demo/example.log
Stop:          Ctrl-C (stops the gateway and the example server)

EOF
  wait "${pids[1]}" || status=$?
  exit "${status:-0}"
fi

# -- --check: what the printed curl line does, then a tool call through the gateway -------------------------
fail() {
  echo "FAIL: $*" >&2
  echo "--- gateway log:" >&2
  cat "$demo/gateway.log" >&2
  exit 1
}
headers=$(mktemp)
trap 'stop_all; rm -f "$headers"' EXIT
post() {  # post BODY [extra curl args...]: prints the body, headers into $headers
  local body=$1
  shift
  curl -sS --max-time 20 -D "$headers" "$url" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' "$@" -d "$body"
}
status_of() { awk 'NR == 1 {print $2}' "$headers"; }
header_of() { tr -d '\r' <"$headers" | awk -v h="$(tr '[:upper:]' '[:lower:]' <<<"$1")" -F': ' 'tolower($1) == h {print $2}'; }

body=$(post "$init" -H "Authorization: Bearer $token")
status=$(status_of)
session=$(header_of Mcp-Session-Id)
echo "initialize: HTTP $status, Mcp-Session-Id ${session:-<none>}"
echo "  $body"
[ "$status" = 200 ] || fail "initialize answered $status"
[ -n "$session" ] || fail "initialize gave no Mcp-Session-Id"
grep -q '"protocolVersion"' <<<"$body" || fail "initialize result has no protocolVersion"

auth=(-H "Authorization: Bearer $token" -H "Mcp-Session-Id: $session" -H "MCP-Protocol-Version: 2025-06-18")
post '{"jsonrpc":"2.0","method":"notifications/initialized"}' "${auth[@]}" >/dev/null
status=$(status_of)
echo "notifications/initialized: HTTP $status"
[ "$status" = 202 ] || fail "notifications/initialized answered $status"

body=$(post '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}' "${auth[@]}")
status=$(status_of)
echo "tools/call whoami: HTTP $status"
echo "  $body"
[ "$status" = 200 ] || fail "tools/call whoami answered $status"
grep -q '\\"X-Auth-Subject\\":\\"demo\\"' <<<"$body" || fail "whoami does not show X-Auth-Subject demo"

post "$init" >/dev/null
status=$(status_of)
challenge=$(header_of WWW-Authenticate)
echo "without a token: HTTP $status, WWW-Authenticate: $challenge"
[ "$status" = 401 ] || fail "a request without a token answered $status"
if ((stytch_on)); then
  grep -q 'resource_metadata="http://127.0.0.1:'"$port"'/.well-known/oauth-protected-resource' <<<"$challenge" ||
    fail "the 401 does not point at the protected-resource metadata"
else
  [ "$challenge" = 'Bearer realm="mcpgate"' ] || fail "unexpected challenge without an authorization server"
fi

health=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin_port/healthz" || true)
echo "admin /healthz: HTTP $health"
[ "$health" = 200 ] || fail "admin /healthz answered $health"
prm_status=$(curl -sS --max-time 5 -o "$demo/prm.json" -w '%{http_code}' \
  "http://127.0.0.1:$port/.well-known/oauth-protected-resource/mcp" || true)
echo "protected-resource metadata: HTTP $prm_status $(cat "$demo/prm.json" 2>/dev/null)"
if ((stytch_on)); then
  [ "$prm_status" = 200 ] && grep -qF "\"resource\":\"$url\"" "$demo/prm.json" ||
    fail "the metadata does not describe $url"
else
  [ "$prm_status" = 404 ] || fail "a static-token-only gateway served a metadata document ($prm_status)"
fi

# Both stop cleanly on SIGTERM (exit 0), as on Ctrl-C.
kill -TERM "${pids[1]}" "${pids[0]}" 2>/dev/null || true
gateway_status=0 example_status=0
wait "${pids[1]}" || gateway_status=$?
wait "${pids[0]}" || example_status=$?
pids=()
echo "stopped: gateway exit $gateway_status, example server exit $example_status"
[ "$gateway_status" = 0 ] || fail "mcpgate serve exited $gateway_status on SIGTERM"
[ "$example_status" = 0 ] || fail "the example server exited $example_status on SIGTERM"
echo "quickstart check: OK"
