#!/bin/bash
# Runs every test: sets up (packages, oracle), then the whole suite (unit, integration,
# interop, crash) in a normal build, the dashboard in a real browser against the demo, the
# suite again under AddressSanitizer + UndefinedBehaviorSanitizer and the concurrent parts
# under ThreadSanitizer, then each libFuzzer target briefly. Exits non-zero if anything fails.
set -uo pipefail
cd "$(dirname "$0")/.."
J=$(nproc)
status=0
summary=()

LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
run() { # name, command...: runs it, output to the terminal and to $LOG
  local name=$1; shift
  echo "=== $name"
  if "$@" 2>&1 | tee -a "$LOG"; then summary+=("ok    $name"); else summary+=("FAIL  $name"); status=1; fi
}

run "build" scripts/setup.sh build || true
[ $status -eq 0 ] || { printf '%s\n' "${summary[@]}"; exit 1; }
run "tests" ctest --test-dir build -j"$J" --output-on-failure
# The dashboard in Debian chromium (playwright-core) against the demo's live server.
run "browser (dashboard)" tests/browser/demo.sh build/treatylog

run "build (ASan+UBSan)" scripts/setup.sh build-asan -DTL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run "tests (ASan+UBSan)" ctest --test-dir build-asan -j"$J" --output-on-failure

# ThreadSanitizer over the concurrent parts: the sequencer, the witness, the HTTP servers.
unset ASAN_OPTIONS UBSAN_OPTIONS
run "build (ThreadSanitizer)" scripts/setup.sh build-tsan -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_C_FLAGS=-fsanitize=thread -O1" \
    -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread
export TSAN_OPTIONS=halt_on_error=1:exitcode=66
run "tests (ThreadSanitizer)" ctest --test-dir build-tsan -j"$J" --output-on-failure \
    -R 'unit/(seq|witness_server|witness_state|readpool)_test|integration/(serve|witness|witness_e2e|monitor|treaty|query|demo)$'
unset TSAN_OPTIONS

run "build (libFuzzer)" scripts/setup.sh build-fuzz -DTL_FUZZ=ON -DCMAKE_C_COMPILER=clang \
    -DTL_FUZZ_SECONDS="${TL_FUZZ_SECONDS:-10}"
run "fuzz (brief)" ctest --test-dir build-fuzz -R '^fuzz/' -j"$J" --output-on-failure

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
# Totals over the CTest runs, from their "N% tests passed, F tests failed out of T".
total=0 failed=0
while read -r f t; do total=$((total + t)); failed=$((failed + f)); done < <(
  sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1 \2/p' "$LOG")
# ...plus the browser tests (node's test runner: "# pass N", "# fail N").
while read -r k n; do
  if [ "$k" = pass ]; then total=$((total + n)); else total=$((total + n)); failed=$((failed + n)); fi
done < <(sed -n 's/^# \(pass\|fail\) \([0-9]*\)$/\1 \2/p' "$LOG")
echo "$((total - failed)) passed, $failed failed"
exit $status
