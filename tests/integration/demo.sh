#!/bin/bash
# treatylog demo, end to end: the scenario of public events runs on a live log with three
# witnesses and prints its findings; `check` over HTTP and `check` on a copy of the directory
# print identical findings; `verify-evidence` accepts every evidence file the demo wrote and
# rejects each with one byte changed; the expected findings of the scenario are there.
. "$(dirname "$0")/lib.bash"
D=$WORK/demo
$T demo --dir "$D" --listen 127.0.0.1:0 > "$WORK/demo.out" 2> "$WORK/demo.err" &
DPID=$!
for _ in $(seq 600); do grep -q '^Dashboard and API: ' "$WORK/demo.out" && break; kill -0 $DPID 2>/dev/null || break; sleep 0.1; done
U=$(sed -n 's|^Dashboard and API: \(http://[^ ]*\)/$|\1|p' "$WORK/demo.out")
if [ -z "$U" ]; then bad "the demo did not come up"; tail -n 20 "$WORK/demo.out" "$WORK/demo.err"; kill $DPID; finish; exit 1; fi
ok "the demo played its scenario and serves at $U"
# What the scenario must show (domain.md §4 and the issue).
want() { # rule state: a finding line of the demo's output
  if grep -Eq ">> $2 +$1 " "$WORK/demo.out"; then ok "demo prints $1 $2"; else bad "demo lacks $1 $2"; fi
}
want vd11.ch5.near-threshold advisory
want vd11.ch5.declared-vs-observed breach
want vd11.ch5.notice-lead late
want vd11.ch3.reply-48h pending
want vd11.ch3.reply-48h missed
want vd11.ch3.reply-48h late
want vd11.ch3.reply-content advisory
want vd11.ch3.share-all advisory
want vd11.ch3.meeting-48h met
want vd11.ch3.attendance advisory
want vd11.ch3.incident-reply missed   # on a quiet log: no entry after the incident, only re-cosignings
want vd11.ch6.snap-observe missed
# The same findings from the server's own API, over HTTP, and from a copy of the directory.
curl -sf "$U/v1/findings?limit=1000" > "$WORK/api.json" && ok "GET /v1/findings answers" || bad "GET /v1/findings"
n_api=$(jq '.findings | length' "$WORK/api.json")
[ "${n_api:-0}" -gt 10 ] && ok "the server lists $n_api findings" || bad "the server lists ${n_api:-no} findings"
expect_ok "check over HTTP" $T check "$U" --policy "$D/policy" --json
cp "$WORK/last.out" "$WORK/check-http.txt"
cp -a "$D/log" "$WORK/copy"
expect_ok "check on a copy of the directory" $T check "$WORK/copy" --json
cp "$WORK/last.out" "$WORK/check-dir.txt"
if [ -s "$WORK/check-http.txt" ] && cmp -s "$WORK/check-http.txt" "$WORK/check-dir.txt"; then
  ok "check over HTTP and on the copy print identical findings ($(wc -l < "$WORK/check-dir.txt") lines)"
else bad "check over HTTP and on the copy differ"; diff "$WORK/check-http.txt" "$WORK/check-dir.txt" | head; fi
jq -c '.findings[]' "$WORK/api.json" > "$WORK/api.txt"
cmp -s "$WORK/api.txt" "$WORK/check-dir.txt" && ok "...and the same as the server's own findings" ||
  { bad "the server's findings differ from check"; diff "$WORK/api.txt" "$WORK/check-dir.txt" | head -5; }
expect_ok "check --at a time before the deadline" $T check "$WORK/copy" --at 2022-02-13T11:00:00Z --json
grep -q '"id":"vd11.ch3.reply-48h/[0-9]*","rule":"vd11.ch3.reply-48h","state":"pending"' "$WORK/last.out" &&
  ok "...gives reply-48h pending as of 13 Feb 11:00" || bad "reply-48h as of 13 Feb 11:00: $(grep reply-48h "$WORK/last.out")"
expect_ok "check --at a time after the deadline" $T check "$WORK/copy" --at 2022-02-14T00:00:00Z --json
grep -q '"rule":"vd11.ch3.reply-48h","state":"missed"' "$WORK/last.out" &&
  ok "...gives reply-48h missed as of 14 Feb" || bad "reply-48h as of 14 Feb: $(grep reply-48h "$WORK/last.out")"
# A quiet log: the incident (the last entry) of 14 Mar 12:00 has 72 hours; no entry follows, only
# the witnesses' re-cosignings of the same checkpoint, which check reads from the archive too.
expect_ok "check --at before the incident's deadline" $T check "$WORK/copy" --at 2023-03-17T00:00:00Z --json
grep -q '"rule":"vd11.ch3.incident-reply","state":"pending"' "$WORK/last.out" &&
  ok "...incident-reply pending" || bad "incident-reply as of 17 Mar: $(grep incident-reply "$WORK/last.out")"
expect_ok "check --at after it, with no entry since" $T check "$WORK/copy" --at 2023-03-20T12:00:00Z --json
grep -q '"rule":"vd11.ch3.incident-reply","state":"missed"' "$WORK/last.out" &&
  ok "...incident-reply missed (the re-cosigned checkpoint moved time on)" || bad "incident-reply as of 20 Mar: $(grep incident-reply "$WORK/last.out")"
# Evidence: every file verifies offline; each with one byte changed is refused.
R=$TL_SRC/rules/vd11.rules
nev=0; nok=0; nflip=0; nrej=0
for f in "$D"/evidence/*.json; do
  nev=$((nev+1))
  if $T verify-evidence "$f" --policy "$D/policy" --ruleset "$R" > /dev/null 2> "$WORK/ve.err"; then nok=$((nok+1)); else echo "  $f: $(head -c 300 "$WORK/ve.err")"; fi
  size=$(stat -c %s "$f")
  for k in 1 2 3; do # three positions per file, spread over it
    pos=$(( (size * k / 4 + RANDOM) % (size - 1) ))
    python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[int(sys.argv[2])]^=1; open(sys.argv[3],'wb').write(b)" "$f" "$pos" "$WORK/flip.json"
    nflip=$((nflip+1))
    if $T verify-evidence "$WORK/flip.json" --policy "$D/policy" --ruleset "$R" > /dev/null 2>&1; then echo "  accepted with byte $pos of $(basename "$f") changed"; else nrej=$((nrej+1)); fi
  done
done
[ "$nev" -gt 10 ] && ok "the demo wrote $nev evidence files" || bad "only $nev evidence files"
[ "$nok" -eq "$nev" ] && ok "verify-evidence accepts all $nev" || bad "verify-evidence accepts $nok of $nev"
[ "$nrej" -eq "$nflip" ] && ok "verify-evidence rejects all $nflip one-byte changes" || bad "verify-evidence rejects $nrej of $nflip one-byte changes"
# The ruleset's text is logged with the registry (DESIGN §3), and so is in every evidence
# file's registry entries: verify-evidence needs no ruleset file.
nok2=0
for f in "$D"/evidence/*.json; do
  if $T verify-evidence "$f" --policy "$D/policy" > /dev/null 2> "$WORK/ve.err"; then nok2=$((nok2+1)); else echo "  $f: $(head -c 300 "$WORK/ve.err")"; fi
done
[ "$nok2" -eq "$nev" ] && ok "verify-evidence without --ruleset accepts all $nev, from the logged text" ||
  bad "verify-evidence without --ruleset accepts $nok2 of $nev"
# A ruleset changed by one number is not the one the registry names.
sed 's/hours 48 /hours 49 /' "$R" > "$WORK/other.rules"
f=$(ls "$D"/evidence/vd11.ch3.reply-48h_*.json | head -1)
expect_exit 1 "verify-evidence refuses another ruleset" $T verify-evidence "$f" --policy "$D/policy" --ruleset "$WORK/other.rules"
stderr_has "ruleset" "...saying so"
kill -INT $DPID; wait $DPID
[ $? -eq 0 ] && ok "the demo stops cleanly on SIGINT" || bad "the demo did not exit 0 on SIGINT"
finish
