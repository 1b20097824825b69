#!/bin/bash
# treatylog serve on loopback: submit, fetch proofs, audit the served log over HTTP with
# treatylog and with the Go oracle; receipts; duplicates; every bad request gets a clear status
# and the server keeps serving and loses nothing; SIGTERM integrates what was accepted.
. "$(dirname "$0")/lib.bash"

$T keygen serve.example/log --out "$WORK/k" >/dev/null
VK=$WORK/k.pub
d=$WORK/log
$T init "$d" --key "$WORK/k.key" >/dev/null 2>&1
start_server "$d" --batch-ms 20 || { finish; exit 1; }

# Submissions, waiting for inclusion: each answer is a tlog-proof the oracle accepts.
for i in $(seq 1 20); do
  printf 'notification %d' "$i" > "$WORK/e$i"
  code=$(http_status POST "$U/add" --data-binary @"$WORK/e$i")
  cp "$WORK/body" "$WORK/p$i"
  [ "$code" = 200 ] || bad "POST /add $i: status $code"
done
expect_ok "oracle accepts the proof returned for the first entry" $V proof "$VK" "$WORK/p1" "$WORK/e1"
expect_ok "oracle accepts the proof returned for the last entry" $V proof "$VK" "$WORK/p20" "$WORK/e20"
expect_ok "treatylog verify-proof accepts it too" $T verify-proof --vkey "$VK" "$WORK/p20" "$WORK/e20"
idx=$(sed -n 's/^index //p' "$WORK/p7")
[ "$idx" = 6 ] && ok "entries are sequenced in submission order (7th at index 6)" || bad "7th entry at index $idx"

# Concurrent submissions.
for w in 1 2 3 4; do
  ( for i in $(seq 1 25); do curl -s -o /dev/null -w '%{http_code}\n' --data-binary "worker $w entry $i" "$U/add"; done ) > "$WORK/codes.$w" &
done
wait $(jobs -p | grep -v "^$SPID$") 2>/dev/null
for w in 1 2 3 4; do while kill -0 "$SPID" 2>/dev/null && [ "$(wc -l < "$WORK/codes.$w")" -lt 25 ]; do sleep 0.1; done; done
[ "$(cat "$WORK"/codes.* | grep -c '^200$')" -eq 100 ] && ok "100 concurrent submissions all got 200" || bad "concurrent: $(sort "$WORK"/codes.* | uniq -c | tr '\n' ' ')"

# Receipts (wait=0), then the proof by hash.
printf 'receipt me' > "$WORK/r"
code=$(http_status POST "$U/add?wait=0" --data-binary @"$WORK/r")
[ "$code" = 200 ] && head -1 "$WORK/body" | grep -qx 'treatylog/receipt@v1' && ok "wait=0 answers a receipt" || bad "wait=0: $code $(head -1 "$WORK/body")"
cp "$WORK/body" "$WORK/receipt"
expect_ok "the receipt verifies (signature, batch inclusion)" $T verify-receipt --vkey "$VK" "$WORK/receipt" "$WORK/r"
expect_exit 1 "the receipt does not verify for another entry" $T verify-receipt --vkey "$VK" "$WORK/receipt" "$WORK/e1"
leaf=$(sed -n 's/^leaf //p' "$WORK/receipt")
sleep 0.3
code=$(http_status GET "$U/v1/proof" --get --data-urlencode "hash=$leaf")
[ "$code" = 200 ] && ok "GET /v1/proof?hash= after integration" || bad "proof by hash: $code $(cat "$WORK/body")"
expect_ok "...and it proves the entry" $V proof "$VK" "$WORK/body" "$WORK/r"
hex=$(printf '%s' "$leaf" | base64 -d | od -An -tx1 | tr -d ' \n')
code=$(http_status GET "$U/v1/proof?hash=$hex")
[ "$code" = 200 ] && ok "proof by hash also takes hex" || bad "proof by hex hash: $code"

# Duplicates get the first entry's answer.
code=$(http_status POST "$U/add" --data-binary @"$WORK/e3")
[ "$code" = 200 ] && [ "$(sed -n 's/^index //p' "$WORK/body")" = 2 ] && ok "a duplicate gets the first entry's index" || bad "duplicate: $code"
code=$(http_status POST "$U/add?wait=0" --data-binary @"$WORK/e3")
[ "$code" = 200 ] && [ "$(sed -n 's/^index //p' "$WORK/body")" = 2 ] && ok "a duplicate with wait=0 gets the proof too" || bad "duplicate wait=0: $code"

# Proof endpoints against the oracle.
size=$(curl -s "$U/checkpoint" | sed -n 2p)
[ "$size" -eq 121 ] && ok "log size is 121 (20 + 100 + 1, duplicates not logged)" || bad "log size $size"
code=$(http_status GET "$U/v1/proof/inclusion?index=50")
[ "$code" = 200 ] && ok "GET /v1/proof/inclusion" || bad "inclusion: $code"
curl -s "$U/checkpoint" > "$WORK/cp.now"
old=$(sed -n 3p "$d/checkpoints/20")
proof=$(curl -s "$U/v1/proof/consistency?old=20")
expect_ok "oracle: consistency proof 20 -> $size from the server" $V check-consistency 20 "$old" "$size" "$(sed -n 3p "$WORK/cp.now")" $proof

# The served log, audited over HTTP by both implementations.
expect_ok "treatylog audit over HTTP" $T audit "$U" --vkey "$VK"
expect_ok "oracle: tiles over HTTP, --full" $V tiles "$VK" "$U/checkpoint" "$U" --full --record 0 --record $((size-1)) --old-checkpoint "$d/checkpoints/20"

# Tiles: headers, gzip, 404 past the size, non-canonical paths.
curl -s -D "$WORK/h" -o /dev/null "$U/tile/0/000.p/$size"
grep -qi '^cache-control: public, max-age=31536000, immutable' "$WORK/h" && grep -qi '^content-type: application/octet-stream' "$WORK/h" &&
  ok "tiles are immutable application/octet-stream" || bad "tile headers: $(cat "$WORK/h")"
curl -s -D "$WORK/h" -o /dev/null "$U/checkpoint"
grep -qi '^cache-control: max-age=1' "$WORK/h" && grep -qi '^content-type: text/plain; charset=utf-8' "$WORK/h" && ok "checkpoint cached for seconds only" || bad "checkpoint headers"
curl -s -H 'Accept-Encoding: gzip' -D "$WORK/h" -o "$WORK/gz" "$U/tile/entries/000.p/$size"
grep -qi '^content-encoding: gzip' "$WORK/h" && gunzip -c < "$WORK/gz" | cmp -s - "$d/tile/entries/000.p/$size" &&
  ok "entry bundles gzip when accepted" || bad "gzip bundle"
for p in "tile/0/000.p/$((size+1))" "tile/0/001" "tile/1/000" "tile/entries/001.p/1" "tile/00/000" "tile/0/0" "tile/0/x000/001" "tile/0/000.p/0" "tile/0/000.p/256" "tile/0/000.p/07" "tile/64/000" "tile/0/000.p/$size/x"; do
  code=$(http_status GET "$U/$p")
  [ "$code" = 404 ] || bad "GET /$p: $code, want 404"
done
ok "tiles past the size and non-canonical paths: 404"

# Bad requests: each a clear status; nothing logged.
before=$(curl -s "$U/checkpoint")
head -c 65536 /dev/zero > "$WORK/big"
code=$(http_status POST "$U/add" --data-binary @"$WORK/big"); [ "$code" = 413 ] && grep -q "limit" "$WORK/body" && ok "65,536-byte body: 413" || bad "big body: $code"
code=$(http_status POST "$U/add" --data-binary ""); [ "$code" = 400 ] && ok "empty body: 400" || bad "empty: $code"
code=$(http_status GET "$U/add"); [ "$code" = 405 ] && ok "GET /add: 405" || bad "GET /add: $code"
code=$(http_status POST "$U/checkpoint" --data-binary x); [ "$code" = 405 ] && ok "POST /checkpoint: 405" || bad "POST checkpoint: $code"
code=$(http_status POST "$U/add?wait=2" --data-binary x); [ "$code" = 400 ] && ok "wait=2: 400" || bad "wait=2: $code"
code=$(http_status GET "$U/v1/proof/inclusion?index=01"); [ "$code" = 400 ] && ok "index=01: 400" || bad "index=01: $code"
code=$(http_status GET "$U/v1/proof/inclusion?index=-1"); [ "$code" = 400 ] && ok "index=-1: 400" || bad "index=-1: $code"
code=$(http_status GET "$U/v1/proof/inclusion?index=5000"); [ "$code" = 400 ] && ok "index past the size: 400" || bad "index past: $code"
np=$(for i in $(seq 21 120); do [ -e "$d/checkpoints/$i" ] || { echo $i; break; }; done)
code=$(http_status GET "$U/v1/proof/inclusion?index=1&size=$np"); [ "$code" = 404 ] && grep -q "no checkpoint of size $np" "$WORK/body" && ok "size never published ($np): 404" || bad "size=$np: $code"
code=$(http_status GET "$U/v1/proof/consistency?old=999999"); [ "$code" = 400 ] && ok "old past the size: 400" || bad "old past: $code"
code=$(http_status GET "$U/v1/proof?hash=zz"); [ "$code" = 400 ] && ok "bad hash: 400" || bad "bad hash: $code"
code=$(http_status GET "$U/v1/proof?hash=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="); [ "$code" = 404 ] && ok "unknown hash: 404" || bad "unknown hash: $code"
code=$(http_status GET "$U/nope"); [ "$code" = 404 ] && ok "unknown path: 404" || bad "unknown path: $code"
# Request heads: 8 KB of headers is fine (with a full-size body too); 20 KB gets 431.
hdr8=$(head -c 8000 /dev/zero | tr '\0' 'h')
hdr20=$(head -c 20000 /dev/zero | tr '\0' 'h')
code=$(http_status GET "$U/checkpoint" -H "X-Big: $hdr8"); [ "$code" = 200 ] && ok "8 KB of request headers: 200" || bad "8 KB header: $code"
code=$(http_status GET "$U/checkpoint" -H "X-Big: $hdr20"); [ "$code" = 431 ] && ok "20 KB of request headers: 431" || bad "20 KB header: $code"
# Slow and abandoned connections do not block anyone.
( exec 3<>/dev/tcp/127.0.0.1/${U##*:}; printf 'POST /add HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc' >&3; sleep 4 ) &
slow=$!
( exec 3<>/dev/tcp/127.0.0.1/${U##*:}; printf 'GET /checkp' >&3 ) &
sleep 0.3
code=$(http_status GET "$U/checkpoint" --max-time 2); [ "$code" = 200 ] && ok "serving while a client dribbles its body" || bad "blocked by a slow client: $code"
kill $slow 2>/dev/null; wait $slow 2>/dev/null
[ "$(curl -s "$U/checkpoint")" = "$before" ] && ok "bad requests logged nothing" || bad "the log changed on bad requests"
code=$(http_status GET "$U/healthz"); [ "$code" = 200 ] && ok "healthz: 200 ($(cat "$WORK/body"))" || bad "healthz: $code"
curl -s "$U/metrics" > "$WORK/metrics"
grep -q '^treatylog_tree_size 122$' "$WORK/metrics" || grep -q "^treatylog_tree_size $size\$" "$WORK/metrics" && grep -q 'treatylog_http_responses_total{code="413"} 1' "$WORK/metrics" &&
  grep -q 'treatylog_integration_latency_seconds_count' "$WORK/metrics" && grep -q '^treatylog_journal_depth 0$' "$WORK/metrics" &&
  ok "metrics: size, status counts, latency histogram, journal depth" || { bad "metrics"; cat "$WORK/metrics"; }
head -c 65535 /dev/zero > "$WORK/max"
code=$(http_status POST "$U/add?wait=0" -H "X-Big: $hdr8" --data-binary @"$WORK/max"); [ "$code" = 200 ] && ok "65,535-byte body behind 8 KB of headers: 200" || bad "max body + 8 KB header: $code"

# Back-pressure: past the journal limit, 429 with Retry-After; nothing queued without bound.
stop_server
start_server "$d" --journal-limit 5 --batch-ms 1500 || { finish; exit 1; }
for i in $(seq 1 20); do
  curl -s -D "$WORK/h429.$i" -o "$WORK/b429.$i" -w '%{http_code}\n' --data-binary "pushback $i" "$U/add?wait=0" > "$WORK/c429.$i" &
done
wait $(jobs -p | grep -v "^$SPID$") 2>/dev/null
n200=$(cat "$WORK"/c429.* | grep -c '^200$'); n429=$(cat "$WORK"/c429.* | grep -c '^429$')
[ "$n200" -ge 5 ] && [ "$n429" -ge 1 ] && [ $((n200 + n429)) -eq 20 ] && ok "journal limit 5: $n200 accepted, $n429 answered 429" || bad "pushback: $n200 200s, $n429 429s"
f=$(grep -l '^429$' "$WORK"/c429.* | head -1); f=${f##*.}
grep -qi '^retry-after: 1' "$WORK/h429.$f" && grep -q "try again later" "$WORK/b429.$f" && ok "429 carries Retry-After and says why" || bad "429 headers: $(cat "$WORK/h429.$f")"
sleep 2
acc=0; for i in $(seq 1 20); do grep -q '^200$' "$WORK/c429.$i" || continue
  leaf=$(sed -n 's/^leaf //p' "$WORK/b429.$i"); c=$(http_status GET "$U/v1/proof" --get --data-urlencode "hash=$leaf"); [ "$c" = 200 ] && acc=$((acc+1)); done
[ "$acc" -eq "$n200" ] && ok "every accepted entry was integrated ($acc)" || bad "only $acc of $n200 integrated"
stop_server
start_server "$d" || { finish; exit 1; }
size=$(curl -s "$U/checkpoint" | sed -n 2p)

# A second server on the same log refuses clearly.
$T serve --dir "$d" --listen 127.0.0.1:0 > /dev/null 2> "$WORK/second.err"
[ $? -eq 2 ] && grep -q "in use" "$WORK/second.err" && ok "a second serve on the same log refuses" || bad "second serve: $(cat "$WORK/second.err")"

# SIGTERM: accepted entries are integrated before exit.
for i in $(seq 1 30); do curl -s -o /dev/null --data-binary "late $i" "$U/add?wait=0" & done
wait $(jobs -p | grep -v "^$SPID$") 2>/dev/null
stop_server; rc=$?
[ $rc -eq 0 ] && ok "SIGTERM: clean exit" || bad "SIGTERM exit $rc"
n=$(sed -n 2p "$d/checkpoint")
[ "$n" -eq $((size + 30)) ] && ok "every accepted entry is in the final checkpoint ($n)" || bad "after SIGTERM size $n, want $((size + 30))"
expect_ok "final audit (every archived checkpoint a prefix)" $T audit "$d" --vkey "$VK"
# Restart (with the sample configuration; flags override it): same state.
start_server "$d" --config "$TL_SRC/docs/serve.conf.sample" --access-log "$WORK/access.log"
[ "$(curl -s "$U/checkpoint")" = "$(cat "$d/checkpoint")" ] && ok "restart serves the same checkpoint" || bad "restart checkpoint"
code=$(http_status POST "$U/add" --data-binary @"$WORK/e5")
[ "$code" = 200 ] && [ "$(sed -n 's/^index //p' "$WORK/body")" = 4 ] && ok "dedup survives a restart (persistent index)" || bad "dedup after restart: $code"
grep -q "POST /add 200" "$WORK/access.log" && ok "access log written" || bad "access log: $(cat "$WORK/access.log")"
stop_server
printf 'dir %s\nbogus 1\n' "$d" > "$WORK/bad.conf"
expect_exit 2 "a config file with an unknown setting is refused" $T serve --config "$WORK/bad.conf"
stderr_has "line 2: unknown setting 'bogus'" "...naming the line and the setting"
expect_exit 2 "a bad number is refused" $T serve --dir "$d" --batch-ms 0
stderr_has "batch-ms must be a number" "...naming the setting"
finish
