#!/bin/bash
# treatylog reindex / list / show: the query index of a treaty log, rebuilt from the log; its
# filters, paging, JSON and human output; a missing or stale index is reported with the fix;
# reindexing twice, or reindexing a copy of the log, gives an identical index (issue 5).
. "$(dirname "$0")/lib.bash"
$T keygen query.example/log --out "$WORK/op" >/dev/null
$T keygen XA --out "$WORK/xa" >/dev/null
$T keygen XB --out "$WORK/xb" >/dev/null
$T keygen w1.example --witness --out "$WORK/w1" >/dev/null
cat > "$WORK/registry.json" <<JSON
{
  "action": "genesis",
  "parties": [
    {"code": "XA", "name": "Arcadia", "keys": ["$(cat "$WORK/xa.pub")"], "roles": ["chair"]},
    {"code": "XB", "name": "Borduria", "keys": ["$(cat "$WORK/xb.pub")"], "roles": []}
  ],
  "witness_policy": "log $(cat "$WORK/op.pub")\\nwitness W1 $(cat "$WORK/w1.pub")\\nquorum W1\\n",
  "rulesets": [{"name": "vd11.rules", "sha256": "$(printf 'vd11' | sha256sum | cut -d' ' -f1)"}]
}
JSON
L=$WORK/log
expect_ok "init a treaty log" $T init "$L" --key "$WORK/op.key" --registry "$WORK/registry.json"

# entry NAME TYPE FROM SERIAL LOGGED_MS REFS_JSON KEY: a signed notification in the
# treatylog/entry/v1 layout, in $WORK/NAME.entry (its leaf hash, base64, in $WORK/NAME.leaf).
entry() {
  local name=$1 type=$2 from=$3 serial=$4 logged=$5 refs=$6 key=$7
  $T notify template "$type" | jq --arg f "$from" --argjson s "$serial" --argjson r "$refs" \
    '.from = $f | .serial = $s | .refs = $r | .to = ["*"]' > "$WORK/$name.json"
  $T submit "$WORK/$name.json" --key "$key" --sign-only > "$WORK/$name.note" ||
    { bad "signing $name"; return; }
  { printf 'treatylog/entry/v1\nlogged %s\n\n' "$logged"; cat "$WORK/$name.note"; } > "$WORK/$name.entry"
  { printf '\0'; cat "$WORK/$name.entry"; } | sha256sum | cut -c1-64 | xxd -r -p | base64 > "$WORK/$name.leaf"
}
# 2028-01-01T01:00Z, 2028-01-02, 2028-01-03 (after the genesis, logged now).
entry e1 vd11.ch5.notification XA 1 1830301200000 '[]' "$WORK/xa.key"
entry e2 vd11.ch3.explanation-request XB 1 1830384000000 '[]' "$WORK/xb.key"
entry e3 vd11.ch3.explanation-reply XA 2 1830470400000 "[\"$(cat "$WORK/e2.leaf")\"]" "$WORK/xa.key"
printf 'a raw entry' > "$WORK/raw.entry"
expect_ok "append the signed notifications and a raw entry" \
  $T append "$L" "$WORK/e1.entry" "$WORK/e2.entry" "$WORK/e3.entry" "$WORK/raw.entry"

expect_exit 2 "list without an index says so" $T list "$L"
stderr_has "treatylog reindex $L" "...and how to build it"
expect_ok "reindex" $T reindex "$L"
[ -f "$L/.treatylog/query.db" ] && ok "...writes .treatylog/query.db" || bad "no query.db"

idx() { jq -c '[.entries[].index]' "$WORK/last.out"; }
is() { # DESC WANT: the last output's indexes
  local got; got=$(idx)
  [ "$got" = "$2" ] && ok "$1" || bad "$1: got $got, want $2"
}
expect_ok "list --json" $T list "$L" --json
is "...every entry in index order" '[0,1,2,3,4]'
[ "$(jq -r '.entries[0].kind + " " + .entries[0].type + " " + .entries[0].from' "$WORK/last.out")" = "registry registry.genesis operator" ] &&
  ok "...entry 0 is the registry genesis from the operator" || bad "entry 0: $(jq -c '.entries[0]' "$WORK/last.out")"
[ "$(jq -r '.entries[4].kind' "$WORK/last.out")" = other ] && ok "...the raw entry is kind other" || bad "raw entry kind"
[ "$(jq -c '.entries[1] | [.from, .serial, .type, .activity, .troops, .logged]' "$WORK/last.out")" = \
  '["XA",1,"vd11.ch5.notification","XA-2025-EX01",10400,"2028-01-01T01:00:00.000Z"]' ] &&
  ok "...a row has the envelope and body fields" || bad "row 1: $(jq -c '.entries[1]' "$WORK/last.out")"
[ "$(jq -c '[.next, .size]' "$WORK/last.out")" = '[null,5]' ] && ok "...next null, size 5" || bad "next/size"
[ "$(jq -r '.entries[2].leaf' "$WORK/last.out")" = "$(cat "$WORK/e2.leaf")" ] && ok "...leaf is the RFC 6962 leaf hash" || bad "leaf"

expect_ok "list --party XA" $T list "$L" --party XA --json
is "...XA's entries" '[1,3]'
expect_ok "list --type prefix" $T list "$L" --type 'vd11.ch3.*' --json
is "...the chapter III entries" '[2,3]'
expect_ok "list --type exact" $T list "$L" --type vd11.ch3.explanation-reply --json
is "...one type" '[3]'
expect_ok "list --since" $T list "$L" --since 2028-01-02 --json
is "...logged on or after a date" '[2,3]'
expect_ok "list --until date-time" $T list "$L" --until 2028-01-02T00:00:00Z --json
is "...logged before a date-time" '[0,1]'
expect_ok "list --ref" $T list "$L" --ref "$(cat "$WORK/e2.leaf")" --json
is "...what answers entry 2" '[3]'
expect_ok "list --party XA --type vd11.ch3.* --since --until" \
  $T list "$L" --party XA --type 'vd11.ch3.*' --since 2028-01-01 --until 2028-01-04 --json
is "...combined filters" '[3]'
expect_ok "list --limit 2" $T list "$L" --limit 2 --json
is "...the first page" '[0,1]'
[ "$(jq .next "$WORK/last.out")" = 1 ] && ok "...next is the last index of the page" || bad "next $(jq .next "$WORK/last.out")"
expect_ok "list --limit 2 --after 1" $T list "$L" --limit 2 --after 1 --json
is "...the second page" '[2,3]'
expect_ok "list --limit 2 --all" $T list "$L" --limit 2 --all --json
is "...--all follows every page" '[0,1,2,3,4]'

expect_ok "list for a person" $T list "$L"
head -1 "$WORK/last.out" | grep -q '^INDEX  LOGGED (UTC) .*FROM/SERIAL  TYPE .*SUMMARY$' && ok "...a header" || bad "header: $(head -1 "$WORK/last.out")"
grep -Eq '^1 +2028-01-01 01:00:00  XA/1 +vd11.ch5.notification +XA-2025-EX01 2025-04-20..2025-04-30 troops 10400' "$WORK/last.out" &&
  ok "...aligned rows with a summary" || bad "rows: $(cat "$WORK/last.out")"
[ "$(awk '{print index($0, "vd11")}' "$WORK/last.out" | sort -u | grep -vc '^0$')" = 1 ] && ok "...columns aligned" || bad "columns: $(cat "$WORK/last.out")"
expect_ok "list --limit 1 for a person" $T list "$L" --limit 1
grep -q -- '--after 0' "$WORK/last.out" && ok "...says how to get the next page" || bad "no next-page hint"

expect_exit 2 "a bad limit is refused" $T list "$L" --limit 0
stderr_has "limit:" "...naming the parameter"
expect_exit 2 "a bad date is refused" $T list "$L" --since 2028-13-01
stderr_has "since:" "...naming the parameter"
expect_exit 2 "a bad party is refused" $T list "$L" --party xa
stderr_has "party:" "...naming the parameter"

expect_ok "show --json" $T show "$L" 3 --json
[ "$(jq -c '[.index, .signers, .notification.from, .notification.serial, .type]' "$WORK/last.out")" = '[3,["XA"],"XA",2,"vd11.ch3.explanation-reply"]' ] &&
  ok "...the row, signers and the document" || bad "show: $(cat "$WORK/last.out")"
[ "$(jq -r .submission "$WORK/last.out")" = "$(cat "$WORK/e3.note")" ] && ok "...and the signed note" || bad "submission"
expect_ok "show for a person" $T show "$L" 2
grep -q '^signers      \["XB"\]' "$WORK/last.out" && grep -q '"concerning"' "$WORK/last.out" &&
  ok "...fields one a line, the document pretty-printed" || bad "show: $(cat "$WORK/last.out")"
expect_exit 2 "show past the index" $T show "$L" 9
stderr_has "not indexed" "...says so"

# A stale index: still answers, and says how to update it.
expect_ok "append one more entry" $T append "$L" "$WORK/raw.entry"
expect_ok "list with a stale index" $T list "$L" --json
stderr_has "covers 5 of the log's 6 entries" "...warns that the index is behind"
stderr_has "treatylog reindex" "...and suggests reindex"

# Rebuilding gives the same index: twice on the log, and on a copy of it.
expect_ok "reindex" $T reindex "$L"
$T list "$L" --all --json --limit 2 > "$WORK/dump1" && $T show "$L" 3 --json >> "$WORK/dump1"
expect_ok "reindex again" $T reindex "$L"
$T list "$L" --all --json --limit 2 > "$WORK/dump2" && $T show "$L" 3 --json >> "$WORK/dump2"
cmp -s "$WORK/dump1" "$WORK/dump2" && ok "reindexing twice gives the same index" || bad "dumps differ"
[ "$(jq '.entries | length' "$WORK/dump1" | head -1)" = 6 ] && ok "...of all 6 entries" || bad "dump: $(head -c 300 "$WORK/dump1")"
cp -r "$L" "$WORK/copy"
rm -f "$WORK/copy/.treatylog/query.db"*
expect_ok "reindex a copy of the log" $T reindex "$WORK/copy"
$T list "$WORK/copy" --all --json --limit 2 > "$WORK/dump3" && $T show "$WORK/copy" 3 --json >> "$WORK/dump3"
cmp -s "$WORK/dump1" "$WORK/dump3" && ok "...gives an index identical to the original's" || bad "copy differs"
ls "$L/.treatylog/" | grep -q 'query.db.tmp' && bad "a temp file was left" || ok "no temp file left behind"
expect_exit 2 "reindex of a non-log" $T reindex "$WORK/nothing"

# Over HTTP, where the server has the query API. The server builds its own index (the live
# one, batch by batch as it sequences); reindexing a copy of the log gives the same rows.
rm -f "$L/.treatylog/query.db"*
if start_server "$L"; then
  expect_exit 2 "reindex of a log being served is refused" $T reindex "$L"
  stderr_has "stop it first" "...saying why"
  if [ "$(http_status GET "$U/v1/entries")" = 200 ]; then
    expect_ok "list URL --all --json" $T list "$U" --all --json --limit 2
    [ "$(idx)" = '[0,1,2,3,4,5]' ] && ok "...the server's entries" || bad "URL list: $(idx)"
    expect_ok "show URL INDEX" $T show "$U" 3 --json
    [ "$(jq -c .signers "$WORK/last.out")" = '["XA"]' ] && ok "...with signers" || bad "URL show"
    expect_exit 2 "a bad parameter over HTTP" $T list "$U" --limit 0
    stderr_has "limit" "...with the server's message"
    $T notify template vd11.ch3.explanation-request | jq '.from = "XB" | .serial = 2 | .refs = []' > "$WORK/e4.json"
    expect_ok "submit a notification to the server" \
      $T submit "$WORK/e4.json" --key "$WORK/xb.key" --server "$U" --vkey "$WORK/op.pub" --receipts "$WORK/receipts"
    $T list "$U" --all --json --limit 3 > "$WORK/live"
    [ "$(jq -c '[.entries[].index]' "$WORK/live")" = '[0,1,2,3,4,5,6]' ] && ok "...the live index has it" ||
      bad "live: $(jq -c '[.entries[].index]' "$WORK/live")"
    for i in 0 6; do $T show "$U" $i --json | jq -c 'del(.bounds, .proof)' >> "$WORK/live"; done
    cp -r "$L" "$WORK/copy2"
    stop_server
    rm -f "$WORK/copy2/.treatylog/query.db"*
    expect_ok "reindex a copy of the served log" $T reindex "$WORK/copy2"
    { $T list "$WORK/copy2" --all --json --limit 3
      for i in 0 6; do $T show "$WORK/copy2" $i --json; done; } > "$WORK/rebuilt"
    cmp -s "$WORK/live" "$WORK/rebuilt" && ok "...rebuilds an index identical to the live one" ||
      { bad "live and rebuilt differ"; diff <(jq -S . "$WORK/live") <(jq -S . "$WORK/rebuilt") | head -20; }
  else
    ok "skipped: the server has no GET /v1/entries yet"
    stop_server
  fi
fi
finish
