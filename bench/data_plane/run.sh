#!/usr/bin/env bash
# Data-plane benchmark: mcpgate serve next to HAProxy, nginx proxy_pass, Caddy reverse_proxy and Node http-proxy,
# all in front of one nginx upstream on loopback, measured side by side in interleaved rounds. See README.md.
#
#   bench/data_plane/run.sh [--mcpgate PATH] [--rounds N] [--duration S] [--quick] [--peers LIST]
#   bench/data_plane/run.sh --streams N   [--peers LIST] [--mcpgate-threads T]   # N open SSE streams: RSS, threads
#   bench/data_plane/run.sh --slowloris N [--peers LIST] [--mcpgate-threads T]   # N slow clients: legit latency
#   WRK_THREADS=2 WRK_CONNECTIONS=32 (wrk's -t and -c)
#
# Installs nothing: a missing tool is reported with the command that installs it. Every process it starts is
# stopped on exit; everything listens on 127.0.0.1. Results, configurations and logs stay in one directory
# under ${TMPDIR:-/tmp}, printed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
mcpgate=""
rounds=3
duration=10
streams=0
slowloris=0
peers_arg=""
mcpgate_threads=auto
wrk_threads=${WRK_THREADS:-2}
wrk_connections=${WRK_CONNECTIONS:-32}
val() { (($# >= 2)) || { echo "$1 needs a value" >&2; exit 2; }; }
while (($#)); do
  case $1 in
    --mcpgate) val "$@"; mcpgate=$2; shift 2 ;;
    --rounds) val "$@"; rounds=$2; shift 2 ;;
    --duration) val "$@"; duration=${2%s}; shift 2 ;;
    --quick) rounds=1; duration=3; shift ;;
    --streams) val "$@"; streams=$2; shift 2 ;;
    --slowloris) val "$@"; slowloris=$2; shift 2 ;;
    --peers) val "$@"; peers_arg=$2; shift 2 ;;
    --mcpgate-threads) val "$@"; mcpgate_threads=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
for v in rounds duration streams slowloris; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "--$v needs a whole number, got '${!v}'" >&2; exit 2; }
done
((rounds >= 1 && duration >= 1)) || { echo "--rounds and --duration must be at least 1" >&2; exit 2; }

if [[ -z $mcpgate ]]; then
  mcpgate=$root/build-bench/src/cli/mcpgate
  [[ -x $mcpgate ]] || mcpgate=$root/build/src/cli/mcpgate
fi

# ---- which peers -------------------------------------------------------------------------------------------
# Throughput peers are wrk targets; stream and slowloris peers are proxy processes.
if ((streams == 0 && slowloris == 0)); then
  all_peers="direct nginx haproxy caddy node-http-proxy mcpgate-static mcpgate-opaque mcpgate-rules mcpgate-jwt mcpgate-forward-auth"
  default_peers=$all_peers
else
  all_peers="nginx haproxy caddy node-http-proxy mcpgate"
  default_peers="mcpgate nginx"
fi
peers=$(tr ',' ' ' <<<"${peers_arg:-$default_peers}")
for p in $peers; do
  [[ " $all_peers " == *" $p "* ]] || { echo "unknown peer '$p' for this mode; one of: $all_peers" >&2; exit 2; }
done
# The processes behind them ("direct" is the upstream itself; the mcpgate-* rows share one mcpgate).
procs=""
for p in $peers; do
  case $p in direct) ;; mcpgate*) procs+=" mcpgate" ;; *) procs+=" $p" ;; esac
done
procs=$(tr ' ' '\n' <<<"$procs" | awk 'NF && !seen[$0]++' | tr '\n' ' ')
has_proc() { [[ " $procs " == *" $1 "* ]]; }

# ---- prerequisites (checked, never installed) ---------------------------------------------------------------
PATH=$PATH:/usr/sbin:/sbin
missing_apt=()
need() { command -v "$1" >/dev/null 2>&1 || missing_apt+=("$2"); }
need curl curl
need node nodejs
need nginx nginx  # the upstream
((streams || slowloris)) || need wrk wrk
has_proc haproxy && need haproxy haproxy
has_proc caddy && need caddy caddy
problems=0
if ((${#missing_apt[@]})); then
  echo "missing: ${missing_apt[*]}. Install with:" >&2
  echo "  apt-get install -y ${missing_apt[*]}" >&2
  problems=1
fi
if has_proc node-http-proxy && [[ ! -f $here/node_modules/http-proxy/package.json ]]; then
  command -v npm >/dev/null 2>&1 || echo "missing: npm. Install with:  apt-get install -y npm" >&2
  echo "missing: the npm package http-proxy (pinned by bench/data_plane/package-lock.json). Install with:" >&2
  echo "  npm ci --prefix $here" >&2
  problems=1
fi
if has_proc mcpgate && [[ ! -x $mcpgate ]]; then
  echo "no mcpgate binary at $mcpgate: build one (cmake --build build --target mcpgate) or pass --mcpgate PATH" >&2
  problems=1
fi
((problems == 0)) || exit 2
if has_proc haproxy && ! haproxy -v 2>/dev/null | grep -q 'version 2\.6'; then
  echo "note: HAProxy is not 2.6 here: $(haproxy -v 2>/dev/null | head -1)" >&2
fi

# Each open stream or slow client costs the proxy two descriptors (client + upstream): the machine's hard limit
# here is 20,000.
ulimit -n 20000 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"

# ---- processes, ports, cleanup ------------------------------------------------------------------------------
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/mcpgate-data-plane.XXXXXX")
logs=$run_dir/logs
mkdir -p "$logs" "$run_dir/wrk"
declare -A pid_of=()
pids=()
cleanup() {
  local p i
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for i in $(seq 1 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME CMD...: runs CMD in the background (stdout/stderr to logs/NAME.out|err), remembered for cleanup.
start() {
  local name=$1
  shift
  "$@" >"$logs/$name.out" 2>"$logs/$name.err" &
  pid_of[$name]=$!
  pids+=($!)
}
# A loopback port below the ephemeral range (the stream tests use thousands of ephemeral ports) that nobody
# listens on and that this run has not handed out yet.
used_ports=" "
port() {
  local p
  while :; do
    p=$((10000 + RANDOM % 20000))
    [[ $used_ports == *" $p "* ]] && continue
    (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
    used_ports+="$p "
    echo "$p"
    return
  done
}
# wait_port NAME PORT: until the process NAME listens on 127.0.0.1:PORT (20 s at most).
wait_port() {
  local i
  for i in $(seq 1 400); do
    (echo >"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    if ! kill -0 "${pid_of[$1]}" 2>/dev/null; then break; fi
    sleep 0.05
  done
  echo "$1 does not listen on 127.0.0.1:$2; its log:" >&2
  tail -n 20 "$logs/$1.err" "$logs/$1.out" >&2
  exit 1
}
# wait_line FILE PATTERN SECONDS: prints the first line of FILE matching PATTERN, waiting at most SECONDS.
wait_line() {
  local i
  for i in $(seq 1 $(($3 * 10))); do
    grep -m1 "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no '$2' in $1 after $3 s" >&2
  return 1
}

up_port=$(port)
sse_port=$(port)
declare -A port_of=()
for p in $procs; do port_of[$p]=$(port); done

token="bench-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
digest=$(printf %s "$token" | sha256sum | cut -d' ' -f1)
issuer=https://issuer.bench.example
user_line=""
(($(id -u) == 0)) && user_line="user $(id -un) $(id -gn);"

# ---- the upstream: Debian's nginx answering POST /mcp with a fixed JSON-RPC result --------------------------
# nginx_common DIR: the lines every nginx here shares (pid, logs and temp files in DIR, no access log).
nginx_common() {
  mkdir -p "$1/tmp"
  cat <<EOF
daemon off;
master_process on;
$user_line
pid $1/nginx.pid;
error_log $1/error.log warn;
EOF
}
nginx_http_common() {
  cat <<EOF
  access_log off;
  client_body_temp_path $1/tmp/body;
  proxy_temp_path $1/tmp/proxy;
  fastcgi_temp_path $1/tmp/fastcgi;
  uwsgi_temp_path $1/tmp/uwsgi;
  scgi_temp_path $1/tmp/scgi;
  keepalive_requests 1000000;
EOF
}
d=$run_dir/upstream
mkdir -p "$d"
{
  nginx_common "$d"
  cat <<EOF
worker_processes 1;
events { worker_connections 19000; }
http {
$(nginx_http_common "$d")
  server {
    listen 127.0.0.1:$up_port;
    location = /mcp {
      default_type application/json;
      return 200 '{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo","description":"Echoes its input"}]}}';
    }
    location / { return 404; }
  }
}
EOF
} >"$d/nginx.conf"
start upstream nginx -p "$d/" -c "$d/nginx.conf" -e "$d/error.log"
wait_port upstream "$up_port"

if ((streams)); then
  start sse-upstream node "$here/sse_upstream.js" "$sse_port"
  wait_port sse-upstream "$sse_port"
fi

# ---- the peers ----------------------------------------------------------------------------------------------
if has_proc nginx; then
  d=$run_dir/nginx
  mkdir -p "$d"
  {
    nginx_common "$d"
    cat <<EOF
worker_processes auto;
worker_rlimit_nofile 20000;
events { worker_connections 19000; }
http {
$(nginx_http_common "$d")
  upstream mcp_up { server 127.0.0.1:$up_port; keepalive 64; }
  upstream sse_up { server 127.0.0.1:$sse_port; }
  server {
    listen 127.0.0.1:${port_of[nginx]};
    location /mcp {
      proxy_pass http://mcp_up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location /sse {
      proxy_pass http://sse_up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 1h;
    }
  }
}
EOF
  } >"$d/nginx.conf"
  start nginx nginx -p "$d/" -c "$d/nginx.conf" -e "$d/error.log"
fi

if has_proc haproxy; then
  cat >"$run_dir/haproxy.cfg" <<EOF
global
  maxconn 9500

defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-request 10s
  timeout http-keep-alive 5s

frontend bench
  bind 127.0.0.1:${port_of[haproxy]}
  use_backend sse if { path_beg /sse }
  default_backend mcp

backend mcp
  http-reuse always
  server upstream 127.0.0.1:$up_port

backend sse
  server sse 127.0.0.1:$sse_port
EOF
  start haproxy haproxy -db -f "$run_dir/haproxy.cfg"
fi

if has_proc caddy; then
  mkdir -p "$run_dir/caddy"
  # (Caddy logs a warning that this is not tab-indented: harmless.)
  cat >"$run_dir/Caddyfile" <<EOF
{
  admin off
  auto_https off
}

http://127.0.0.1:${port_of[caddy]} {
  bind 127.0.0.1
  reverse_proxy /sse* 127.0.0.1:$sse_port {
    flush_interval -1
  }
  reverse_proxy 127.0.0.1:$up_port
}
EOF
  start caddy env HOME="$run_dir/caddy" XDG_DATA_HOME="$run_dir/caddy" XDG_CONFIG_HOME="$run_dir/caddy" \
    caddy run --adapter caddyfile --config "$run_dir/Caddyfile"
fi

if has_proc node-http-proxy; then
  start node-http-proxy node "$here/node_proxy.js" "${port_of[node-http-proxy]}" "$up_port" "$sse_port" "$token"
fi

# mcpgate_accepts SECTION 'KEY = VALUE': whether this mcpgate's configuration loader takes that line (the
# listener is being rewritten: keys come and go, and an unknown key outside [server] is an error).
mcpgate_accepts() {
  local f=$run_dir/probe-config.toml
  printf '[server]\npublic_url = "http://127.0.0.1:1/mcp"\n[admin]\nenabled = false\n' >"$f"
  [[ $1 == server ]] && sed -i "2a $2" "$f" || printf '[%s]\n%s\n' "$1" "$2" >>"$f"
  "$mcpgate" check-config --config "$f" >/dev/null 2>&1
}

if has_proc mcpgate; then
  mport=${port_of[mcpgate]}
  threads_line=""
  streams_line=""
  if [[ $mcpgate_threads != auto ]]; then
    threads_line="threads = $mcpgate_threads"
  elif ((streams)) && mcpgate_accepts server "threads = 4096"; then
    # The cpp-httplib listener holds a worker thread per open connection ([server] threads, 1 to 4096).
    # The event-loop listener's threads are its loops (0 to 256, 0 = one per core): left at its default.
    threads_line="threads = $((streams + 64 > 4096 ? 4096 : streams + 64))"
  fi
  # All streams here come from one token, i.e. one principal; a per-principal stream cap must allow them.
  if ((streams)) && mcpgate_accepts gateway "max_streams_per_principal = 1"; then
    streams_line="max_streams_per_principal = $streams"
  fi
  jwt=$(node "$here/mint_jwt.js" "$run_dir/jwks.json" "$issuer" "http://127.0.0.1:$mport/mcp" mcp)
  cat >"$run_dir/mcpgate.toml" <<EOF
[server]
public_url = "http://127.0.0.1:$mport/mcp"
listen_address = "127.0.0.1"
port = $mport
$threads_line

[admin]
enabled = false

[[issuers]]
issuer = "$issuer"
audiences = ["http://127.0.0.1:$mport/mcp"]
jwks_file = "$run_dir/jwks.json"

[[static_tokens]]
name = "bench"
sha256 = "$digest"
scopes = ["mcp"]

[[routes]]
prefix = "/mcp"
scopes = ["mcp"]
upstream = "http://127.0.0.1:$up_port"

[[routes]]
prefix = "/sse"
scopes = ["mcp"]
upstream = "http://127.0.0.1:$sse_port"

# mcpgate-opaque: the same upstream with MCP inspection off (bodies stream through unread).
[[routes]]
prefix = "/opaque"
scopes = ["mcp"]
mcp = false
upstream = "http://127.0.0.1:$up_port/mcp"

# mcpgate-rules: inspection plus per-tool rules; the tools/list answer is read whole, filtered, re-sent.
[[routes]]
prefix = "/rules"
scopes = ["mcp"]
upstream = "http://127.0.0.1:$up_port/mcp"

[[routes.rules]]
method = "tools/call"
target = "drop_*"
deny = true

[[routes.rules]]
method = "tools/call"
target = "admin_*"
scopes = ["mcp:admin"]

[gateway]
access_log = false
$streams_line
EOF
  "$mcpgate" check-config --config "$run_dir/mcpgate.toml" >"$logs/check-config.out" 2>&1 ||
    { cat "$logs/check-config.out" >&2; exit 1; }
  printf '%s\n' "$jwt" | "$mcpgate" token verify --config "$run_dir/mcpgate.toml" >"$logs/token-verify.out" 2>&1 ||
    { echo "mcpgate does not accept the minted JWT:" >&2; cat "$logs/token-verify.out" >&2; exit 1; }
  start mcpgate "$mcpgate" serve --config "$run_dir/mcpgate.toml"
fi

for p in $procs; do wait_port "$p" "${port_of[$p]}"; done

# ---- what each peer is ----------------------------------------------------------------------------------------
# url PEER, method PEER, token PEER
url() {
  case $1 in
    direct) echo "http://127.0.0.1:$up_port/mcp" ;;
    mcpgate-forward-auth) echo "http://127.0.0.1:${port_of[mcpgate]}/auth" ;;
    mcpgate-opaque) echo "http://127.0.0.1:${port_of[mcpgate]}/opaque" ;;
    mcpgate-rules) echo "http://127.0.0.1:${port_of[mcpgate]}/rules" ;;
    mcpgate*) echo "http://127.0.0.1:${port_of[mcpgate]}/mcp" ;;
    *) echo "http://127.0.0.1:${port_of[$1]}/mcp" ;;
  esac
}
method() { [[ $1 == mcpgate-forward-auth ]] && echo GET || echo POST; }
token_for() { [[ $1 == mcpgate-jwt ]] && echo "$jwt" || echo "$token"; }
checks_token() { [[ $1 == node-http-proxy || $1 == mcpgate* ]]; }
body='{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
direct=http://127.0.0.1:$up_port/mcp  # warms the latency probe's own HTTP client before it measures

# smoke PEER: one request must answer 200 (with the upstream's JSON for POST), and a wrong token 401 where the
# peer checks tokens — a peer answering errors fast would otherwise look fast.
smoke() {
  local u m code out=$run_dir/smoke-$1.txt
  u=$(url "$1")
  m=$(method "$1")
  local args=(-sS -o "$out" -w '%{http_code}' -X "$m" -H "Content-Type: application/json" -H "Accept: application/json, text/event-stream")
  [[ $m == POST ]] && args+=(--data "$body")
  code=$(curl "${args[@]}" -H "Authorization: Bearer $(token_for "$1")" "$u") || true
  if [[ $code != 200 ]] || { [[ $m == POST ]] && ! grep -q '"jsonrpc"' "$out"; }; then
    echo "smoke test of $1 ($m $u) failed: HTTP $code: $(head -c 300 "$out")" >&2
    exit 1
  fi
  if checks_token "$1"; then
    code=$(curl "${args[@]}" -H "Authorization: Bearer wrong-$token" "$u") || true
    [[ $code == 401 ]] || { echo "smoke test of $1: a wrong token got HTTP $code, not 401" >&2; exit 1; }
  fi
}

# ---- sampling a process tree ----------------------------------------------------------------------------------
tree_pids() {
  local c
  echo "$1"
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree_pids "$c"; done
}
# cpu_ticks PID: user + system CPU time (clock ticks) of PID and its descendants (from /proc/PID/stat, read
# past the command name, which may hold spaces).
cpu_ticks() {
  local p t=0 v
  for p in $(tree_pids "$1"); do
    v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
# sample PID: "RSS_KiB PSS_KiB THREADS FDS", summed over PID and its descendants (nginx: master + workers).
sample() {
  local p rss=0 pss=0 thr=0 fds=0 r t s
  for p in $(tree_pids "$1"); do
    [[ -r /proc/$p/status ]] || continue
    read -r r t < <(awk '/^VmRSS:/ {r = $2} /^Threads:/ {t = $2} END {print r + 0, t + 0}' "/proc/$p/status")
    s=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true)
    rss=$((rss + r)) thr=$((thr + t)) pss=$((pss + ${s:-0}))
    fds=$((fds + $(ls "/proc/$p/fd" 2>/dev/null | wc -l)))
  done
  echo "$rss $pss $thr $fds"
}
# first_of PROBE_JSON: the first request's latency, or what became of it.
first_of() { node -e 'const o = JSON.parse(process.argv[1]); console.log(o.first_result === "ok" ? o.first_ms : `${o.first_result} after ${o.first_ms}`)' "$1"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
json_field() { node -e 'const o = JSON.parse(process.argv[1]); const v = o[process.argv[2]]; console.log(v === null || v === undefined ? "-" : v)' "$1" "$2"; }

# ---- header -------------------------------------------------------------------------------------------------
echo "# mcpgate data-plane benchmark"
echo
echo "- machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg), ulimit -n $(ulimit -n)"
has_proc mcpgate && echo "- mcpgate: $mcpgate ($("$mcpgate" --version 2>/dev/null | head -1 || echo "?"))${threads_line:+, [server] $threads_line}${streams_line:+, [gateway] $streams_line}"
echo "- upstream: $(nginx -v 2>&1 | sed 's/.*: //') (1 worker), POST /mcp → 200, $(($(wc -c <<<'{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo","description":"Echoes its input"}]}}') - 1)) bytes of JSON"
has_proc nginx && echo "- nginx proxy_pass: worker_processes auto, upstream keepalive 64"
has_proc haproxy && echo "- haproxy: $(haproxy -v | head -1 | awk '{print $3}'), http mode, http-reuse always"
has_proc caddy && echo "- caddy: $(caddy version | awk '{print $1}') reverse_proxy"
has_proc node-http-proxy && echo "- node-http-proxy: node $(node --version), http-proxy $(node -p "require('$here/node_modules/http-proxy/package.json').version"), bearer check, keep-alive agent"
echo "- results: $run_dir"
echo

# ---- 1. throughput ----------------------------------------------------------------------------------------------
throughput() {
  local p r f tsv=$run_dir/results.tsv
  for p in $peers; do smoke "$p"; done
  # serving_pid PEER: the process whose CPU a request to PEER costs (direct: the upstream itself)
  serving_pid() {
    case $1 in direct) echo "${pid_of[upstream]}" ;; mcpgate*) echo "${pid_of[mcpgate]}" ;; *) echo "${pid_of[$1]}" ;; esac
  }
  # wrk_run PEER SECONDS FILE: wrk's output, then a last line "cpu_ticks N" (the serving process tree's CPU
  # time during the run)
  wrk_run() {
    local script=$here/post.lua before after
    [[ $(method "$1") == GET ]] && script=$here/auth.lua
    before=$(cpu_ticks "$(serving_pid "$1")")
    BENCH_TOKEN=$(token_for "$1") wrk -t"$wrk_threads" -c"$wrk_connections" -d"$2s" --latency -s "$script" \
      "$(url "$1")" >"$3" 2>&1 || true
    after=$(cpu_ticks "$(serving_pid "$1")")
    echo "cpu_ticks $((after - before))" >>"$3"
  }
  # to_ms VALUE-WITH-UNIT (wrk prints 812.00us, 1.20ms, 2.01s)
  parse() {
    awk '
      function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v }
      /^Requests\/sec:/ {rps = $2}
      $1 == "50%" {p50 = ms($2)}
      $1 == "99%" {p99 = ms($2)}
      /Non-2xx or 3xx responses:/ {non2xx = $NF}
      /Socket errors:/ {gsub(/,/, ""); errors = $4 + $6 + $8 + $10}
      / requests in / {requests = $1}
      $1 == "cpu_ticks" {ticks = $2}
      END {
        us = requests > 0 ? ticks * 1000000 / tck / requests : 0
        printf "%s\t%s\t%s\t%d\t%d\t%.1f\n", rps + 0, p50 + 0, p99 + 0, non2xx, errors, us
      }' tck="$(getconf CLK_TCK)" "$1"
  }
  echo "## POST /mcp tools/list: wrk -t$wrk_threads -c$wrk_connections -d${duration}s --latency, $rounds interleaved round(s)"
  echo
  echo "warm-up: 1 s per peer (fills upstream pools, the token cache, Node's JIT)"
  for p in $peers; do wrk_run "$p" 1 "$run_dir/wrk/warmup-$p.txt"; done
  printf 'round\tpeer\treq_s\tp50_ms\tp99_ms\tnon2xx\tsocket_errors\tcpu_us_per_request\n' >"$tsv"
  for r in $(seq 1 "$rounds"); do
    for p in $peers; do
      f=$run_dir/wrk/round$r-$p.txt
      wrk_run "$p" "$duration" "$f"
      printf '%s\t%s\t%s\n' "$r" "$p" "$(parse "$f")" >>"$tsv"
      awk -F'\t' -v r="$r" -v p="$p" '$1 == r && $2 == p {printf "round %s  %-22s %10.0f req/s   p99 %8.2f ms\n", r, p, $3, $5}' "$tsv"
    done
  done
  echo
  node "$here/summarize.js" "$tsv" | tee "$run_dir/results.md"
  echo
  echo "raw: $tsv (one wrk run a line), wrk output in $run_dir/wrk/"
}

# ---- 2. open SSE streams ------------------------------------------------------------------------------------------
streams_test() {
  local p pid u idle opened rec with after probe_idle probe_open out md=$run_dir/streams.md
  local hold=45
  {
    echo "## $streams open SSE streams (one event per second each) through each proxy"
    echo
    echo "| proxy | opened / receiving | VmRSS idle → open MiB (Δ KiB/stream) | PSS idle → open MiB | threads idle → open | fds open | POST idle p50 ms | POST with streams: first / p50 / max ms | after close: VmRSS MiB, threads |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  } >"$md"
  for p in $peers; do
    pid=${pid_of[$p]}
    u="http://127.0.0.1:${port_of[$p]}"
    out=$run_dir/streams-$p.out
    echo "-- $p: idle sample, then $streams streams" >&2
    probe_idle=$(node "$here/probe.js" "$u/mcp" "$token" 20 5 20 "$direct")
    idle=($(sample "$pid"))
    start "streams-$p" node "$here/sse_client.js" "$u/sse" "$token" "$streams" "$hold"
    opened=$(wait_line "$logs/streams-$p.out" '^READY' 90 | sed 's/^READY //')
    rec=$(wait_line "$logs/streams-$p.out" '^RECEIVING' 10 | sed 's/^RECEIVING //')
    with=($(sample "$pid"))
    probe_open=$(node "$here/probe.js" "$u/mcp" "$token" 20 5 20 "$direct")
    kill -TERM "${pid_of[streams-$p]}" 2>/dev/null || true
    wait "${pid_of[streams-$p]}" 2>/dev/null || true
    sleep 2
    after=($(sample "$pid"))
    echo "   opened $opened; $rec; idle probe $probe_idle; probe with streams $probe_open" >&2
    local n_open n_rec
    n_open=$(json_field "$opened" opened)
    n_rec=$(json_field "$rec" receiving)
    printf '| %s | %s / %s | %s → %s (%s) | %s → %s | %s → %s | %s | %s | %s / %s / %s%s | %s, %s |\n' \
      "$p" "$n_open" "$n_rec" \
      "$(mib "${idle[0]}")" "$(mib "${with[0]}")" \
      "$(awk -v a="${idle[0]}" -v b="${with[0]}" -v n="$n_open" 'BEGIN {if (n > 0) printf "%.1f", (b - a) / n; else print "-"}')" \
      "$(mib "${idle[1]}")" "$(mib "${with[1]}")" "${idle[2]}" "${with[2]}" "${with[3]}" \
      "$(json_field "$probe_idle" p50_ms)" \
      "$(first_of "$probe_open")" "$(json_field "$probe_open" p50_ms)" "$(json_field "$probe_open" max_ms)" \
      "$(node -e 'const o = JSON.parse(process.argv[1]); const bad = o.count - o.ok; console.log(bad || o.gave_up ? ` (${o.ok}/${o.count} ok${o.gave_up ? ", gave up" : ""})` : "")' "$probe_open")" \
      "$(mib "${after[0]}")" "${after[2]}" >>"$md"
    kill -0 "$pid" 2>/dev/null || echo "   $p is no longer running: see $logs/$p.err" >&2
  done
  echo
  cat "$md"
  echo
  echo "raw: $run_dir/logs/streams-*.out (client), $md"
}

# ---- 3. slowloris -----------------------------------------------------------------------------------------------
slowloris_test() {
  local p u base under status md=$run_dir/slowloris.md slow_hold=15
  {
    echo "## $slowloris slowloris connections (a header line every 2 s, never finished) and one legitimate client"
    echo
    echo "Legitimate client: 200 sequential POSTs, a new connection each, 5 s timeout each, given up after 3 timeouts in"
    echo "a row or 60 s; started once all slow connections are open. The attack then goes on until it is $slow_hold s old."
    echo
    echo "| proxy | slow connections: connected / still open at the end / closed by proxy (attack age at the end, s) | legit p50 / p99 ms, no attack | legit p50 / p99 / max ms, under attack | under attack: ok / timeouts / errors |"
    echo "|---|---:|---:|---:|---:|"
  } >"$md"
  for p in $peers; do
    u="http://127.0.0.1:${port_of[$p]}/mcp"
    echo "-- $p: 200 requests, then $slowloris slow connections and 200 requests again" >&2
    base=$(node "$here/probe.js" "$u" "$token" 200 5 60 "$direct")
    start "slowloris-$p" node "$here/slowloris.js" 127.0.0.1 "${port_of[$p]}" "$slowloris" 180
    local ready
    ready=$(wait_line "$logs/slowloris-$p.out" '^READY' 90 | sed 's/^READY //')
    under=$(node "$here/probe.js" "$u" "$token" 200 5 60 "$direct")
    # Then keep the attack on until it is $slow_hold s old: which proxies shed slow clients, and when.
    local i
    for i in $(seq 1 $((slow_hold + 5))); do
      status=$(grep '^STATUS' "$logs/slowloris-$p.out" | tail -1 | sed 's/^STATUS //')
      [[ -n $status ]] && (($(json_field "$status" seconds) >= slow_hold)) && break
      sleep 1
    done
    [[ -n $status ]] || status='{"open":null,"closed_by_server":null,"seconds":null}'
    kill -TERM "${pid_of[slowloris-$p]}" 2>/dev/null || true
    wait "${pid_of[slowloris-$p]}" 2>/dev/null || true
    echo "   $ready; $status; no attack $base; under attack $under" >&2
    printf '| %s | %s / %s / %s (%s) | %s / %s | %s / %s / %s | %s / %s / %s%s |\n' "$p" \
      "$(json_field "$ready" connected)" "$(json_field "$status" open)" "$(json_field "$status" closed_by_server)" \
      "$(json_field "$status" seconds)" \
      "$(json_field "$base" p50_ms)" "$(json_field "$base" p99_ms)" \
      "$(json_field "$under" p50_ms)" "$(json_field "$under" p99_ms)" "$(json_field "$under" max_ms)" \
      "$(json_field "$under" ok)" "$(json_field "$under" timeouts)" "$(json_field "$under" errors)" \
      "$(node -e 'const o = JSON.parse(process.argv[1]); console.log(o.gave_up ? ` (gave up after ${o.count})` : "")' "$under")" >>"$md"
    kill -0 "${pid_of[$p]}" 2>/dev/null || echo "   $p is no longer running: see $logs/$p.err" >&2
    sleep 2
  done
  echo
  cat "$md"
  echo
  echo "raw: $run_dir/logs/slowloris-*.out, $md"
}

if ((streams == 0 && slowloris == 0)); then
  throughput
else
  for p in $peers; do
    [[ $p == mcpgate ]] && smoke mcpgate-static || smoke "$p"
  done
  ((streams)) && streams_test
  ((slowloris)) && slowloris_test
fi
exit 0
