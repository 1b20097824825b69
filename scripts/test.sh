#!/bin/bash
# Runs every test: sets up (packages, oracle), then the whole suite (unit, integration,
# interop, crash) in a normal build and again under AddressSanitizer + UndefinedBehavior-
# Sanitizer, then each libFuzzer target briefly. Exits non-zero if anything fails.
set -uo pipefail
cd "$(dirname "$0")/.."
J=$(nproc)
status=0
summary=()

run() { # name, command...
  local name=$1; shift
  echo "=== $name"
  if "$@"; then summary+=("ok    $name"); else summary+=("FAIL  $name"); status=1; fi
}

run "build" scripts/setup.sh build || true
[ $status -eq 0 ] || { printf '%s\n' "${summary[@]}"; exit 1; }
run "tests" ctest --test-dir build -j"$J" --output-on-failure

run "build (ASan+UBSan)" scripts/setup.sh build-asan -DTL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run "tests (ASan+UBSan)" ctest --test-dir build-asan -j"$J" --output-on-failure

run "build (libFuzzer)" scripts/setup.sh build-fuzz -DTL_FUZZ=ON -DCMAKE_C_COMPILER=clang \
    -DTL_FUZZ_SECONDS="${TL_FUZZ_SECONDS:-10}"
run "fuzz (brief)" ctest --test-dir build-fuzz -R '^fuzz/' -j"$J" --output-on-failure

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
exit $status
