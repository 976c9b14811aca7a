#!/usr/bin/env bash
# Installs dependencies, builds mcpgate and runs the whole suite.
#   tests/run.sh              # normal build in build/
#   tests/run.sh --sanitize   # ASan + UBSan build in build-asan/
#   tests/run.sh --tsan       # ThreadSanitizer build in build-tsan/
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
flags=(-DMCPGATE_WERROR=ON)  # warnings stay at zero: any warning fails the build
case "${1:-}" in
  --sanitize)
    build=build-asan
    flags+=(-DMCPGATE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
    ;;
  --tsan)
    build=build-tsan
    # Optimised, since TSan slows every instrumented process 5-15x; -g keeps file:line in the reports.
    flags+=(-DMCPGATE_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
    ;;
esac
.ci/install-deps
cmake -S . -B "$build" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if [ "${1:-}" != "--tsan" ]; then
  exec ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --timeout 300
fi

# ThreadSanitizer. Every program built here is instrumented: the test binaries and the children they start
# (`mcpgate serve`, the CLI, store_worker, the examples), which inherit TSAN_OPTIONS. The external programs
# the tests drive (nginx, caddy, python3, openssl, node, postgres, curl) are not; TSan looks only inside our
# own processes, so those tests stay in. A child's report would go to its stderr, which is a log file or a
# pipe a passing test never shows: every report goes to a file of its own instead (log_path, one per pid),
# and any such file fails the run. tests/tsan.supp says why each suppression is there.
reports="$PWD/$build/tsan-reports"
rm -rf "$reports"
mkdir -p "$reports"
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp:log_path=$reports/report}
# Left out:
#   install_find_package_and_pkg_config builds examples/embedded out of tree against the installed
#     libraries with the compiler's default flags; TSan-instrumented libraries do not link there (undefined
#     __tsan_*). It checks packaging, which the plain run covers; the embedded example itself runs under TSan
#     in EmbeddedExample.*.
excluded='^install_find_package_and_pkg_config$'
# Run after the rest, one at a time: a test with a wall-clock budget that holds under TSan only with the two
# cores to itself. FramingShortReadTimeoutLargeBodies: four clients send megabytes of a refused chunked body
# for 2.5 s, then the gateway must close each within 4 s; next to another test, TSan's gateway is still
# discarding the backlog when the 4 s are up.
serial='^FramingShortReadTimeoutLargeBodies\.'
status=0
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --timeout 300 -E "$excluded|$serial" || status=$?
ctest --test-dir "$build" --output-on-failure --timeout 300 -R "$serial" || status=$?
if compgen -G "$reports/report*" >/dev/null; then
  for report in "$reports"/report*; do
    echo "== $report"
    cat "$report"
  done
  echo "ThreadSanitizer reported the races above (the reports are kept in $reports/)" >&2
  status=1
fi
exit "$status"
