#!/bin/bash
# Treaty mode end to end (issue 5): `treatylog submit` and `treatylog registry` against a real
# `treatylog serve` on a log whose entry 0 is a registry genesis.
# Accepted: a valid notification (its proof, entry and receipts check out, also with the Go
# oracle), the same bytes again (same index), a reply referencing its request, a joint
# notification, registry add / remove / rotate and what they allow.
# Refused, each with its HTTP status and a message naming the reason, the log unchanged
# (size from GET /checkpoint, and the files of the log after a clean stop): a forged
# signature, an unknown party, another party's key, a replayed serial, a dangling ref, a ref
# to an entry of the wrong type, a reply without refs, a removed party, a rotated-out key,
# registry documents not signed by the operator or not fitting the registry.
# Some refusals are sent with curl as notes signed by openssl (osign): the client refuses them
# itself, and the server must not rely on that.
. "$(dirname "$0")/lib.bash"

$T keygen treaty.example/log --out "$WORK/op" >/dev/null
for k in xa xb xc xz xb2; do $T keygen "$(echo $k | cut -c1-2 | tr a-z A-Z)" --out "$WORK/$k" >/dev/null; done
$T keygen XA --out "$WORK/xa_other" >/dev/null   # named XA, not registered
$T keygen XB --out "$WORK/xb_other" >/dev/null   # named XB, not registered
$T keygen w1.example --witness --out "$WORK/w1" >/dev/null
OPK=$WORK/op.pub
cd "$WORK" || exit 2

cat > registry.json <<JSON
{
  "action": "genesis",
  "parties": [
    {"code": "XA", "name": "Arcadia", "keys": ["$(cat xa.pub)"], "roles": []},
    {"code": "XB", "name": "Borduria", "keys": ["$(cat xb.pub)"], "roles": []}
  ],
  "witness_policy": "log $(cat op.pub)\\nwitness W1 $(cat w1.pub)\\nquorum W1\\n",
  "rulesets": [{"name": "vd11.rules", "sha256": "$(printf 'vd11' | sha256sum | cut -d' ' -f1)"}]
}
JSON
$T init log --key op.key --registry registry.json >/dev/null 2>&1 || { bad "init --registry"; finish; exit 1; }

# request FROM SERIAL [WORDS]: an explanation request (pretty JSON, as a party edits it).
request() {
  cat <<JSON
{
  "type": "vd11.ch3.explanation-request",
  "from": "$1",
  "serial": $2,
  "sent": "2026-01-10T10:00:00Z",
  "to": ["*"],
  "treaty_ref": "VD11 §16",
  "refs": [],
  "body": {"concerning": "XB", "description": "movement of forces ${3:-near the border}",
           "area": {"text": "border area"}, "questions": ["area"]},
  "remarks": ""
}
JSON
}
# reply FROM SERIAL REFS_JSON: an explanation reply.
reply() {
  cat <<JSON
{"type": "vd11.ch3.explanation-reply", "from": "$1", "serial": $2, "sent": "2026-01-11T09:00:00Z",
 "to": ["XA"], "treaty_ref": "VD11 §16", "refs": $3,
 "body": {"answers": {}, "statement": "planned exercise"}, "remarks": ""}
JSON
}
# incident FROM SERIAL: a hazardous-incident report (no refs needed).
incident() {
  cat <<JSON
{"type": "vd11.ch3.hazardous-incident", "from": "$1", "serial": $2, "sent": "2026-01-12T10:00:00Z",
 "to": ["XB"], "treaty_ref": "VD11 §17", "refs": [],
 "body": {"occurred": "2026-01-12T08:00:00Z", "area": {"text": "international air space"},
          "involved": [{"party": "$1", "platform": "patrol aircraft"}],
          "description": "closest approach about 90 m", "severity": "high-risk"}, "remarks": ""}
JSON
}
# osign KEYFILE TEXTFILE: TEXTFILE as a signed note by KEYFILE, signed with openssl, not with
# treatylog (to send what the client would refuse).
osign() {
  local k; k=$(cat "$1"); k=${k#PRIVATE+KEY+}   # NAME+ID+BASE64 (base64 may hold '+')
  local name=${k%%+*} rest=${k#*+}
  local id=${rest%%+*} b64=${rest#*+}
  printf '%s' "$b64" | base64 -d | tail -c 32 > os.seed
  { printf '\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20'; cat os.seed; } > os.der
  openssl pkey -inform DER -in os.der -out os.pem 2>/dev/null
  openssl pkeyutl -sign -inkey os.pem -rawin -in "$2" -out os.sig 2>/dev/null
  local sig; sig=$({ printf "\\x${id:0:2}\\x${id:2:2}\\x${id:4:2}\\x${id:6:2}"; cat os.sig; } | base64 -w0)
  rm -f os.seed os.der os.pem os.sig
  cat "$2"; printf '\n\xe2\x80\x94 %s %s\n' "$name" "$sig"
}
# text FILE.json: the notification text that gets signed (one JSON line behind the header).
text() { $T submit "$1" --key "$2" --sign-only | sed -n '1,2p'; }
size_now() { curl -s "$U/checkpoint" | sed -n 2p; }
submit() { $T submit "$@" --server "$U" --vkey "$OPK"; }
# leaf_of LINE_FILE: the leaf hash printed by submit ("index N leaf B64 logged T").
leaf_of() { awk '{print $4}' "$1"; }
index_of() { awk '{print $2}' "$1"; }
# cli_refused CODE REASON DESC FILE ARGS...: submit is refused by the server with HTTP CODE,
# the message names REASON, exit 2, and the log does not grow.
cli_refused() {
  local code=$1 reason=$2 desc=$3; shift 3
  local before; before=$(size_now)
  expect_exit 2 "$desc: refused" submit "$@"
  stderr_has "(HTTP $code)" "...with HTTP $code"
  stderr_has "$reason" "...saying why ($reason)"
  [ "$(size_now)" = "$before" ] && ok "...and the log is unchanged (size $before)" || bad "$desc: log grew from $before to $(size_now)"
}
# raw_refused CODE REASON DESC NOTE: POSTing NOTE gets HTTP CODE with REASON; the log does not grow.
raw_refused() {
  local code=$1 reason=$2 desc=$3 note=$4
  local before got; before=$(size_now)
  got=$(http_status POST "$U/add" --data-binary @"$note")
  [ "$got" = "$code" ] && ok "$desc: HTTP $code" || { bad "$desc: HTTP $got, want $code"; cat "$WORK/body"; }
  grep -qF -- "$reason" "$WORK/body" && ok "...saying why ($reason)" || { bad "$desc: message lacks '$reason'"; cat "$WORK/body"; }
  [ "$(size_now)" = "$before" ] && ok "...and the log is unchanged (size $before)" || bad "$desc: log grew from $before to $(size_now)"
}

start_server log --batch-ms 20 || { finish; exit 1; }

# ---- a valid submission, its proof and receipts --------------------------------------------
request XA 1 > xa1.json
expect_ok "XA's explanation request is accepted" submit xa1.json --key xa.key
cp last.out xa1.line
grep -Eq '^index 1 leaf [A-Za-z0-9+/]{43}= logged 20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-9:]{8}\.[0-9]{3}Z$' xa1.line &&
  ok "...printing index 1, its leaf hash and logged time" || bad "submit line: $(cat xa1.line)"
[ -s receipts/XA-1.note ] && [ -s receipts/XA-1.tlog-proof ] && [ -s receipts/XA-1.entry ] &&
  ok "...and keeping receipts/XA-1.{note,tlog-proof,entry}" || bad "receipts: $(ls receipts)"
expect_ok "the kept note is XA's signature on the canonical text (oracle)" $V note xa.pub receipts/XA-1.note
expect_ok "treatylog verify-proof checks the kept proof and entry offline" $T verify-proof --vkey "$OPK" receipts/XA-1.tlog-proof receipts/XA-1.entry
expect_ok "...and so does the oracle" $V proof "$OPK" receipts/XA-1.tlog-proof receipts/XA-1.entry
sed -n 2p receipts/XA-1.tlog-proof | grep -q '^extra ' && ok "the proof carries the entry header as extra" || bad "no extra line"
extra=$(sed -n 's/^extra //p' receipts/XA-1.tlog-proof | base64 -d | od -An -c | tr -s ' ')
head -3 receipts/XA-1.entry | sed -n 1p | grep -qx 'treatylog/entry/v1' && sed -n 2p receipts/XA-1.entry | grep -Eq '^logged [1-9][0-9]{12}$' &&
  tail -c +"$(( $(head -3 receipts/XA-1.entry | wc -c) + 1 ))" receipts/XA-1.entry | cmp -s - receipts/XA-1.note &&
  ok "entry = treatylog/entry/v1 header || the submission, byte for byte" || bad "entry layout: $extra"
want=$( (printf '\0'; cat receipts/XA-1.entry) | openssl dgst -sha256 -binary | base64)
[ "$(leaf_of xa1.line)" = "$want" ] && ok "the printed leaf is SHA-256(0x00 || entry)" || bad "leaf $(leaf_of xa1.line) != $want"
leaf_req=$(leaf_of xa1.line)

size=$(size_now)
expect_ok "the same bytes again are accepted" submit xa1.json --key xa.key
cmp -s last.out xa1.line && ok "...with the same index, leaf and logged time (dedup)" || bad "dedup: $(cat last.out) vs $(cat xa1.line)"
[ "$(size_now)" = "$size" ] && ok "...and the log does not grow" || bad "dedup grew the log"

printf 'log %s\nquorum none\n' "$(cat op.pub)" > trust.policy
incident XA 2 > xa2.json
expect_ok "a proof checked against a --policy (log key, no quorum)" $T submit xa2.json --key xa.key --server "$U" --policy trust.policy
cp last.out xa2.line
leaf_inc=$(leaf_of xa2.line)

reply XB 1 "[\"$leaf_req\"]" > xb1.json
expect_ok "XB's reply referencing XA's request is accepted" submit xb1.json --key xb.key
cp last.out xb1.line
[ -s receipts/XB-1.tlog-proof ] && ok "...receipts/XB-1.*" || bad "no XB-1 receipts"

incident XA 3 > joint.json
expect_ok "a joint notification signed by XA then XB is accepted" submit joint.json --key xa.key --key xb.key
[ "$(grep -c '^— X[AB] ' receipts/XA-3.note)" = 2 ] && ok "...and the kept note carries both signatures" || bad "joint note: $(tail -3 receipts/XA-3.note)"
expect_ok "a note signed offline (--sign-only) is submitted as it is" bash -c "$T submit '$WORK/xa1.json' --key '$WORK/xa.key' --sign-only > '$WORK/xa1.signed' && $T submit '$WORK/xa1.signed' --server '$U' --vkey '$OPK' --receipts '$WORK/r2'"
cmp -s last.out xa1.line && ok "...as the same submission (same index)" || bad "signed-offline: $(cat last.out)"

# ---- refusals by the client itself (nothing is sent) --------------------------------------
expect_exit 2 "submit refuses a key that is not the sender's" $T submit xa2.json --key xb.key --sign-only
stderr_has "from XA" "...naming the sender"
reply XB 9 "[]" > norefs.json
expect_exit 2 "submit refuses a reply without refs (x-refs.min)" $T submit norefs.json --key xb.key --sign-only
stderr_has "refs" "...naming refs"
expect_exit 2 "submit needs --vkey or --policy" $T submit xa2.json --key xa.key --server "$U"
expect_exit 2 "registry rotate needs the party's current key (--old-key)" $T registry rotate XB --new-key xb2.pub --key op.key --server "$U"
expect_exit 2 "registry rotate refuses a new key named for another party" $T registry rotate XB --new-key xa.pub --old-key xb.key --key op.key --server "$U"
stderr_has "not of XB" "...saying whose key it is"

# ---- refusals by the server: each with its reason, the log unchanged -----------------------
# A start after new entries compacts the journal: restart once, so that only the refusals
# could change a file.
stop_server
start_server log --batch-ms 20 || { finish; exit 1; }
stop_server
sum_before=$(tree_sum log)
start_server log --batch-ms 20 || { finish; exit 1; }

$T submit xa2.json --key xa.key --sign-only > forged.note
sed -i '$ s/.\(.\{6\}\)$/A\1/' forged.note
cmp -s forged.note <($T submit xa2.json --key xa.key --sign-only) && sed -i '$ s/.\(.\{6\}\)$/B\1/' forged.note
raw_refused 403 "signature" "a forged signature" forged.note
text xa2.json xa.key > t.txt; sed -i 's/closest approach about 90 m/closest approach about 900 m/' t.txt
$T submit xa2.json --key xa.key --sign-only > s.note
{ cat t.txt; printf '\n'; tail -1 s.note; } > tampered.note
raw_refused 403 "signature" "a text changed after signing" tampered.note
request XZ 1 > xz1.json
cli_refused 403 "XZ is not a registered party" "an unknown party" xz1.json --key xz.key
request XA 4 > xa4.json
cli_refused 403 "signature" "XA's notification signed by another key named XA" xa4.json --key xa_other.key
text xa4.json xa.key > t4.txt
osign xb.key t4.txt > xa4_by_xb.note
raw_refused 403 "XA" "XA's notification signed with XB's key" xa4_by_xb.note
request XA 1 "elsewhere" > replay.json
cli_refused 409 "serial" "a replayed serial (other bytes, same serial)" replay.json --key xa.key
reply XB 2 '["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]' > dangling.json
cli_refused 409 "refs[0]" "a dangling ref" dangling.json --key xb.key
reply XB 2 "[\"$leaf_inc\"]" > wrongtype.json
cli_refused 409 "refs[0]" "a ref to an entry of the wrong type (an incident, not a request)" wrongtype.json --key xb.key
stderr_has "vd11.ch3.hazardous-incident" "...naming the type it is"
printf 'treatylog/notification/v1\n%s\n' "$(tr -d '\n' < norefs.json | sed 's/  */ /g')" > t5.txt
osign xb.key t5.txt > norefs.note
raw_refused 400 "refs" "a reply without refs, signed by hand" norefs.note
printf 'treatylog/notification/v1\n{"type":"vd11.ch3.explanation-request","from":"XA"}\n' > t6.txt
osign xa.key t6.txt > partial.note
raw_refused 400 "required" "a notification without its required fields" partial.note
$T registry remove XA --key xa.key --sign-only > regbyxa.note 2>/dev/null
raw_refused 403 "operator" "a registry document signed by a party, not the operator" regbyxa.note
expect_exit 2 "registry remove of an unknown party" $T registry remove XZ --key op.key --server "$U"
stderr_has "(HTTP 409)" "...is refused with HTTP 409"
stderr_has "XZ is not registered" "...saying why"
cat > xa_again.json <<JSON
{"code": "XA", "name": "Arcadia again", "keys": ["$(cat xa_other.pub)"], "roles": []}
JSON
expect_exit 2 "registry add of a registered party" $T registry add xa_again.json --key op.key --server "$U"
stderr_has "(HTTP 409)" "...is refused with HTTP 409"
stderr_has "already registered" "...saying why"
expect_exit 2 "a rotation not signed by the party's current key" $T registry rotate XB --new-key xb2.pub --old-key xb_other.key --key op.key --server "$U"
stderr_has "(HTTP 403)" "...is refused with HTTP 403"
stderr_has "rotation of XB" "...saying why"

stop_server
[ "$(tree_sum log)" = "$sum_before" ] && ok "after the refusals and a clean stop, no file of the log changed" || bad "the log directory changed during the refusals"
start_server log --batch-ms 20 || { finish; exit 1; }
expect_ok "after a restart the same bytes still get the same answer" submit xa1.json --key xa.key
[ "$(index_of last.out)" = "$(index_of xa1.line)" ] && ok "...index $(index_of xa1.line)" || bad "after restart: $(cat last.out)"

# ---- the operator changes the registry ------------------------------------------------------
request XC 1 > xc1.json
cli_refused 403 "XC" "XC before it is registered" xc1.json --key xc.key
cat > xc.json <<JSON
{"code": "XC", "name": "Carpania",
 "keys": ["$(cat xc.pub)"], "roles": []}
JSON
expect_ok "registry add XC (a party file) is accepted" $T registry add xc.json --key op.key --server "$U"
idx=$(index_of last.out)
[ -s "receipts/registry-$idx.tlog-proof" ] && ok "...with receipts/registry-$idx.*" || bad "registry receipts: $(ls receipts)"
expect_ok "...whose proof the oracle accepts" $V proof "$OPK" "receipts/registry-$idx.tlog-proof" "receipts/registry-$idx.entry"
head -1 "receipts/registry-$idx.note" | grep -qx 'treatylog/registry/v1' && grep -q '"action":"add"' "receipts/registry-$idx.note" &&
  ok "...an add document signed by the operator" || bad "registry note: $(head -2 "receipts/registry-$idx.note")"
expect_ok "XC's notification is then accepted" submit xc1.json --key xc.key
expect_ok "registry remove XC is accepted" $T registry remove XC --key op.key --server "$U" --vkey "$OPK"
request XC 2 > xc2.json
cli_refused 403 "XC" "XC's notification after its removal" xc2.json --key xc.key

incident XB 3 > xb3.json
expect_ok "registry rotate XB (operator and XB's current key) is accepted" $T registry rotate XB --new-key xb2.pub --old-key xb.key --key op.key --server "$U"
idx=$(index_of last.out)
[ "$(grep -c '^— ' "receipts/registry-$idx.note")" = 2 ] && ok "...signed twice (operator, then XB)" || bad "rotation note signatures"
cli_refused 403 "signature" "XB's rotated-out key" xb3.json --key xb.key
expect_ok "XB's new key is accepted" submit xb3.json --key xb2.key
expect_ok "registry show over HTTP rebuilds the registry from the log" $T registry show "$U" --vkey "$OPK"
grep -qF "  key $(cat xb2.pub)" last.out && ! grep -qF "$(cat xb.pub)" last.out && ok "...XB holds only its new key" || bad "show: $(cat last.out)"
grep -q '^party XA "Arcadia" since 0$' last.out && ! grep -q '^party XC' last.out && ok "...XA since genesis, XC removed" || bad "show: $(cat last.out)"
expect_ok "registry show of the directory as it was before the rotation (--size)" $T registry show log --size "$idx"
grep -qF "  key $(cat xb.pub)" last.out && ok "...XB's old key was in force then" || bad "show --size: $(cat last.out)"

# ---- the client checks the proof against its own policy ------------------------------------
printf 'log %s\nwitness W1 %s\nquorum W1\n' "$(cat op.pub)" "$(cat w1.pub)" > witnessed.policy
incident XA 5 > xa5.json
expect_exit 1 "a proof that never meets the policy's witness quorum fails (exit 1)" $T submit xa5.json --key xa.key --server "$U" --policy witnessed.policy --witness-wait 1
stderr_has "not witnessed" "...saying the receipt is not witnessed"
[ -s receipts/XA-5.tlog-proof ] && ok "...but keeps the log's own proof as a receipt" || bad "no XA-5 receipts"
expect_exit 1 "a proof against another log key fails (exit 1)" $T submit xa5.json --key xa.key --server "$U" --vkey xa.pub
stderr_has "does not verify" "...saying the proof does not verify"
expect_exit 2 "an unreachable server is an error (exit 2)" $T submit xa5.json --key xa.key --server http://127.0.0.1:1 --vkey "$OPK"

# ---- the live index (built from what the server accepted) equals a rebuild from the log ------
# rows_of SRC N: entries 0..N-1 of a server (URL) or a log directory, rows with signers and
# documents (without the proof and bounds only the server has).
rows_of() { # SRC N [FROM]: entries FROM..N-1 (FROM 0 by default)
  local i
  for i in $(seq "${3:-0}" $(($2 - 1))); do $T show "$1" "$i" --json | jq -c 'del(.bounds, .proof)'; done
}
# same_as_rebuilt DESC DIR FILE: a copy of DIR, its query index rebuilt by reindex, has the rows in FILE.
same_as_rebuilt() {
  rm -rf "$WORK/copy"; cp -r "$2" "$WORK/copy"; rm -f "$WORK/copy/.treatylog/query.db"*
  $T reindex "$WORK/copy" >/dev/null 2>&1 || bad "$1: reindex of the copy failed"
  rows_of "$WORK/copy" "$(wc -l < "$3")" > "$WORK/rebuilt.rows"
  cmp -s "$3" "$WORK/rebuilt.rows" && ok "$1" ||
    { bad "$1: live and rebuilt differ"; diff "$3" "$WORK/rebuilt.rows" | head -6; }
}
n=$(size_now)
rows_of "$U" "$n" > live.rows
[ "$(grep -c . live.rows)" = "$n" ] && ok "the live index shows all $n entries" || bad "live rows: $(grep -c . live.rows) of $n"
jq -e -s --arg l "$(leaf_of last.out)" 'map(select(.type == "vd11.ch3.hazardous-incident" and .from == "XA" and .serial == 3))[0].signers == ["XA","XB"]' live.rows >/dev/null &&
  ok "...the joint notification lists both signers, XA and XB" || bad "joint signers: $(grep '"serial":3' live.rows | jq -c .signers)"
jq -e -s 'map(select(.type == "registry.rotate"))[0].signers == ["XB"]' live.rows >/dev/null &&
  ok "...the rotation (operator and XB's old key) lists XB" || bad "rotation signers: $(jq -c -s 'map(select(.type == "registry.rotate"))[0].signers' live.rows)"
jq -e -s 'map(select(.from == "XB" and .serial == 3))[0].signers == ["XB"]' live.rows >/dev/null &&
  ok "...a note by XB's new key lists XB" || bad "XB-3 signers"
stop_server || bad "serve did not exit cleanly"
same_as_rebuilt "...and reindexing a copy of the log gives the same rows and signers" log live.rows
expect_ok "the treaty log audits" $T audit log --vkey "$OPK"

# ---- with a witness: submit waits for the witnessed proof its policy requires ----------------
$T witness serve --dir w1.state --listen 127.0.0.1:0 --key w1.key --log "treaty.example/log=$(cat op.pub)" > w1.url 2>w1.err &
WPID=$!
trap 'kill "$WPID" 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [ -s w1.url ] && break; sleep 0.05; done
printf 'log %s\nwitness W1 %s %s\nquorum W1\n' "$(cat op.pub)" "$(cat w1.pub)" "$(head -1 w1.url)" > serve.policy
start_server log --batch-ms 20 --witness-policy serve.policy --witness-interval-ms 200 --witness-timeout-ms 1000 || { kill "$WPID"; finish; exit 1; }
incident XA 6 > xa6.json
expect_ok "with a witness running, submit --policy gets a witnessed proof" $T submit xa6.json --key xa.key --server "$U" --policy witnessed.policy --witness-wait 30
grep -q '^— w1.example ' receipts/XA-6.tlog-proof && ok "...whose checkpoint carries W1's cosignature" || bad "no cosignature: $(tail -3 receipts/XA-6.tlog-proof)"
expect_ok "...and verify-proof --policy accepts the receipt" $T verify-proof --policy witnessed.policy receipts/XA-6.tlog-proof receipts/XA-6.entry
expect_ok "...as does the oracle with the witness key" $V proof "$OPK" receipts/XA-6.tlog-proof receipts/XA-6.entry --witness w1.pub --min 1
stop_server || bad "serve did not exit cleanly"
kill "$WPID"; wait "$WPID"

# ---- kill -9 with submissions acknowledged but not integrated -------------------------------
# A long batch-ms keeps them in the journal: the restarted server re-integrates them, and
# before it accepts anything its query index and registry include them (a replayed serial is
# still refused, a party added by a journaled registry change may submit).
start_server log --batch-ms 60000 || { finish; exit 1; }
n0=$(size_now)
incident XA 20 > xa20.json
$T submit xa20.json --key xa.key --sign-only > xa20.note
got=$(http_status POST "$U/add?wait=0" --data-binary @xa20.note)
[ "$got" = 200 ] && ok "an acknowledged (wait=0) submission, not yet integrated" || { bad "wait=0: HTTP $got"; cat "$WORK/body"; }
$T keygen XD --out xd >/dev/null
cat > xd.json <<JSON
{"code": "XD", "name": "Dacia", "keys": ["$(cat xd.pub)"], "roles": []}
JSON
$T registry add xd.json --key op.key --sign-only > xd.note
got=$(http_status POST "$U/add?wait=0" --data-binary @xd.note)
[ "$got" = 200 ] && ok "...and a registry change adding XD, likewise" || { bad "registry wait=0: HTTP $got"; cat "$WORK/body"; }
[ "$(size_now)" = "$n0" ] && ok "...neither is in the published log yet" || bad "published already: $(size_now)"
kill -KILL "$SPID"; wait "$SPID" 2>/dev/null
start_server log --batch-ms 20 || { finish; exit 1; }
[ "$(size_now)" = $((n0 + 2)) ] && ok "after kill -9 and a restart, both are in the log" || bad "size $(size_now), want $((n0 + 2))"
incident XA 20 | sed 's/closest approach about 90 m/closest approach about 50 m/' > xa20b.json
cli_refused 409 "already used serial 20" "right after the restart, XA's serial 20 again (other bytes)" xa20b.json --key xa.key
got=$(http_status POST "$U/add?wait=0" --data-binary @xa20.note)
[ "$got" = 200 ] && ok "...the same bytes again are a duplicate (200)" || bad "duplicate after restart: HTTP $got"
[ "$(size_now)" = $((n0 + 2)) ] && ok "...and the log does not grow" || bad "size $(size_now)"
incident XD 1 > xd1.json
expect_ok "XD, added by the journaled registry change, may submit" submit xd1.json --key xd.key
$T show "$U" "$n0" --json > xa20.show
[ "$(jq -c '[.from, .serial, .signers]' xa20.show)" = '["XA",20,["XA"]]' ] && ok "the query index has the re-integrated entry, with its signer" ||
  bad "show $n0: $(jq -c '[.from, .serial, .signers]' xa20.show)"

# An index that lost its last transactions (as after a crash while indexing): the server
# catches up from the log at start, and still refuses the serials of the lost rows.
cp log/.treatylog/query.db* "$WORK/" 2>/dev/null
cp "$WORK/query.db" "$WORK/query.db.old"
incident XA 21 > xa21.json
expect_ok "XA's serial 21 is accepted" submit xa21.json --key xa.key
stop_server || bad "serve did not exit cleanly"
rm -f log/.treatylog/query.db*
cp "$WORK/query.db.old" log/.treatylog/query.db
for f in "$WORK"/query.db-wal "$WORK"/query.db-shm; do [ -f "$f" ] && cp "$f" "log/.treatylog/${f##*/}"; done
start_server log --batch-ms 20 || { finish; exit 1; }
incident XA 21 | sed 's/closest approach about 90 m/closest approach about 10 m/' > xa21b.json
cli_refused 409 "already used serial 21" "with an index one entry behind the log, XA's serial 21 again" xa21b.json --key xa.key
n=$(size_now)
rows_of "$U" "$n" > live2.rows
jq -e -s 'map(select(.from == "XA" and .serial == 21))[0].signers == ["XA"]' live2.rows >/dev/null &&
  ok "...the caught-up row has its signer" || bad "caught-up signers"
stop_server || bad "serve did not exit cleanly"
same_as_rebuilt "...and the index equals a rebuild of a copy of the log" log live2.rows

# kill -9 while the server takes signed submissions (journal writes, integration and indexing
# in flight): after a restart the query index covers the whole log, equals a rebuild, and the
# serials of everything acknowledged are refused.
start_server log --batch-ms 5 || { finish; exit 1; }
n0=$(size_now)
$T load "$U" --sign xa.key --sign xd.key --type vd11.ch3.hazardous-incident --first-serial 100 \
  --rate 400 --duration 3 --wait 0 --connections 16 --json > load.json 2> load.err &
LPID=$!
sleep 1.5
kill -KILL "$SPID"; wait "$SPID" 2>/dev/null
wait "$LPID" 2>/dev/null
acked=$(grep -o '"200":[0-9]*' load.json | head -1 | cut -d: -f2)
[ "${acked:-0}" -gt 0 ] && ok "kill -9 during a load run, after ${acked} acknowledged submissions" || { bad "no submission acknowledged"; cat load.err; }
start_server log --batch-ms 20 || { finish; exit 1; }
n=$(size_now)
[ "$n" -ge $((n0 + ${acked:-0})) ] && ok "...after a restart the log holds every acknowledged one ($n entries)" || bad "log $n < $n0 + $acked"
$T list "$U" --all --json --limit 1000 > live3.list
[ "$(jq -s '[.[].entries | length] | add' live3.list)" = "$n" ] && ok "...and the query index lists all $n" || bad "index lists $(jq -s '[.[].entries | length] | add' live3.list) of $n"
incident XA 100 | sed 's/closest approach about 90 m/closest approach about 70 m/' > xa100.json
cli_refused 409 "already used serial 100" "...XA's first serial of the load run again" xa100.json --key xa.key
rows_of "$U" "$n" $((n - 4)) > live3.tail
stop_server || bad "serve did not exit cleanly"
rm -rf "$WORK/copy"; cp -r log "$WORK/copy"; rm -f "$WORK/copy/.treatylog/query.db"*
$T reindex "$WORK/copy" >/dev/null 2>&1 || bad "reindex of the copy failed"
$T list "$WORK/copy" --all --json --limit 1000 > rebuilt3.list
cmp -s live3.list rebuilt3.list && ok "...the live rows equal a rebuild of a copy of the log" || bad "live and rebuilt lists differ"
rows_of "$WORK/copy" "$n" $((n - 4)) > rebuilt3.tail
[ "$(grep -c '"signers":\["X[AD]"\]' live3.tail)" = 4 ] && cmp -s live3.tail rebuilt3.tail && ok "...and so do the last entries with their signers" || { bad "last entries differ"; diff live3.tail rebuilt3.tail | head -4; }
finish
