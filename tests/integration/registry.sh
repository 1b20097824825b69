#!/bin/bash
# treatylog init --registry: the genesis entry of a treaty log is the registry document
# (parties and their keys, witness policy, rulesets) signed by the operator, checked before
# anything is written; a bad registry file gets a clear error and no log.
. "$(dirname "$0")/lib.bash"
declare -A st
$T keygen registry.example/log --out "$WORK/op" >/dev/null
$T keygen XA --out "$WORK/xa" >/dev/null
$T keygen XB --out "$WORK/xb" >/dev/null
$T keygen w1.example --witness --out "$WORK/w1" >/dev/null
reg() { # extra-json-for-XB-key
  cat <<JSON
{
  "action": "genesis",
  "parties": [
    {"code": "XA", "name": "Arcadia", "keys": ["$(cat "$WORK/xa.pub")"], "roles": ["chair"]},
    {"code": "XB", "name": "Borduria", "keys": ["$1"], "roles": []}
  ],
  "witness_policy": "log $(cat "$WORK/op.pub")\\nwitness W1 $(cat "$WORK/w1.pub")\\nquorum W1\\n",
  "rulesets": [{"name": "vd11.rules", "sha256": "$(printf 'vd11' | sha256sum | cut -d' ' -f1)"}]
}
JSON
}
reg "$(cat "$WORK/xb.pub")" > "$WORK/registry.json"
expect_ok "init --registry writes the genesis registry" $T init "$WORK/log" --key "$WORK/op.key" --registry "$WORK/registry.json"
stderr_has "the ruleset's text is not logged" "...and says that no file holds the ruleset it names by hash"
[ "$(sed -n 2p "$WORK/log/checkpoint")" = 1 ] && ok "the log has one entry, the genesis" || bad "size $(sed -n 2p "$WORK/log/checkpoint")"
tail -c +3 "$WORK/log/tile/entries/000.p/1" > "$WORK/entry0"
head -1 "$WORK/entry0" | grep -qx 'treatylog/entry/v1' && sed -n 2p "$WORK/entry0" | grep -Eq '^logged [1-9][0-9]{12}$' &&
  [ -z "$(sed -n 3p "$WORK/entry0")" ] && ok "entry 0 has the treatylog/entry/v1 header with its logged time" || bad "entry header: $(head -3 "$WORK/entry0")"
sed '1,3d' "$WORK/entry0" > "$WORK/reg.note"
head -1 "$WORK/reg.note" | grep -qx 'treatylog/registry/v1' && ok "...then the registry document" || bad "registry header"
expect_ok "the registry note is signed by the operator (oracle)" $V note "$WORK/op.pub" "$WORK/reg.note"
expect_fail "...and not by a party" $V note "$WORK/xa.pub" "$WORK/reg.note"
grep -q '"code":"XB","name":"Borduria"' "$WORK/reg.note" && ok "the registry lists the parties on one line" || bad "registry body"
expect_ok "the genesis log audits" $T audit "$WORK/log" --vkey "$WORK/op.pub"
# The ruleset's text is logged with the registry (DESIGN §3) when the rules directory has the
# file the registry names by SHA-256; `serve` then needs no rules directory to judge the log.
R=${TL_SRC:-$(dirname "$0")/../..}/rules/vd11.rules
sed "s/$(printf 'vd11' | sha256sum | cut -d' ' -f1)/$(sha256sum "$R" | cut -d' ' -f1)/" "$WORK/registry.json" > "$WORK/registry-real.json"
expect_ok "init --registry naming the shipped vd11.rules" $T init "$WORK/logr" --key "$WORK/op.key" --registry "$WORK/registry-real.json"
[ ! -s "$WORK/last.err" ] || ! grep -q "not logged" "$WORK/last.err" && ok "...with no note about a missing text" || bad "note: $(cat "$WORK/last.err")"
tail -c +3 "$WORK/logr/tile/entries/000.p/1" | sed '1,3d' > "$WORK/regr.note"
python3 - "$WORK/regr.note" "$R" <<'PY' && ok "entry 0 carries the ruleset's text byte for byte" || bad "the logged text differs from $R"
import json, sys
doc = json.loads(open(sys.argv[1], encoding="utf-8").read().split("\n")[1])
sys.exit(0 if doc["rulesets"][0]["text"].encode() == open(sys.argv[2], "rb").read() else 1)
PY
expect_ok "...and the note still verifies with the oracle" $V note "$WORK/op.pub" "$WORK/regr.note"
expect_ok "registry show" $T registry show "$WORK/logr"
grep -q "^ruleset vd11.rules sha256 $(sha256sum "$R" | cut -d' ' -f1) (text logged, $(stat -c %s "$R") bytes)$" "$WORK/last.out" &&
  ok "...says the text is logged, with its size" || bad "registry show: $(grep ruleset "$WORK/last.out")"
mkdir -p "$WORK/norules"
for l in logr log; do
  rm -f "$WORK/url"
  TREATYLOG_RULES=$WORK/norules $T serve --dir "$WORK/$l" --listen 127.0.0.1:0 > "$WORK/url" 2> "$WORK/serve-$l.err" &
  SPID=$!
  for _ in $(seq 100); do [ -s "$WORK/url" ] && break; sleep 0.05; done
  U=$(head -1 "$WORK/url")
  # 503 while serve evaluates the log in the background at start-up (slow under ASan)
  for _ in $(seq 200); do
    st[$l]=$(http_status GET "$U/v1/findings?limit=1")
    [ "${st[$l]}" = 503 ] || break
    sleep 0.05
  done
  stop_server
done 2>/dev/null
[ "${st[logr]}" = 200 ] && ok "serve with an empty rules directory judges the log from the logged text" ||
  bad "findings: HTTP ${st[logr]} $(cat "$WORK/serve-logr.err")"
[ "${st[log]}" = 404 ] && grep -q "none of the rulesets the registry names" "$WORK/serve-log.err" &&
  ok "...and without a logged text has no ruleset, and says why" || bad "findings of the other log: HTTP ${st[log]}"
python3 - "$WORK/registry-real.json" "$WORK/badtext.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["rulesets"][0]["text"] = "# not the ruleset whose hash is given\n"
json.dump(doc, open(sys.argv[2], "w"))
PY
expect_exit 2 "a ruleset text whose SHA-256 is not the one given is refused" $T init "$WORK/badtext" --key "$WORK/op.key" --registry "$WORK/badtext.json"
stderr_has "rulesets[0].text: its SHA-256 is not the sha256 given for vd11.rules" "...naming the field"
[ ! -e "$WORK/badtext" ] && ok "...and no log is created" || bad "a log was created"
# Texts that would not fit in one entry together are left out (with a note), not refused.
mkdir -p "$WORK/bigrules"
big=()
for k in 1 2 3 4; do
  python3 -c "import sys; sys.stdout.write(''.join('# big ruleset %s line %05d\n' % (sys.argv[1], i) for i in range(800)))" "$k" > "$WORK/bigrules/big$k.rules"
  big+=("{\"name\": \"big$k.rules\", \"sha256\": \"$(sha256sum "$WORK/bigrules/big$k.rules" | cut -d' ' -f1)\"}")
done
python3 - "$WORK/registry.json" "$WORK/registry-big.json" "$(IFS=,; echo "[${big[*]}]")" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["rulesets"] = json.loads(sys.argv[3])
json.dump(doc, open(sys.argv[2], "w"))
PY
TREATYLOG_RULES=$WORK/bigrules expect_ok "init --registry with four 20 KB rulesets" $T init "$WORK/logbig" --key "$WORK/op.key" --registry "$WORK/registry-big.json"
stderr_has "would not fit in an entry: the texts are not logged" "...leaves their texts out, and says so"
expect_ok "registry show" $T registry show "$WORK/logbig"
[ "$(grep -c '^ruleset big' "$WORK/last.out")" = 4 ] && ! grep -q "text logged" "$WORK/last.out" &&
  ok "...names all four, none with a logged text" || bad "registry show: $(grep ruleset "$WORK/last.out")"
# Bad registry files: a clear error, no log.
reg "$(cat "$WORK/xa.pub")" > "$WORK/bad1.json"     # XB's key is XA's
expect_exit 2 "a party key named for another party is refused" $T init "$WORK/bad1" --key "$WORK/op.key" --registry "$WORK/bad1.json"
[ ! -e "$WORK/bad1" ] && ok "...and no log directory is created" || bad "a log was created"
sed 's/"roles": \["chair"\]/"roles": ["chair"], "colour": "blue"/' "$WORK/registry.json" > "$WORK/bad2.json"
expect_exit 2 "an unknown field is refused" $T init "$WORK/bad2" --key "$WORK/op.key" --registry "$WORK/bad2.json"
stderr_has "colour" "...naming the field"
sed 's/"code": "XA"/"code": "xa"/' "$WORK/registry.json" > "$WORK/bad3.json"
expect_exit 2 "a bad party code is refused" $T init "$WORK/bad3" --key "$WORK/op.key" --registry "$WORK/bad3.json"
sed 's/"genesis"/"add"/' "$WORK/registry.json" > "$WORK/bad4.json"
expect_exit 2 "a registry that is not a genesis is refused by init" $T init "$WORK/bad4" --key "$WORK/op.key" --registry "$WORK/bad4.json"
printf '{"action": "genesis",\n"parties": [' > "$WORK/bad5.json"
expect_exit 2 "truncated JSON is refused" $T init "$WORK/bad5" --key "$WORK/op.key" --registry "$WORK/bad5.json"
finish
