#!/bin/bash
# treatylog init --registry: the genesis entry of a treaty log is the registry document
# (parties and their keys, witness policy, rulesets) signed by the operator, checked before
# anything is written; a bad registry file gets a clear error and no log.
. "$(dirname "$0")/lib.bash"
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
