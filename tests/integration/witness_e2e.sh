#!/bin/bash
# End to end on loopback: a log with 3 witnesses and a 2-of-3 quorum (DESIGN §1, issue 4).
# With one witness down the log still publishes witnessed checkpoints; with two down it keeps
# sequencing, publishes no newer witnessed checkpoint and says so in /metrics and /healthz;
# when they return it catches up. A second history under the same key is refused by the
# witnesses and never gets a witnessed checkpoint.
. "$(dirname "$0")/lib.bash"
$T keygen e2e.example/log --out "$WORK/k" >/dev/null
VK=$WORK/k.pub
wurl=() wpid=()
start_witness() { # i
  local i=$1
  rm -f "$WORK/w$i.url"
  $T witness serve --dir "$WORK/w$i.state" --listen 127.0.0.1:0 --key "$WORK/w$i.key" \
    --log "e2e.example/log=$(cat "$VK")" > "$WORK/w$i.url" 2>>"$WORK/w$i.err" &
  wpid[$i]=$!
  for _ in $(seq 100); do [ -s "$WORK/w$i.url" ] && break; sleep 0.05; done
  wurl[$i]=$(head -1 "$WORK/w$i.url")
}
for i in 1 2 3; do
  $T keygen "w$i.example" --witness --out "$WORK/w$i" >/dev/null
  start_witness $i
  [ -n "${wurl[$i]}" ] || bad "witness $i did not start: $(cat "$WORK/w$i.err")"
done
# Witnesses restarted later must come back on the same port: remember it.
wport=("" "${wurl[1]##*:}" "${wurl[2]##*:}" "${wurl[3]##*:}")
{
  echo "log $(cat "$VK")"
  for i in 1 2 3; do echo "witness W$i $(cat "$WORK/w$i.pub") ${wurl[$i]}"; done
  echo "group two-of-three 2 W1 W2 W3"
  echo "quorum two-of-three"
} > "$WORK/policy"
d=$WORK/log
$T init "$d" --key "$WORK/k.key" >/dev/null 2>&1
start_server "$d" --batch-ms 20 --witness-policy "$WORK/policy" --witness-interval-ms 300 --witness-timeout-ms 1000 || { finish; exit 1; }

witnessed_size() { curl -s "$U/checkpoint" | sed -n 2p; }
wait_witnessed() { # SIZE: until /checkpoint is at least SIZE (5 s)
  for _ in $(seq 100); do [ "$(witnessed_size)" -ge "$1" ] 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
for i in $(seq 1 50); do curl -s -o /dev/null --data-binary "entry $i" "$U/add?wait=0"; done
sleep 0.2
wait_witnessed 50 && ok "all three up: /checkpoint is witnessed at size 50" || bad "not witnessed: $(curl -s "$U/checkpoint")"
curl -s "$U/checkpoint" > "$WORK/cp"
expect_ok "oracle: the served checkpoint carries 2 of 3 valid cosignatures" $V cosig "$WORK/w1.pub" "$WORK/w2.pub" "$WORK/w3.pub" -- "$WORK/cp" --min 2
expect_ok "oracle: log signature still verifies" $V note "$VK" "$WORK/cp"
expect_ok "treatylog audit over HTTP enforces the 2-of-3 policy" $T audit "$U" --policy "$WORK/policy"
printf 'entry 7' > "$WORK/e7"
leaf=$(printf '\0entry 7' | sha256sum | cut -d' ' -f1)
code=$(http_status GET "$U/v1/proof?hash=$leaf")
cp "$WORK/body" "$WORK/p7"
[ "$code" = 200 ] && ok "proof by hash against the witnessed checkpoint" || bad "proof by hash: $code"
expect_ok "verify-proof --policy (2 of 3) accepts it" $T verify-proof --policy "$WORK/policy" "$WORK/p7" "$WORK/e7"
expect_ok "oracle proof with the witness quorum accepts it" $V proof "$VK" "$WORK/p7" "$WORK/e7" --witness "$WORK/w1.pub" --witness "$WORK/w2.pub" --witness "$WORK/w3.pub" --min 2
# A stricter policy (all three) that the checkpoint may not meet is enforced too.
sed 's/^group two-of-three 2/group two-of-three all/' "$WORK/policy" > "$WORK/strict"
n=$(grep -c '^— w' "$WORK/p7" || true)
if [ "$n" -lt 3 ]; then expect_exit 1 "verify-proof refuses when the quorum is not met" $T verify-proof --policy "$WORK/strict" "$WORK/p7" "$WORK/e7"; else ok "(all three cosigned; strict policy met)"; fi

# One witness down: still witnessed.
kill -9 "${wpid[1]}"; wait "${wpid[1]}" 2>/dev/null
for i in $(seq 51 80); do curl -s -o /dev/null --data-binary "entry $i" "$U/add?wait=0"; done
wait_witnessed 80 && ok "one witness down: still witnessed (size 80)" || bad "one down: $(witnessed_size)"
# Two down: sequencing goes on, no newer witnessed checkpoint, and it says so.
kill -9 "${wpid[2]}"; wait "${wpid[2]}" 2>/dev/null
for i in $(seq 81 120); do curl -s -o /dev/null --data-binary "entry $i" "$U/add?wait=0"; done
code=$(http_status POST "$U/add" --data-binary "entry 121")
[ "$code" = 200 ] && [ "$(sed -n 's/^index //p' "$WORK/body")" = 120 ] && ok "two down: sequencing goes on (entry 121 at index 120)" || bad "two down: add $code"
sleep 1
[ "$(witnessed_size)" = 80 ] && ok "two down: /checkpoint stays at the last witnessed size (80)" || bad "witnessed moved to $(witnessed_size)"
code=$(http_status GET "$U/healthz")
[ "$code" = 503 ] && grep -q "quorum not met" "$WORK/body" && ok "healthz says so: $(cat "$WORK/body")" || bad "healthz: $code $(cat "$WORK/body")"
curl -s "$U/metrics" > "$WORK/m"
grep -q '^treatylog_witness_quorum_met 0$' "$WORK/m" && grep -q '^treatylog_witnessed_size 80$' "$WORK/m" && grep -q '^treatylog_tree_size 121$' "$WORK/m" &&
  grep -q 'treatylog_witness_up{witness="W1"} 0' "$WORK/m" && grep -q 'treatylog_witness_up{witness="W3"} 1' "$WORK/m" &&
  ok "metrics: quorum 0, witnessed 80, tree 121, W1 down, W3 up" || { bad "metrics"; grep witness "$WORK/m"; }
# They return (same state, same port): catch up.
for i in 1 2; do
  rm -f "$WORK/w$i.url"
  $T witness serve --dir "$WORK/w$i.state" --listen "127.0.0.1:${wport[$i]}" --key "$WORK/w$i.key" \
    --log "e2e.example/log=$(cat "$VK")" > "$WORK/w$i.url" 2>>"$WORK/w$i.err" &
  wpid[$i]=$!
done
sleep 0.3
wait_witnessed 121 && ok "witnesses back: caught up to 121" || bad "no catch-up: $(witnessed_size)"
code=$(http_status GET "$U/healthz"); [ "$code" = 200 ] && ok "healthz 200 again" || bad "healthz: $code $(cat "$WORK/body")"
curl -s "$U/checkpoint" > "$WORK/cp"
expect_ok "oracle: 3 of 3 cosignatures after the catch-up" $V cosig "$WORK/w1.pub" "$WORK/w2.pub" "$WORK/w3.pub" -- "$WORK/cp" --min 2
code=$(http_status GET "$U/v1/checkpoints?from=0")
[ "$code" = 200 ] && [ "$(jq '.checkpoints | length' "$WORK/body")" -ge 3 ] && [ "$(jq '.checkpoints[-1].size' "$WORK/body")" = 121 ] &&
  ok "GET /v1/checkpoints lists the witnessed checkpoints up to 121" || bad "/v1/checkpoints: $code $(head -c 300 "$WORK/body")"
expect_ok "monitor with the 2-of-3 policy verifies the log" $T monitor "$U" --policy "$WORK/policy" --state "$WORK/mon" --once
SA=$SPID; UA=$U

# A split view: same key, another history, same witnesses: refused, never witnessed.
$T init "$WORK/fork" --key "$WORK/k.key" >/dev/null 2>&1
start_server "$WORK/fork" --batch-ms 20 --witness-policy "$WORK/policy" --witness-interval-ms 300 --witness-timeout-ms 1000 || { finish; exit 1; }
SB=$SPID
for i in $(seq 1 130); do curl -s -o /dev/null --data-binary "forged entry $i" "$U/add?wait=0"; done
sleep 1.5
code=$(http_status GET "$U/checkpoint")
[ "$code" = 503 ] && ok "the second history never meets the quorum (GET /checkpoint: 503)" || bad "fork witnessed? $code $(cat "$WORK/body")"
curl -s "$U/metrics" > "$WORK/mf"
alarms=$(grep '^treatylog_witness_alarms_total' "$WORK/mf" | awk '{s+=$2} END {print s+0}')
[ "$alarms" -ge 2 ] && ok "witnesses refused it for inconsistency: $alarms alarms" || { bad "alarms: $alarms"; grep witness "$WORK/mf"; }
kill $SA $SB "${wpid[@]}" 2>/dev/null; wait 2>/dev/null
finish
