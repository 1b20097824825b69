#!/bin/bash
# The main job, until the full treaty demo lands: sets up and builds, then creates a log,
# appends sample notifications in three batches (three checkpoints), prints the checkpoint,
# proves one entry, audits the whole log and has the Go oracle check it independently.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build >/dev/null
T=$PWD/build/treatylog
V=$PWD/build/tlogverify
D=${1:-$PWD/out/demo}
rm -rf "$D"
mkdir -p "$D"
echo "== keys: the operator's log key"
$T keygen demo.treatylog.example/log --out "$D/log"
echo "== a new log in $D/log.d"
$T init "$D/log.d" --key "$D/log.key"
i=0
for batch in 1 2 3; do
  : > "$D/batch.$batch"
  for n in $(seq 1 400); do
    i=$((i+1))
    printf '{"type":"vd11.ch5.notification","from":"P%02d","serial":%d,"body":{"troops":%d}}\n' \
      $((i % 12 + 1)) "$i" $(( (i * 7919) % 20000 )) >> "$D/batch.$batch"
  done
  echo "== batch $batch: append 400 entries"
  $T append "$D/log.d" --lines "$D/batch.$batch" >/dev/null
done
echo "== the published checkpoint"
cat "$D/log.d/checkpoint"
echo "== a tlog-proof for entry 777, checked offline"
$T prove "$D/log.d" --index 777 > "$D/777.tlog-proof"
sed -n 778p <(cat "$D"/batch.*) | tr -d '\n' > "$D/777.entry"
$T verify-proof --vkey "$D/log.pub" "$D/777.tlog-proof" "$D/777.entry"
echo "== consistency from the first checkpoint (400) to now"
$T prove "$D/log.d" --old 400
echo "== audit: every tile recomputed from the entries"
$T audit "$D/log.d" --vkey "$D/log.pub" --from-checkpoint "$D/log.d/checkpoints/400"
echo "== the Go reference implementation agrees"
$V tiles "$D/log.pub" "$D/log.d/checkpoint" "$D/log.d" --full --old-checkpoint "$D/log.d/checkpoints/400" | tail -1
echo "Log directory (servable as it is by any static web server): $D/log.d"
