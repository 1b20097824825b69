#!/bin/bash
# Submits one signed notification (a vd11.ch3.poc-designation) to a treaty-mode server, as a
# party whose key is in a `treatylog demo` directory: the TL_SUBMIT of the live browser test.
# Usage: tests/browser/submit-one.sh DEMO_DIR URL [PARTY]   (TREATYLOG: the binary to use)
# The serial is the party's last one in the log plus one (from /v1/entries?party=).
set -euo pipefail
D=$1 U=${2%/} P=${3:-LT}
T=${TREATYLOG:-$(dirname "$0")/../../build/treatylog}
last=-1 serial=0
while :; do
  page=$(curl -fsS "$U/v1/entries?party=$P&limit=1000$([ "$last" -ge 0 ] && echo "&after=$last")")
  s=$(jq '[.entries[].serial // 0] | max // 0' <<<"$page")
  [ "$s" -gt "$serial" ] && serial=$s
  next=$(jq -r '.next // empty' <<<"$page")
  [ -n "$next" ] || break
  last=$next
done
T=$(realpath "$T") D=$(realpath "$D")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
note=$tmp/note.json
"$T" notify template vd11.ch3.poc-designation |
  jq --arg p "$P" --argjson n $((serial + 1)) --arg t "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
     '.from = $p | .serial = $n | .sent = $t' > "$note"
cd "$tmp" # submit keeps its receipts in ./receipts
"$T" submit "$note" --key "$D/keys/$P.key" --server "$U" --vkey "$(sed -n 's/^log //p' "$D/policy")" >/dev/null
