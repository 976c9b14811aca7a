#!/usr/bin/env bash
# mcpgate's JWT verification next to the Node `jose` library, on the very same tokens, side by side in one run.
#   bench/node/run.sh [ROUNDS]      # default 5 rounds; each: jose_bench Full/<alg> 2 s, then node 2 s per alg
# Each round, jose_bench makes fresh keys and tokens, exports them (--export-fixtures) and times mcpgate's full
# jose::verify_jwt; verify_bench.mjs then times `await jwtVerify(token, createLocalJWKSet(jwks), ...)` on them.
# The order alternates between rounds so drift on the shared machine hits both sides alike. Both sides run a
# sequential loop; reported per verification: wall-clock time (what one request waits) and CPU time (what the
# machine pays, all threads). Prints min/median/max of node/mcpgate for each, round by round.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/bench/lib.sh"
rounds=${1:-5}
cd "$root"
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DMCPGATE_BUILD_BENCH=ON -DMCPGATE_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench -j2 --target jose_bench >/dev/null
[ -d bench/node/node_modules/jose ] || npm ci --prefix bench/node --no-audit --no-fund >/dev/null
echo "node $(node --version), jose $(node -p 'require("./bench/node/node_modules/jose/package.json").version'), $(openssl version)"

ours() {
  build-bench/bench/jose_bench --benchmark_filter='^Full/' --benchmark_min_time=2 \
    --export-fixtures="$work/fixtures-$1.json" --benchmark_format=json >"$work/mcpgate-$1.json"
}
theirs() { node bench/node/verify_bench.mjs "$work/fixtures-$1.json" 2 >"$work/node-$1.jsonl"; }
for round in $(seq 1 "$rounds"); do
  if ((round % 2)); then
    ours "$round"
    theirs "$round"
  else
    # Node needs this round's fixtures first: export them without timing, then time Node, then mcpgate.
    build-bench/bench/jose_bench --benchmark_filter='^$' --export-fixtures="$work/fixtures-$round.json" >/dev/null 2>&1
    theirs "$round"
    ours "$round"
  fi
  echo "round $round/$rounds done" >&2
done

/usr/bin/python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
ours, node = {}, {}
for r in range(1, rounds + 1):
    for b in json.load(open(f"{work}/mcpgate-{r}.json"))["benchmarks"]:
        scale = {"ns": 1, "us": 1e3, "ms": 1e6}[b["time_unit"]]
        alg = b["name"].split("/")[1]
        ours.setdefault(("wall", alg), []).append(b["real_time"] * scale)
        ours.setdefault(("cpu", alg), []).append(b["cpu_time"] * scale)
    for line in open(f"{work}/node-{r}.jsonl"):
        row = json.loads(line)
        node.setdefault(("wall", row["alg"]), []).append(row["ns_per_op"])
        node.setdefault(("cpu", row["alg"]), []).append(row["cpu_ns_per_op"])
print(f"\n{'time':<5} {'alg':<6} {'mcpgate median':>15} {'node jose median':>17} {'node/mcpgate min':>17}"
      f" {'median':>7} {'max':>7}")
for kind in ("wall", "cpu"):
    for alg in ("RS256", "ES256", "EdDSA"):
        o, n = ours.get((kind, alg)), node.get((kind, alg))
        if not o or not n:
            continue
        ratios = sorted(a / b for a, b in zip(n, o))
        print(f"{kind:<5} {alg:<6} {statistics.median(o) / 1e3:>12.1f} µs {statistics.median(n) / 1e3:>14.1f} µs"
              f" {ratios[0]:>17.2f} {statistics.median(ratios):>7.2f} {ratios[-1]:>7.2f}")
PY
