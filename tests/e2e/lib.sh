# lib.sh — what the end-to-end scripts share (sourced, never run): a work directory whose processes stop and whose
# files go on exit, failure with every log printed, free loopback ports, waiting for a log line, static tokens, and
# `mcpgate serve` started on a free port (retried when another test took it first) and stopped with its log checked.
# The sourcing script sets `mcpgate` (the binary) and defines write_config, which writes "$work/mcpgate.toml" for
# "$port".
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
# wait_for FILE SED-EXPRESSION: prints the first line the expression extracts, within 10 s
wait_for() {
  local value=""
  for _ in $(seq 100); do
    value=$(sed -n "$2" "$1" 2>/dev/null | head -n 1)
    [ -n "$value" ] && break
    sleep 0.1
  done
  printf '%s' "$value"
}
new_token() { "$mcpgate" token new --name "$1" --scopes "$2" | awk '/^  mcpg_/ {print $1}'; }

# start_gateway: sets `port` and `gateway` (its pid), or fails. The port is in the config's public URL (clients
# follow resource_metadata there), so it is picked here, not bound as port 0.
start_gateway() {
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
    unset 'pids[-1]'
    gateway=""
  done
  [ -n "$gateway" ] && listening "$port" || fail "mcpgate serve did not listen"
}

# stop_gateway SECRET...: SIGTERM must end it with 0, and no secret (nor any JWT) may be in its log.
stop_gateway() {
  kill -TERM "$gateway" 2>/dev/null || true
  local status=0
  wait "$gateway" || status=$?
  unset 'pids[-1]'
  [ "$status" = 0 ] || fail "mcpgate serve exited $status on SIGTERM"
  for secret in "$@"; do
    if grep -qF "$secret" "$work/gateway.log"; then fail "a token reached the gateway log"; fi
  done
  if grep -qE 'eyJ[A-Za-z0-9_-]+\.eyJ' "$work/gateway.log"; then fail "a JWT reached the gateway log"; fi
}
