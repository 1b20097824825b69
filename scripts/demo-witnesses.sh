#!/bin/bash
# Runs a raw (generic) log on loopback with three
# neutral witnesses (2-of-3 quorum), submits a short series of entries, shows the
# witnessed checkpoint, proves an entry offline under the witness policy, audits the log and
# runs a State's monitor against it, then keeps the log running and prints its URL.
# Ctrl-C stops everything. Usage: scripts/demo-witnesses.sh [OUT_DIR] (default
# out/demo-witnesses). A raw log: the treaty demo is scripts/demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build >/dev/null
T=$PWD/build/treatylog
V=$PWD/build/tlogverify
D=${1:-$PWD/out/demo-witnesses}
PORT=${TL_DEMO_PORT:-8420}
rm -rf "$D"
mkdir -p "$D"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
say() { printf '\n== %s\n' "$*"; }

say "keys: the operator's log key and three witness keys"
$T keygen demo.treatylog.example/log --out "$D/log" >/dev/null
for i in 1 2 3; do $T keygen "witness$i.demo.example" --witness --out "$D/w$i" >/dev/null; done
cat "$D/log.pub"

say "three witnesses (C2SP tlog-witness) on loopback"
for i in 1 2 3; do
  $T witness serve --dir "$D/w$i.state" --listen 127.0.0.1:0 --key "$D/w$i.key" \
    --log "demo.treatylog.example/log=$(cat "$D/log.pub")" > "$D/w$i.url" 2>"$D/w$i.err" &
  pids+=($!)
done
for i in 1 2 3; do
  for _ in $(seq 100); do [ -s "$D/w$i.url" ] && break; sleep 0.05; done
  echo "witness $i: $(cat "$D/w$i.url")"
done
{
  echo "log $(cat "$D/log.pub")"
  for i in 1 2 3; do echo "witness W$i $(cat "$D/w$i.pub") $(cat "$D/w$i.url")"; done
  echo "group neutral-witnesses 2 W1 W2 W3"
  echo "quorum neutral-witnesses"
} > "$D/trust.policy"
echo "trust policy ($D/trust.policy): 2 of 3 witnesses"

say "the log: treatylog serve on http://127.0.0.1:$PORT"
$T init "$D/log.d" --key "$D/log.key" >/dev/null
$T serve --dir "$D/log.d" --listen "127.0.0.1:$PORT" --witness-policy "$D/trust.policy" \
  --witness-interval-ms 1000 > "$D/log.url" 2>"$D/serve.err" &
pids+=($!)
for _ in $(seq 100); do [ -s "$D/log.url" ] && break; sleep 0.05; done
U=$(cat "$D/log.url")
[ -n "$U" ] || { cat "$D/serve.err"; exit 1; }

say "notifications, as the States would send them (raw entries for now)"
n=0
while IFS= read -r line; do
  n=$((n+1))
  printf '%s' "$line" > "$D/n$n.json"
  curl -s --data-binary @"$D/n$n.json" "$U/add" > "$D/n$n.tlog-proof"
  printf '  %-28s -> entry %s\n' "$(printf '%s' "$line" | sed 's/.*"type":"\([^"]*\)".*"from":"\([^"]*\)".*/\2 \1/')" \
    "$(sed -n 's/^index //p' "$D/n$n.tlog-proof")"
done <<'NOTES'
{"type":"vd11.ch7.calendar","from":"XA","serial":1,"sent":"2024-11-15T09:00:00Z","body":{"year":2025,"nil":false}}
{"type":"vd11.ch5.notification","from":"XA","serial":2,"sent":"2025-03-01T09:00:00Z","body":{"activity":"XA-2025-EX01","troops_peak":12700,"start":"2025-04-20"}}
{"type":"vd11.ch3.explanation-request","from":"XB","serial":1,"sent":"2025-04-22T11:58:00Z","body":{"concerning":"XA","questions":["designation","end_date"]}}
{"type":"vd11.ch3.hazardous-incident","from":"XC","serial":1,"sent":"2025-05-02T07:10:00Z","body":{"occurred":"2025-05-02T05:40:00Z","severity":"minor"}}
{"type":"vd11.ch6.observation-report","from":"XB","serial":2,"sent":"2025-05-03T16:00:00Z","body":{"activity":"XA-2025-EX01","observed":{"troops":15400}}}
NOTES

say "the witnessed checkpoint (log signature + witness cosignatures)"
for _ in $(seq 100); do
  [ "$(curl -s "$U/checkpoint" | sed -n 2p)" = "$n" ] && break; sleep 0.1
done
curl -s "$U/checkpoint"
$V cosig "$D/w1.pub" "$D/w2.pub" "$D/w3.pub" -- <(curl -s "$U/checkpoint") --min 2 | tail -1

say "the third notification proved offline against the witnessed checkpoint, under the 2-of-3 policy"
leaf=$(printf '\0%s' "$(cat "$D/n3.json")" | sha256sum | cut -d' ' -f1)
curl -s "$U/v1/proof?hash=$leaf" > "$D/n3.witnessed.tlog-proof"
$T verify-proof --policy "$D/trust.policy" "$D/n3.witnessed.tlog-proof" "$D/n3.json"

say "a State's monitor: every checkpoint and entry verified, forks reported"
$T monitor "$U" --policy "$D/trust.policy" --state "$D/monitor" --once

say "a full audit over HTTP: every tile recomputed from the entries"
$T audit "$U" --policy "$D/trust.policy"

say "the Go reference implementation agrees"
$V tiles "$D/log.pub" "$U/checkpoint" "$U" --full | tail -1

cat <<MSG

The log is live at $U  (log directory: $D/log.d)
  curl $U/checkpoint
  curl --data-binary 'your notification' $U/add
  curl $U/metrics
Ctrl-C to stop.
MSG
wait "${pids[-1]}"
