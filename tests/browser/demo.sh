#!/bin/bash
# The dashboard's browser tests against a real `treatylog serve` running the demo scenario:
# starts `treatylog demo` on a free loopback port, runs tests/browser/run.sh against it (the
# live test submits one more notification with a demo party key; every evidence file the demo
# wrote is also verified by the page's own verifier), then stops the demo.
# Usage: tests/browser/demo.sh [TREATYLOG] (default build/treatylog).
set -euo pipefail
cd "$(dirname "$0")/../.."
T=${1:-build/treatylog}
# The dashboard's files first: `serve` opens web/dist when it starts.
scripts/build-web.sh
D=$(mktemp -d "${TMPDIR:-/tmp}/tl-browser.XXXXXX")
"$T" demo --dir "$D/demo" --listen 127.0.0.1:0 > "$D/demo.out" 2> "$D/demo.err" &
DPID=$!
cleanup() { kill -INT "$DPID" 2>/dev/null || true; wait "$DPID" 2>/dev/null || true; rm -rf "$D"; }
trap cleanup EXIT
for _ in $(seq 900); do
  grep -q '^Dashboard and API: ' "$D/demo.out" && break
  kill -0 "$DPID" 2>/dev/null || { echo "browser tests: the demo stopped" >&2; tail "$D/demo.err" >&2; exit 1; }
  sleep 0.1
done
U=$(sed -n 's|^Dashboard and API: \(http://[^ ]*\)/$|\1|p' "$D/demo.out")
[ -n "$U" ] || { echo "browser tests: the demo did not come up" >&2; exit 1; }
echo "browser tests: demo at $U"
TL_SUBMIT="tests/browser/submit-one.sh $D/demo $U" TL_EVIDENCE_DIR="$D/demo/evidence" \
  tests/browser/run.sh "$U"
