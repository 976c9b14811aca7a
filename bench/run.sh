#!/usr/bin/env bash
# Builds the JOSE micro-benchmark in build-bench (Release) and runs it: full jose::verify_jwt vs the bare
# EVP_DigestVerify on the same key, 10 interleaved repetitions, then min/median/max of the full/raw ratio.
#   bench/run.sh                      # all algorithms
#   bench/run.sh --benchmark_filter=RS256
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DMCPGATE_BUILD_BENCH=ON -DMCPGATE_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench -j2 --target jose_bench
out=$(mktemp)
trap 'rm -f "$out"' EXIT
build-bench/bench/jose_bench --benchmark_repetitions=10 --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=false --benchmark_out="$out" --benchmark_out_format=json "$@"
/usr/bin/python3 bench/ratio.py "$out"
