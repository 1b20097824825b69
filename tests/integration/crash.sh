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
# times slower): kills are spread over 0 to 1.5 times that, so most land mid-run and some after.
$T init "$WORK/probe" --key "$WORK/k.key" >/dev/null 2>&1
t0=$(date +%s%N); head -n 20000 "$WORK/big" | $T append "$WORK/probe" --lines >/dev/null 2>&1; t1=$(date +%s%N)
span_ms=$(( (t1 - t0) * 3 / 2 / 1000000 + 20 ))
killed=0 completed=0 grew=0 badtrials=0
i=0
while [ $killed -lt "$TRIALS" ] && [ $i -lt $((TRIALS * 4)) ]; do
  i=$((i+1))
  # Each trial appends 1,000 to 20,000 entries (up to 80 tiles and bundles)
  # and is killed at a random moment: while reading, staging tiles, syncing, committing, or
  # (some trials) after it finished.
  head -n $((1000 + RANDOM % 19000)) "$WORK/big" > "$WORK/batch"
  $T append "$d" --lines "$WORK/batch" >/dev/null 2>&1 &
  pid=$!
  ms=$(( (RANDOM * 32768 + RANDOM) % span_ms ))
  sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
  [ $? -eq 137 ] && killed=$((killed+1))   # 128 + SIGKILL: it was still running
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
