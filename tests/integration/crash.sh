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
killed=0 completed=0 grew=0 badtrials=0
for i in $(seq 1 "$TRIALS"); do
  # Each trial appends 40000 entries (several hundred tiles) and is killed somewhere inside.
  $T append "$d" --lines "$WORK/big" >/dev/null 2>&1 &
  pid=$!
  sleep "0.$(printf '%03d' $((RANDOM % 250)))"
  if kill -9 $pid 2>/dev/null; then killed=$((killed+1)); fi
  wait $pid 2>/dev/null
  if ! $T audit "$d" --vkey "$VK" --from-checkpoint "$WORK/prev" >"$WORK/audit.out" 2>&1; then
    badtrials=$((badtrials+1)); echo "trial $i: audit failed:"; cat "$WORK/audit.out"
    continue
  fi
  old=$(sed -n 2p "$WORK/prev"); new=$(sed -n 2p "$d/checkpoint")
  if [ "$new" -lt "$old" ]; then badtrials=$((badtrials+1)); echo "trial $i: size went back $old -> $new"; fi
  if [ "$new" -gt "$old" ]; then grew=$((grew+1)); fi
  cp "$d/checkpoint" "$WORK/prev"
  if [ "$(ls -A "$d/.treatylog/tmp" 2>/dev/null | wc -l)" -gt 0 ]; then
    # Leftovers are allowed after a kill, but the next writer must clear them.
    :
  fi
done
[ $badtrials -eq 0 ] && ok "$TRIALS kill -9 trials ($killed killed mid-run, $grew published a new checkpoint): every log audits, every checkpoint consistent with the previous" ||
  bad "$badtrials of $TRIALS crash trials left a bad log"
[ $killed -ge $((TRIALS / 2)) ] && ok "most trials were really killed mid-run ($killed)" || bad "only $killed of $TRIALS trials were killed mid-run: timing too loose"
# The log still works after all that, and the leftovers of the killed writers are gone.
head -10 "$WORK/big" > "$WORK/small"
expect_ok "append after the crashes" $T append "$d" --lines "$WORK/small"
[ "$(ls -A "$d/.treatylog/tmp" | wc -l)" -eq 0 ] && ok "temp leftovers cleared by the next writer" || bad "temp leftovers remain"
expect_ok "final audit against the last pre-append checkpoint" $T audit "$d" --vkey "$VK" --from-checkpoint "$WORK/prev"
expect_ok "oracle agrees (full)" $V tiles "$VK" "$d/checkpoint" "$d" --full --old-checkpoint "$WORK/prev"
finish
