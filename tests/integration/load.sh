#!/bin/bash
# treatylog load: refuses non-loopback targets and out-of-range settings (exit 2); against a
# real `treatylog serve`, every request is answered 200, sampled proofs verify, the log then
# audits at the right size; a wrong key fails verification (exit 1); a 413 for every request
# and a closed port are runs with no success (exit 1).
. "$(dirname "$0")/lib.bash"

# Refusals need no server.
for u in http://10.0.0.1:8420 http://example.com http://[::ffff:127.0.0.1]:8420 \
         http://127.0.0.1.nip.io:8420 http://localhost.:8420; do
  expect_exit 2 "load refuses $u" $T load "$u" --rate 1 --duration 1
  stderr_has "not loopback" "...says it is not loopback"
done
expect_exit 2 "load refuses a non-http scheme" $T load ftp://127.0.0.1/ --rate 1 --duration 1
expect_exit 2 "load: --rate over 1,000,000" $T load http://127.0.0.1:1 --rate 1000001 --duration 1
expect_exit 2 "load: --duration over 3600" $T load http://127.0.0.1:1 --rate 1 --duration 3601
expect_exit 2 "load: --connections over 1024" $T load http://127.0.0.1:1 --rate 1 --duration 1 \
  --connections 1025
expect_exit 2 "load: --verify needs --wait 1" $T load http://127.0.0.1:1 --rate 1 --duration 1 \
  --wait 0 --verify x
expect_exit 2 "load: missing --duration" $T load http://127.0.0.1:1 --rate 1

$T keygen load.example/log --out "$WORK/k" >/dev/null
$T keygen other.example/log --out "$WORK/other" >/dev/null
d=$WORK/log
$T init "$d" --key "$WORK/k.key" >/dev/null 2>&1
$T serve --dir "$d" --listen 127.0.0.1:0 > "$WORK/serve.url" 2>"$WORK/serve.err" & spid=$!
for i in $(seq 50); do [ -s "$WORK/serve.url" ] && break; sleep 0.1; done
url=$(head -1 "$WORK/serve.url")
case $url in http://127.0.0.1:*) ok "serve is up at $url" ;; *) bad "serve did not start"; cat "$WORK/serve.err" ;; esac

json_num() { grep -o "\"$1\":[0-9]*" "$WORK/last.out" | head -1 | cut -d: -f2; }

expect_ok "load --wait 1 --verify: 400 requests" $T load "$url" --rate 200 --duration 2 \
  --connections 128 --verify "$WORK/k.pub" --json
[ "$(json_num 200)" = 400 ] && [ "$(json_num sent)" = 400 ] && ok "...all 400 answered 200" ||
  bad "...not all 200: $(cat "$WORK/last.out")"
grep -q '"verify":{"checked":4,"failed":0}' "$WORK/last.out" && ok "...4 sampled proofs verify" ||
  bad "...verify counts: $(cat "$WORK/last.out")"
expect_ok "load --wait 0: 400 more" $T load "$url/" --rate 400 --duration 1 --json --wait 0
[ "$(json_num 200)" = 400 ] && ok "...all 400 answered 200" || bad "...$(cat "$WORK/last.out")"
expect_ok "load: human-readable report" $T load "$url" --rate 50 --duration 1
grep -q '^latency ms  p50 ' "$WORK/last.out" && ok "...has latency percentiles" ||
  bad "...report: $(cat "$WORK/last.out")"

expect_exit 1 "load --verify with another log's key" $T load "$url" --rate 100 --duration 1 \
  --verify "$WORK/other.pub"
stderr_has "sampled proofs failed" "...says the proofs failed"
expect_exit 1 "load: bodies over the server's limit (413) never succeed" $T load "$url" \
  --rate 20 --duration 1 --size 65536 --json
grep -q '"other_codes":{"413":20}' "$WORK/last.out" && ok "...20 x 413 reported" ||
  bad "...$(cat "$WORK/last.out")"

kill -TERM $spid; wait $spid
ok "serve stopped"
expect_ok "the log audits after the load" $T audit "$d" --vkey "$WORK/k.pub"
size=$(sed -n 2p "$d/checkpoint")
[ "$size" = 950 ] && ok "...with 950 entries (400 + 400 + 50 + 100)" || bad "...size $size, want 950"

expect_exit 1 "load against a closed port" $T load "$url" --rate 10 --duration 1
stderr_has "$url/add: Failed to connect" "...names the URL and the error"

finish
