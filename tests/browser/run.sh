#!/bin/bash
# The dashboard's browser tests: Debian chromium driven by playwright-core, headless.
# Usage: tests/browser/run.sh [URL]
#   URL   a running server with a scenario loaded (e.g. `treatylog demo`'s URL); without it the
#         fixture server (tests/browser/fixture-server.mjs) is started on a free port.
# The 100k-entry performance test runs against TL_PERF_URL if set, else against a fixture
# server started with --entries 100000.
# Env: SCREENSHOTS=1 writes docs/screenshots/*.png; TL_SUBMIT='cmd' submits one notification to
# URL (needed for the live test against a real server; the fixture has POST /fixture/append),
# e.g. 'tests/browser/submit-one.sh DEMO_DIR URL'; TL_EVIDENCE_DIR=DEMO_DIR/evidence also checks
# every evidence file the demo wrote with the browser's verifier.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
  echo "browser tests: installing Debian chromium" >&2
  apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
fi
scripts/build-web.sh
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
start_fixture() { # out-var, args...
  local var=$1 out
  shift
  out=$(mktemp)
  node tests/browser/fixture-server.mjs --port 0 "$@" > "$out" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
  printf -v "$var" '%s' "$(head -1 "$out")"
  rm -f "$out"
  [ -n "${!var}" ] || { echo "fixture server did not start" >&2; exit 1; }
}
URL=${1:-}
if [ -z "$URL" ]; then start_fixture URL; echo "browser tests: fixture server at $URL"; fi
PERF=${TL_PERF_URL:-}
if [ -z "$PERF" ]; then start_fixture PERF --entries 100000; echo "browser tests: 100k-entry fixture at $PERF"; fi
rc=0
node --test tests/browser/verify.test.mjs || rc=1
TL_URL=$URL node --test tests/browser/dashboard.test.mjs || rc=1
TL_PERF_URL=$PERF node --test tests/browser/perf.test.mjs || rc=1
[ $rc = 0 ] && echo "browser tests: all passed" || echo "browser tests: FAILED" >&2
exit $rc
