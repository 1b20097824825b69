#!/bin/bash
# Crash safety of `treatylog append` (DESIGN §5): kill -9 at random moments, at least 50
# trials. After each: the log passes audit, the published checkpoint is consistent with the
# one published before it (audit --from-checkpoint), it only ever grows, and the next append
# works (the lock died with the process; leftovers are cleaned up).
. "$(dirname "$0")/lib.bash"
TRIALS=${TL_CRASH_TRIALS:-50}

$T keygen crash.example/log --out "$WORK/k" >/dev/null
VK=$WORK/k.pub
d=$WORK/log
$T init "$d" --key "$WORK/k.key" >/dev/null 2>&1
records 40000 "$WORK/big"
cp "$d/checkpoint" "$WORK/prev"
# How long an uninterrupted append of 20,000 entries takes here (sanitizer builds are several
# times slower; the slowest of three probes). From it, each trial's expected duration E for
# its batch: odd trials are killed at a random moment in [0, E) (mid-run), even ones in
# [0.7 E, 1.6 E) (around the sync and the commit, or just after), so both kinds always occur.
probe_ms=0
for p in 1 2 3; do
  $T init "$WORK/probe$p" --key "$WORK/k.key" >/dev/null 2>&1
  t0=$(date +%s%N); head -n 20000 "$WORK/big" | $T append "$WORK/probe$p" --lines >/dev/null 2>&1; t1=$(date +%s%N)
  ms=$(( (t1 - t0) / 1000000 )); [ $ms -gt $probe_ms ] && probe_ms=$ms
done
killed=0 completed=0 grew=0 badtrials=0
i=0
late=10   # tenths of E where the even trials' window starts; moves later while none publish
early=10  # tenths of E where the odd trials' window ends; moves earlier when one finishes
while { [ $killed -lt "$TRIALS" ] || [ $grew -lt 1 ]; } && [ $i -lt $((TRIALS * 4)) ]; do
  i=$((i+1))
  # Each trial appends 1,000 to 20,000 entries (up to 80 tiles and bundles)
  # and is killed at a random moment: while reading, staging tiles, syncing, committing, or
  # (some trials) after it finished.
  n=$((1000 + RANDOM % 19000))
  head -n $n "$WORK/big" > "$WORK/batch"
  e_ms=$(( probe_ms * n / 20000 + 5 ))
  $T append "$d" --lines "$WORK/batch" >/dev/null 2>&1 &
  pid=$!
  if [ $((i % 2)) -eq 1 ]; then ms=$(( (RANDOM * 32768 + RANDOM) % (e_ms * early / 10 + 1) ))
  else ms=$(( e_ms * (late - 3) / 10 + (RANDOM * 32768 + RANDOM) % (e_ms * 9 / 10 + 1) )); fi
  sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
  if [ $? -eq 137 ]; then   # 128 + SIGKILL: it was still running
    killed=$((killed+1))
    [ $((i % 2)) -eq 0 ] && [ $grew -eq 0 ] && late=$((late + 2))
  elif [ $((i % 2)) -eq 1 ] && [ $early -gt 2 ]; then
    early=$((early - 1))
  fi
  if ! $T audit "$d" --vkey "$VK" --from-checkpoint "$WORK/prev" >"$WORK/audit.out" 2>&1; then
    badtrials=$((badtrials+1)); echo "trial $i: audit failed:"; cat "$WORK/audit.out"
    continue
  fi
  old=$(sed -n 2p "$WORK/prev"); new=$(sed -n 2p "$d/checkpoint")
  if [ "$new" -lt "$old" ]; then badtrials=$((badtrials+1)); echo "trial $i: size went back $old -> $new"; fi
  if [ "$new" -gt "$old" ]; then grew=$((grew+1)); fi
  cp "$d/checkpoint" "$WORK/prev"
done
[ $badtrials -eq 0 ] && ok "$i trials ($killed killed mid-run by kill -9, $grew published a new checkpoint): every log audits, every checkpoint consistent with the previous" ||
  bad "$badtrials of $i crash trials left a bad log"
[ $killed -ge "$TRIALS" ] && ok "at least $TRIALS appends were killed mid-run ($killed)" || bad "only $killed of $i trials were killed mid-run"
[ $grew -ge 1 ] && ok "some trials published before or while being killed ($grew)" || bad "no trial ever published: timing too tight"
# The log still works after all that, and the leftovers of the killed writers are gone.
head -10 "$WORK/big" > "$WORK/small"
expect_ok "append after the crashes" $T append "$d" --lines "$WORK/small"
[ "$(ls -A "$d/.treatylog/tmp" | wc -l)" -eq 0 ] && ok "temp leftovers cleared by the next writer" || bad "temp leftovers remain"
expect_ok "final audit against the last pre-append checkpoint" $T audit "$d" --vkey "$VK" --from-checkpoint "$WORK/prev"
expect_ok "oracle agrees (full)" $V tiles "$VK" "$d/checkpoint" "$d" --full --old-checkpoint "$WORK/prev"
finish
