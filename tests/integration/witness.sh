#!/bin/bash
# treatylog witness serve over HTTP: the test-vectors §6.3 exchanges byte for byte (clock
# fixed); every status code; the state survives kill -9; a rollback is refused; a split view
# (two logs, one key, two histories) is cosigned once and then refused, with evidence and an
# alarm; interop with the Go oracle both ways (witness-req / witness-check / cosig, and
# cosignatures made by tlogverify cosign accepted by treatylog); settings and config file.
. "$(dirname "$0")/lib.bash"

# start_witness NAME ARGS...: starts a witness; sets WU (its URL) and WPID.
start_witness() {
  local name=$1; shift
  rm -f "$WORK/$name.url"
  $T witness serve --listen 127.0.0.1:0 "$@" > "$WORK/$name.url" 2>>"$WORK/$name.err" &
  WPID=$!
  for _ in $(seq 100); do [ -s "$WORK/$name.url" ] && break; sleep 0.05; done
  WU=$(head -1 "$WORK/$name.url" 2>/dev/null)
  if [ -z "$WU" ]; then bad "witness $name did not start"; cat "$WORK/$name.err"; return 1; fi
}
# post FILE: POSTs FILE to $WU/add-checkpoint; prints the status; body in $WORK/body,
# headers in $WORK/hdr.
post() { curl -s -D "$WORK/hdr" -o "$WORK/body" -w '%{http_code}' --data-binary @"$1" "$WU/add-checkpoint"; }
ctype() { tr -d '\r' < "$WORK/hdr" | sed -n 's/^[Cc]ontent-[Tt]ype: //p'; }
hexof() { printf '%s' "$1" | sha256sum | cut -c1-64; }

# ---- 1. The §6.3 vectors, byte for byte, with the clock fixed at 1767139200 ----
EM=$(printf '\xe2\x80\x94')
LOGV='treatylog.example/test-log+b32a3142+AQ64NRjkpgPvbHp1LFPAugV/+u7R+Ty0APo7d2dkcYt0'
printf 'PRIVATE+KEY+treatylog.example/test-witness+6a9442cd+BMkdeZbK33ahbRpzsUlwRT0aLejTSOol1dEoHdKDbr9e\n' > "$WORK/tw.key"
printf 'treatylog.example/test-witness+6a9442cd+BOHrja/sexzmy+kdvxQLWNFvx/R9aP8WfSXo8Jpirh9o\n' > "$WORK/tw.pub"
printf 'treatylog.example/test-log\n256\n3JNJ+Xh+0Ahtptl/Z5xRpRmPmORW6Vsdh/o6vAEv7DE=\n\n%s treatylog.example/test-log syoxQhHgnihAb9MUl08RRxVGQ2kKBvX+2KRPV/9DXI8a18d5vDXdTnx1LnhXz8jueaXzx/M6K1MR3wxaMpviOAz3Ow8=\n' "$EM" > "$WORK/cp256"
printf 'treatylog.example/test-log\n300\ngw31yQrqZZCcEOPrzX+bpy3nJ6QgngTKn8G1m0i62uU=\n\n%s treatylog.example/test-log syoxQmxdiQZDcJmTQkyEOhtoMCeigbYbe5ihpVQAoO4DVvUpW4eo0BwNMkvknZkWkymvouUAlsrWblus4pRTP+gTkA4=\n' "$EM" > "$WORK/cp300"
printf 'treatylog.example/test-log\n300\nZVjcND4jnQRPr7u4Q2q9JjJFx+0XgH5M20jlRAGroAE=\n\n%s treatylog.example/test-log syoxQm9WkaqZqPD/nPcLZ2y9nifx123e6SFhHYM8AYu8sO2UrMaUCMCIxwFZ0IFD2njoD3qikXo9e0JXtgHyug3xdwo=\n' "$EM" > "$WORK/cpfork"
{ printf 'old 0\n\n'; cat "$WORK/cp256"; } > "$WORK/req0"
{ printf 'old 256\nuwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf8=\n\n'; cat "$WORK/cp300"; } > "$WORK/req1"
[ "$(sha256sum < "$WORK/req0" | cut -c1-64)" = 88a3e0fc09fe97cfb3ac8b28b247eb625bfd0bdc92c9ee7cdbc9141eb490ef24 ] &&
  [ "$(sha256sum < "$WORK/req1" | cut -c1-64)" = 2984c3d106b75bb7a41e266e0f0fad9bb5db559f66572ce1554a1867279cf434 ] &&
  ok "REQ0 and REQ1 rebuilt byte for byte" || bad "REQ0/REQ1 fixtures"
printf '%s treatylog.example/test-witness apRCzQAAAABpVGeA0xRvHY7teXN9+zVuUgrYVoPUuTDRuEK1iTOWvT8rU3rZXH5gw18YBvkn7YxumaQIdlX3h7Hq1iM460PiKst4Cw==\n' "$EM" > "$WORK/want0"
printf '%s treatylog.example/test-witness apRCzQAAAABpVGeAhwx6A4yhLn3WMdMG1eqfA8HhUF3d087aq/VPyuKeK+BKysn/bxSI7Ztfa1lhfujNZJUQdl8VHW3CXeVmVc9JDA==\n' "$EM" > "$WORK/want1"

start_witness vec --dir "$WORK/vec" --key "$WORK/tw.key" --log "treatylog.example/test-log=$LOGV" --fixed-time 1767139200 || { finish; exit 1; }
code=$(post "$WORK/req0")
[ "$code" = 200 ] && cmp -s "$WORK/body" "$WORK/want0" && [ "$(ctype)" = "text/plain; charset=utf-8" ] &&
  ok "REQ0: 200 with the published cosignature line, text/plain" || bad "REQ0: $code $(cat "$WORK/body")"
expect_ok "oracle witness-check accepts the REQ0 reply" $V witness-check "$WORK/tw.pub" "$WORK/cp256" "$WORK/body"
code=$(post "$WORK/req1")
[ "$code" = 200 ] && cmp -s "$WORK/body" "$WORK/want1" && [ "$(wc -c < "$WORK/body")" -eq 140 ] &&
  ok "REQ1: 200 with the published 140-byte line" || bad "REQ1: $code $(cat "$WORK/body")"
code=$(post "$WORK/req1")
[ "$code" = 409 ] && [ "$(cat "$WORK/body")" = 300 ] && [ "$(ctype)" = "text/x.tlog.size" ] &&
  ok "REQ1 again: 409, body 300, text/x.tlog.size" || bad "REQ1 again: $code $(ctype) $(cat "$WORK/body")"
{ printf 'old 300\n\n'; cat "$WORK/cp300"; } > "$WORK/r"
code=$(post "$WORK/r"); [ "$code" = 200 ] && cmp -s "$WORK/body" "$WORK/want1" && ok "old 300 + CP300: 200, the same line (re-cosign)" || bad "re-cosign: $code"
{ printf 'old 300\n\n'; cat "$WORK/cpfork"; } > "$WORK/r"
code=$(post "$WORK/r"); [ "$code" = 409 ] && [ "$(cat "$WORK/body")" = 300 ] && ok "old 300 + CPFORK: 409 300 (v1.0.0)" || bad "fork: $code $(cat "$WORK/body")"
{ printf 'old 300\nLZyLHMeqJdyfbU5vjIh3SRPtzjfZ9aaRE3/Ttcs+ETc=\n\n'; cat "$WORK/cp300"; } > "$WORK/r"
code=$(post "$WORK/r"); [ "$code" = 422 ] && ok "old 300 + a proof + CP300: 422" || bad "422: $code"
hex=$(hexof treatylog.example/test-log)
code=$(http_status GET "$WU/$hex/checkpoint")
{ cat "$WORK/cp300" "$WORK/want1"; } > "$WORK/want.rec"
[ "$code" = 200 ] && cmp -s "$WORK/body" "$WORK/want.rec" && ok "GET /<sha256(origin)>/checkpoint: CP300 with the log signature and the cosignature" || bad "GET checkpoint: $code $(cat "$WORK/body")"
expect_ok "oracle: note (log signature) of the served record" $V note "$LOGV" "$WORK/body"
expect_ok "oracle: cosig of the served record" $V cosig "$WORK/tw.pub" -- "$WORK/body"
ls "$WORK/vec/evidence/"* >/dev/null 2>&1 && [ "$(ls "$WORK/vec/evidence" | wc -l)" -eq 2 ] &&
  grep -q '^status 409$' "$WORK/vec/evidence/"* && ok "the fork (409) and the bad proof (422) left 2 evidence files" || bad "evidence: $(ls "$WORK/vec/evidence")"
curl -s "$WU/metrics" > "$WORK/m"
grep -q '^treatylog_witness_inconsistent_total 2$' "$WORK/m" && grep -q '^treatylog_witness_cosignatures_total 3$' "$WORK/m" &&
  grep -q 'treatylog_witness_add_checkpoint_total{code="409"} 2' "$WORK/m" && ok "metrics: 3 cosignatures, 2 alarms, 409 count" || { bad "metrics"; grep -v '^#' "$WORK/m"; }
grep -q "ALARM: origin treatylog.example/test-log refused for inconsistency" "$WORK/vec.err" && ok "the alarm is logged on stderr" || bad "no alarm line: $(cat "$WORK/vec.err")"
stop_wit() { kill -TERM "$WPID" 2>/dev/null; wait "$WPID"; }
stop_wit; rc=$?
[ $rc -eq 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM exit $rc"

# ---- 2. Real logs: every status, restart after kill -9, rollback, split view ----
$T keygen wit.example/log --out "$WORK/k" >/dev/null
$T keygen other.example/log --out "$WORK/o" >/dev/null
$T keygen wit.example/w1 --witness --out "$WORK/w" >/dev/null
VK=$WORK/k.pub
ORIG=wit.example/log
A=$WORK/A; B=$WORK/B
$T init "$A" --key "$WORK/k.key" >/dev/null 2>&1
$T init "$B" --key "$WORK/k.key" >/dev/null 2>&1      # same key, another history
records 100 "$WORK/ra"; $T append "$A" --lines "$WORK/ra" >/dev/null 2>&1
seq 0 99 | sed 's/^/forged /' > "$WORK/rb"; $T append "$B" --lines "$WORK/rb" >/dev/null 2>&1
printf 'log %s\n' "$ORIG=$(cat "$VK")" > "$WORK/w.conf"
printf 'dir %s\nkey %s\n# a comment\n\naccess-log %s\n' "$WORK/st" "$WORK/w.key" "$WORK/access.log" >> "$WORK/w.conf"
start_witness w --config "$WORK/w.conf" || { finish; exit 1; }

$V witness-req 0 - "$A/checkpoint" "$A" --vkey "$VK" > "$WORK/a100" 2>/dev/null || bad "oracle witness-req A 100"
code=$(post "$WORK/a100")
cp "$WORK/body" "$WORK/resp.a100"
[ "$code" = 200 ] && ok "oracle-built request (old 0, size 100): 200" || bad "a100: $code $(cat "$WORK/body")"
expect_ok "oracle witness-check accepts the cosignature (clock within 60 s)" $V witness-check "$WORK/w.pub" "$A/checkpoint" "$WORK/resp.a100" --max-skew 60
cat "$A/checkpoint" "$WORK/resp.a100" > "$WORK/a100.cosigned"
expect_ok "oracle cosig accepts the cosigned checkpoint" $V cosig "$WORK/w.pub" -- "$WORK/a100.cosigned"
expect_ok "oracle note: the log signature still verifies" $V note "$VK" "$WORK/a100.cosigned"

# 400s
printf 'garbage' > "$WORK/r"; code=$(post "$WORK/r"); [ "$code" = 400 ] && ok "garbage body: 400" || bad "garbage: $code"
{ printf 'old 01\n\n'; cat "$A/checkpoint"; } > "$WORK/r"; code=$(post "$WORK/r"); [ "$code" = 400 ] && ok "old 01: 400" || bad "old 01: $code"
{ printf 'old 100\nnot-base64!\n\n'; cat "$A/checkpoint"; } > "$WORK/r"; code=$(post "$WORK/r"); [ "$code" = 400 ] && ok "bad base64 proof line: 400" || bad "b64: $code"
{ echo 'old 0'; for i in $(seq 64); do echo 'uwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf8='; done; echo; cat "$A/checkpoint"; } > "$WORK/r"
code=$(post "$WORK/r"); [ "$code" = 400 ] && grep -q "more than 63" "$WORK/body" && ok "64 proof lines: 400" || bad "64 lines: $code"
{ printf 'old 101\n\n'; cat "$A/checkpoint"; } > "$WORK/r"; code=$(post "$WORK/r"); [ "$code" = 400 ] && ok "old > size: 400" || bad "old>size: $code"
# 403: the configured origin, signed by another key
$T init "$WORK/C" --key "$WORK/o.key" --origin "$ORIG" >/dev/null 2>&1
$T append "$WORK/C" --lines "$WORK/ra" >/dev/null 2>&1
{ printf 'old 100\n\n'; cat "$WORK/C/checkpoint"; } > "$WORK/r"; code=$(post "$WORK/r"); [ "$code" = 403 ] && ok "checkpoint of our origin under another key: 403" || bad "403: $code $(cat "$WORK/body")"
# 404: an origin nobody configured
$T init "$WORK/D" --key "$WORK/o.key" >/dev/null 2>&1
$T append "$WORK/D" --lines "$WORK/ra" >/dev/null 2>&1
{ printf 'old 0\n\n'; cat "$WORK/D/checkpoint"; } > "$WORK/r"; code=$(post "$WORK/r"); [ "$code" = 404 ] && ok "unknown origin: 404" || bad "404: $code"
# 405, 413, unknown paths
code=$(http_status GET "$WU/add-checkpoint"); [ "$code" = 405 ] && ok "GET add-checkpoint: 405" || bad "405: $code"
head -c 200000 /dev/zero | tr '\0' 'x' > "$WORK/big"; code=$(post "$WORK/big"); [ "$code" = 413 ] && ok "200 kB body: 413" || bad "413: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big" "$WU/add-checkpoint")
[ "$code" = 413 ] && ok "200 kB chunked body (no Content-Length): 413" || bad "chunked 413: $code"
curl -sv -o /dev/null -o /dev/null "$WU/healthz" "$WU/$(hexof "$ORIG")/checkpoint" 2> "$WORK/kv"
grep -qi "re-using existing connection" "$WORK/kv" && ok "GETs keep the connection alive" || bad "no keep-alive: $(grep -i connection "$WORK/kv")"
code=$(http_status GET "$WU/nope"); [ "$code" = 404 ] && ok "unknown path: 404" || bad "unknown path: $code"
code=$(http_status GET "$WU/$(hexof other.example/log)/checkpoint"); [ "$code" = 404 ] && ok "GET checkpoint of an unknown origin: 404" || bad "$code"
code=$(http_status GET "$WU/healthz"); [ "$code" = 200 ] && ok "healthz: 200 ($(cat "$WORK/body"))" || bad "healthz $code"
# 409 and 422: the split view. B has the same size and key, another root.
$V witness-req 100 - "$B/checkpoint" "$B" --vkey "$VK" > "$WORK/b100" 2>/dev/null
code=$(post "$WORK/b100"); [ "$code" = 409 ] && [ "$(cat "$WORK/body")" = 100 ] && ok "split view, same size: 409 with size 100 (fork evidence)" || bad "b100: $code $(cat "$WORK/body")"
seq 100 149 | sed 's/^/forged /' > "$WORK/rb2"; $T append "$B" --lines "$WORK/rb2" >/dev/null 2>&1
$V witness-req 100 - "$B/checkpoint" "$B" --vkey "$VK" > "$WORK/b150" 2>/dev/null
code=$(post "$WORK/b150"); [ "$code" = 422 ] && ok "split view, B grown to 150 with B's own proof: 422" || bad "b150: $code $(cat "$WORK/body")"
$V witness-req 0 - "$B/checkpoint" "$B" --vkey "$VK" > "$WORK/b0" 2>/dev/null
code=$(post "$WORK/b0"); [ "$code" = 409 ] && [ "$(cat "$WORK/body")" = 100 ] && ok "split view, old 0: 409 with size 100" || bad "b0: $code"
n=$(ls "$WORK/st/evidence" | wc -l)
[ "$n" -eq 2 ] && ok "2 evidence files (409 same size, 422)" || bad "evidence files: $n"
f=$(ls "$WORK/st/evidence" | head -1)
case "$f" in *-"$(hexof "$ORIG")"*) ok "evidence named <time>-<sha256(origin)>";; *) bad "evidence name $f";; esac
cat "$WORK/st/evidence/"* > "$WORK/ev"
grep -q '^treatylog-witness-evidence/v1$' "$WORK/ev" && grep -q "^origin $ORIG\$" "$WORK/ev" && grep -qF "$(sed -n 3p "$B/checkpoint")" "$WORK/ev" &&
  grep -qF "$(sed -n 3p "$A/checkpoints/100")" "$WORK/ev" && ok "evidence holds both roots: the stored checkpoint and the refused one" || bad "evidence content"
# Anyone can replay the log's signed checkpoint with junk proofs: no new evidence for that.
code=$(post "$WORK/b150"); [ "$code" = 422 ] || bad "b150 replay: $code"
{ printf 'old 100\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n'; sed -n '/^$/,$p' "$WORK/b150" | tail -n +2; } > "$WORK/r"
code=$(post "$WORK/r"); [ "$code" = 422 ] || bad "junk proof: $code"
[ "$(ls "$WORK/st/evidence" | wc -l)" -eq 2 ] && ok "replays with junk proofs leave no new evidence" || bad "evidence grew: $(ls "$WORK/st/evidence" | wc -l)"
curl -s "$WU/metrics" > "$WORK/m"
grep -q '^treatylog_witness_inconsistent_total 2$' "$WORK/m" && grep -q '^treatylog_witness_inconsistent_repeats_total 2$' "$WORK/m" &&
  ok "metrics alarm: 2 distinct, 2 repeats" || bad "alarm metric: $(grep inconsistent "$WORK/m")"
for c in 200 400 403 404 405 409 413 422; do
  grep -q "treatylog_witness_http_responses_total{code=\"$c\"} [1-9]" "$WORK/m" || bad "no $c counted"
done
ok "every status code was counted in /metrics"
grep -q 'POST /add-checkpoint 200' "$WORK/access.log" && ok "access log (from the config file)" || bad "access log"

# A grows; the witness follows with the oracle's consistency proofs.
records 130 "$WORK/ra2"; sed -n '101,130p' "$WORK/ra2" > "$WORK/ra.more"
$T append "$A" --lines "$WORK/ra.more" >/dev/null 2>&1
$V witness-req 100 "$(sed -n 3p "$A/checkpoints/100")" "$A/checkpoint" "$A" --vkey "$VK" > "$WORK/a130" 2>/dev/null
code=$(post "$WORK/a130"); [ "$code" = 200 ] && ok "A 100 -> 130 with a proof: 200" || bad "a130: $code $(cat "$WORK/body")"

# A second witness on the same state directory is refused.
$T witness serve --config "$WORK/w.conf" --listen 127.0.0.1:0 > /dev/null 2> "$WORK/second.err"
[ $? -eq 2 ] && grep -q "in use" "$WORK/second.err" && ok "a second witness on the same state dir refuses" || bad "second: $(cat "$WORK/second.err")"

# kill -9, restart: the acknowledged state is there.
kill -9 "$WPID"; wait "$WPID" 2>/dev/null
start_witness w --config "$WORK/w.conf" || { finish; exit 1; }
code=$(http_status GET "$WU/$(hexof "$ORIG")/checkpoint")
[ "$code" = 200 ] && [ "$(sed -n 2p "$WORK/body")" = 130 ] && ok "after kill -9: GET checkpoint still at 130" || bad "after kill -9: $code"
code=$(post "$WORK/a130"); [ "$code" = 409 ] && [ "$(cat "$WORK/body")" = 130 ] && ok "after kill -9: the same request is a 409 (130)" || bad "$code"
# Rollback: an older checkpoint after a newer one.
{ printf 'old 0\n\n'; cat "$A/checkpoints/100"; } > "$WORK/r"
code=$(post "$WORK/r"); [ "$code" = 409 ] && [ "$(cat "$WORK/body")" = 130 ] && ok "rollback to 100 (old 0): 409 130" || bad "rollback: $code"
{ printf 'old 130\n\n'; cat "$A/checkpoints/100"; } > "$WORK/r"
code=$(post "$WORK/r"); [ "$code" = 400 ] && ok "rollback to 100 (old 130): 400" || bad "rollback old 130: $code"
code=$(post "$WORK/a100"); [ "$code" = 409 ] && ok "the first request replayed: 409" || bad "replay: $code"
# Many requests at once for one origin: exactly one 200 per new size.
records 140 "$WORK/ra3"; sed -n '131,140p' "$WORK/ra3" | $T append "$A" --lines >/dev/null 2>&1
$V witness-req 130 - "$A/checkpoint" "$A" --vkey "$VK" > "$WORK/a140" 2>/dev/null
for i in $(seq 1 20); do curl -s -o /dev/null -w '%{http_code}\n' --data-binary @"$WORK/a140" "$WU/add-checkpoint" & done > "$WORK/codes"
wait $(jobs -p | grep -v "^$WPID$") 2>/dev/null
[ "$(grep -c '^200$' "$WORK/codes")" -eq 1 ] && [ "$(grep -c '^409$' "$WORK/codes")" -eq 19 ] &&
  ok "20 concurrent copies of one request: one 200, nineteen 409" || bad "concurrent: $(sort "$WORK/codes" | uniq -c | tr '\n' ' ')"
stop_wit

# Settings: errors name the problem; exit 2.
expect_exit 2 "no --log: usage error" $T witness serve --dir "$WORK/x" --key "$WORK/w.key"
expect_exit 2 "a log key as the witness key is refused" $T witness serve --dir "$WORK/x" --key "$WORK/k.key" --log "$ORIG=$(cat "$VK")"
stderr_has "not a witness key" "...saying so"
expect_exit 2 "a witness key as a log key is refused" $T witness serve --dir "$WORK/x" --key "$WORK/w.key" --log "$ORIG=$(cat "$WORK/w.pub")"
expect_exit 2 "--log without ORIGIN= is refused" $T witness serve --dir "$WORK/x" --key "$WORK/w.key" --log "$(cat "$VK")"
printf 'dir %s\nbogus 1\n' "$WORK/x" > "$WORK/bad.conf"
expect_exit 2 "a config file with an unknown setting is refused" $T witness serve --config "$WORK/bad.conf" --key "$WORK/w.key" --log "$ORIG=$VK"
stderr_has "line 2: unknown setting 'bogus'" "...naming the line and the setting"
$T keygen wit.example/w2 --witness --out "$WORK/w2" >/dev/null
expect_exit 2 "the state dir of another witness key is refused" $T witness serve --dir "$WORK/st" --key "$WORK/w2.key" --log "$ORIG=$VK" --listen 127.0.0.1:0
stderr_has "another witness key" "...saying so"
expect_exit 1 "a record tampered with on disk (no cosignature of ours): refuses to start" bash -c "cp '$A/checkpoint' '$WORK/st/cosigned/$(hexof "$ORIG")' && $T witness serve --dir '$WORK/st' --key '$WORK/w.key' --log '$ORIG=$VK' --listen 127.0.0.1:0"
stderr_has "refusing to start" "...naming the record"

# ---- 3. Cosignatures made by the oracle, accepted by treatylog ----
$V cosig-keygen oracle.example/witness --out "$WORK/ow" >/dev/null 2>&1
$T prove "$A" --index 7 > "$WORK/p7" 2>/dev/null
sed -n 8p "$WORK/ra3" | tr -d '\n' > "$WORK/e7"
$V cosign "$WORK/ow.skey" "$WORK/p7" >> "$WORK/p7"
printf 'log %s\nwitness OW %s\nquorum OW\n' "$(cat "$VK")" "$(cat "$WORK/ow.vkey")" > "$WORK/policy"
expect_ok "treatylog verify-proof accepts a tlogverify cosign cosignature (quorum OW)" $T verify-proof --policy "$WORK/policy" "$WORK/p7" "$WORK/e7"
line=$(tail -1 "$WORK/p7"); c=${line:70:1}; [ "$c" = A ] && r=B || r=A
{ head -n -1 "$WORK/p7"; printf '%s\n' "${line:0:70}$r${line:71}"; } > "$WORK/p7.bad"
cmp -s "$WORK/p7" "$WORK/p7.bad" && bad "the altered proof is unchanged"
expect_exit 1 "...and refuses it altered" $T verify-proof --policy "$WORK/policy" "$WORK/p7.bad" "$WORK/e7"
# And the witness's own cosignature in a proof, under a policy, both ways.
$T prove "$A" --index 7 > "$WORK/q7" 2>/dev/null
start_witness w --config "$WORK/w.conf" --dir "$WORK/st2" || { finish; exit 1; }
{ printf 'old 0\n\n'; sed -n '/^$/,$p' "$WORK/q7" | tail -n +2; } > "$WORK/r"
code=$(post "$WORK/r"); [ "$code" = 200 ] && ok "a fresh witness cosigns A at 140" || bad "st2: $code"
cat "$WORK/body" >> "$WORK/q7"
printf 'log %s\nwitness W1 %s\nquorum W1\n' "$(cat "$VK")" "$(cat "$WORK/w.pub")" > "$WORK/policy.w"
expect_ok "treatylog verify-proof with the witness quorum" $T verify-proof --policy "$WORK/policy.w" "$WORK/q7" "$WORK/e7"
expect_ok "oracle proof with --witness" $V proof "$VK" "$WORK/q7" "$WORK/e7" --witness "$WORK/w.pub"
stop_wit
finish
