#!/bin/bash
# Durability of `treatylog serve` (DESIGN §5): under concurrent load, kill -9 the server at
# random moments, at least 30 trials, restarting each time. Every submission that got a 200
# is in the log after the restart (wait=1: at the index its proof named; wait=0: findable by
# its leaf hash), the log passes audit, and every checkpoint it ever published is consistent
# with every later one (audit checks each archived checkpoint against the entries).
. "$(dirname "$0")/lib.bash"
TRIALS=${TL_SERVE_CRASH_TRIALS:-30}
WORKERS=4

$T keygen crash.example/log --out "$WORK/k" >/dev/null
VK=$WORK/k.pub
d=$WORK/log
$T init "$d" --key "$WORK/k.key" >/dev/null 2>&1

worker() { # trial worker: submit until the server is gone; log "code wait bodyfile"
  local t=$1 w=$2 i=0 code
  while :; do
    i=$((i+1))
    local f=$WORK/b.$t.$w.$i
    printf 'trial %d worker %d entry %d %d' "$t" "$w" "$i" "$RANDOM" > "$f"
    code=$(curl -s -o "$f.resp" -w '%{http_code}' --max-time 10 --data-binary @"$f" "$U/add?wait=$((i % 2))") || break
    echo "$code $((i % 2)) $f" >> "$WORK/acks.$t"
  done
}

acked=0 lost=0 checked=0 trials_ok=0
start_server "$d" --batch-ms 20 || { finish; exit 1; }
for t in $(seq 1 "$TRIALS"); do
  : > "$WORK/acks.$t"
  pids=()
  for w in $(seq 1 $WORKERS); do worker "$t" "$w" & pids+=($!); done
  sleep "0.$((200 + RANDOM % 700))"
  kill -9 "$SPID"; wait "$SPID" 2>/dev/null
  wait "${pids[@]}" 2>/dev/null
  start_server "$d" --batch-ms $((5 + RANDOM % 50)) || { bad "restart after trial $t"; break; }
  bad_here=0
  while read -r code wt f; do
    [ "$code" = 200 ] || continue
    acked=$((acked+1))
    if [ "$wt" = 1 ]; then
      # The proof it got back must still hold: its checkpoint was archived, and the entry is
      # at its index in the current log.
      idx=$(sed -n 's/^index //p' "$f.resp")
      code2=$(http_status GET "$U/v1/proof/inclusion?index=$idx")
      if [ "$code2" != 200 ] || ! $V proof "$VK" "$WORK/body" "$f" >/dev/null 2>&1 ||
         ! $V proof "$VK" "$f.resp" "$f" >/dev/null 2>&1; then
        lost=$((lost+1)); bad_here=1; echo "trial $t: lost $f (index $idx)"
      fi
    else
      leaf=$(sed -n 's/^leaf //p' "$f.resp")
      code2=$(http_status GET "$U/v1/proof" --get --data-urlencode "hash=$leaf")
      if [ "$code2" != 200 ] || ! $V proof "$VK" "$WORK/body" "$f" >/dev/null 2>&1; then
        lost=$((lost+1)); bad_here=1; echo "trial $t: lost receipted $f ($code2)"
      fi
    fi
    checked=$((checked+1))
  done < "$WORK/acks.$t"
  if ! $T audit "$d" --vkey "$VK" > "$WORK/audit.out" 2>&1; then
    bad_here=1; echo "trial $t: audit failed: $(cat "$WORK/audit.out")"
  fi
  [ $bad_here -eq 0 ] && trials_ok=$((trials_ok+1))
done
[ $lost -eq 0 ] && [ $checked -gt 0 ] && ok "$acked acknowledged submissions over $TRIALS kill -9 trials: none lost ($checked checked)" ||
  bad "$lost of $acked acknowledged submissions lost"
[ $trials_ok -eq "$TRIALS" ] && ok "every trial: log audits, every archived checkpoint consistent with the log" || bad "$((TRIALS - trials_ok)) trials failed"
expect_ok "oracle: the final log, in full" $V tiles "$VK" "$U/checkpoint" "$U" --full
stop_server
finish
