#!/usr/bin/env bash
# Installs dependencies, builds mcpgate and runs the whole suite.
#   tests/run.sh              # normal build in build/
#   tests/run.sh --sanitize   # ASan + UBSan build in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
flags=()
if [ "${1:-}" = "--sanitize" ]; then
  build=build-asan
  flags=(-DMCPGATE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
fi
.ci/install-deps
cmake -S . -B "$build" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --timeout 300
