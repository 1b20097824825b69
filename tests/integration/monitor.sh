#!/bin/bash
# treatylog monitor: follows a served log (signature, quorum, consistency, every entry), keeps
# its state across runs, and, shown a second history under the same key (a split view),
# reports the fork with both checkpoints as proof and exits 1.
. "$(dirname "$0")/lib.bash"
$T keygen split.example/log --out "$WORK/k" >/dev/null
$T keygen other.example/log --out "$WORK/o" >/dev/null
VK=$WORK/k.pub
printf 'log %s\nquorum none\n' "$(cat "$VK")" > "$WORK/policy"
printf 'log %s\nquorum none\n' "$(cat "$WORK/o.pub")" > "$WORK/wrong.policy"
$T init "$WORK/A" --key "$WORK/k.key" >/dev/null 2>&1
cp -r "$WORK/A" "$WORK/B"                      # same key, same empty start
start_server "$WORK/A" --batch-ms 10 || { finish; exit 1; }
UA=$U; PA=$SPID
for i in $(seq 1 300); do echo "A entry $i"; done > "$WORK/a1"
curl -s -o /dev/null -w '' --data-binary @"$WORK/a1" "$UA/add"
for i in $(seq 1 40); do curl -s -o /dev/null --data-binary "A entry $i" "$UA/add?wait=0"; done
sleep 0.2
expect_ok "monitor: first poll verifies the whole log" $T monitor "$UA" --policy "$WORK/policy" --state "$WORK/st" --once
grep -q '"event":"verified"' "$WORK/last.out" && grep -q '"size":41' "$WORK/last.out" && ok "...and reports it as a JSON line" || bad "monitor output: $(cat "$WORK/last.out")"
for i in $(seq 41 90); do curl -s -o /dev/null --data-binary "A entry $i" "$UA/add?wait=0"; done
sleep 0.2
expect_ok "monitor: a later poll verifies only the new entries" $T monitor "$UA" --policy "$WORK/policy" --state "$WORK/st" --once
grep -q '"new_entries":50' "$WORK/last.out" && ok "...50 new entries" || bad "monitor output: $(cat "$WORK/last.out")"
expect_ok "monitor: nothing new, nothing said" $T monitor "$UA" --policy "$WORK/policy" --state "$WORK/st" --once
[ ! -s "$WORK/last.out" ] && ok "...(no output)" || bad "unexpected: $(cat "$WORK/last.out")"
expect_exit 1 "monitor: a checkpoint the policy does not trust" $T monitor "$UA" --policy "$WORK/wrong.policy" --state "$WORK/st.w" --once
grep -q '"event":"bad_checkpoint"' "$WORK/last.out" && ok "...reported as bad_checkpoint" || bad "$(cat "$WORK/last.out")"

# Split view: B has another history under the same key.
start_server "$WORK/B" --batch-ms 10 || { finish; exit 1; }
UB=$U; PB=$SPID
for i in $(seq 1 120); do curl -s -o /dev/null --data-binary "B entry $i" "$UB/add?wait=0"; done
sleep 0.3
$T monitor "$UB" --policy "$WORK/policy" --state "$WORK/st" --once > "$WORK/fork.json" 2> "$WORK/fork.err"
rc=$?
[ $rc -eq 1 ] && grep -q '"event":"fork"' "$WORK/fork.json" && ok "monitor shown the second history reports a fork, exit 1" || bad "fork: rc $rc $(cat "$WORK/fork.json")"
# Both checkpoints are in the report, both validly signed by the log: the proof.
jq -j .verified "$WORK/fork.json" > "$WORK/cp.verified"
jq -j .presented "$WORK/fork.json" > "$WORK/cp.presented"
expect_ok "the verified checkpoint in the report is signed by the log" $V note "$VK" "$WORK/cp.verified"
expect_ok "the presented checkpoint in the report is signed by the log" $V note "$VK" "$WORK/cp.presented"
[ "$(sed -n 3p "$WORK/cp.verified")" != "$(sed -n 3p "$WORK/cp.presented")" ] && ok "...with different roots" || bad "same roots"
# A monitor with its own state on B alone sees a consistent log.
expect_ok "a fresh monitor on B alone verifies it" $T monitor "$UB" --policy "$WORK/policy" --state "$WORK/st.b" --once
expect_exit 2 "a second monitor on the same state refuses" bash -c "flock -x '$WORK/st/lock' -c '$T monitor $UA --policy $WORK/policy --state $WORK/st --once'"
kill $PA $PB; wait $PA $PB 2>/dev/null
finish
