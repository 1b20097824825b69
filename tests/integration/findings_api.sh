#!/bin/bash
# GET /v1/findings paging, against a live `treatylog demo`: limit/after/next walk every finding
# exactly once, in order, whatever the page size (the pages concatenated are the unpaged list,
# limit=1000); the filters page the same way; the window from..to on the trigger index gives
# exactly the findings whose trigger is in it; bad limit/after/from/to are 400 naming the
# parameter, with a JSON error.
. "$(dirname "$0")/lib.bash"
D=$WORK/demo
$T demo --dir "$D" --listen 127.0.0.1:0 > "$WORK/demo.out" 2> "$WORK/demo.err" &
DPID=$!
for _ in $(seq 900); do grep -q '^Dashboard and API: ' "$WORK/demo.out" && break; kill -0 $DPID 2>/dev/null || break; sleep 0.1; done
U=$(sed -n 's|^Dashboard and API: \(http://[^ ]*\)/$|\1|p' "$WORK/demo.out")
if [ -z "$U" ]; then bad "the demo did not come up"; tail -n 20 "$WORK/demo.out" "$WORK/demo.err"; kill $DPID; finish; exit 1; fi
ok "the demo serves at $U"

# get QUERY...: GET /v1/findings with the given name=value pairs (url-encoded) into $WORK/page;
# prints the status.
get() {
  local args=()
  for kv in "$@"; do args+=(--data-urlencode "$kv"); done
  curl -s -G -o "$WORK/page" -w '%{http_code}' "${args[@]}" "$U/v1/findings"
}

# The whole list in one page (the demo has far fewer than 1000 findings).
st=$(get limit=1000)
[ "$st" = 200 ] && ok "limit=1000 answers 200" || bad "limit=1000: HTTP $st $(head -c 300 "$WORK/page")"
jq -c '.findings[]' "$WORK/page" > "$WORK/all.txt"
N=$(wc -l < "$WORK/all.txt")
SIZE=$(jq '.at.size' "$WORK/page")
[ "$(jq -c 'keys_unsorted' "$WORK/page")" = '["findings","next","at"]' ] && ok "the answer is {findings, next, at}" || bad "answer keys: $(jq -c keys_unsorted "$WORK/page")"
[ "$N" -gt 10 ] && ok "the demo has $N findings as of size $SIZE" || bad "only $N findings"
[ "$(jq -c '.next' "$WORK/page")" = null ] && ok "...on one page: next is null" || bad "next of the whole list: $(jq -c .next "$WORK/page")"
jq -r '[.trigger, .id] | @tsv' "$WORK/all.txt" > "$WORK/order.txt"
sort -s -n -k1,1 "$WORK/order.txt" | cmp -s - "$WORK/order.txt" && ok "...in trigger order" || bad "the list is not in trigger order"
[ "$(jq -r .id "$WORK/all.txt" | sort | uniq -d | wc -l)" = 0 ] && ok "...with distinct ids" || bad "repeated ids in the list"

# walk OUT LIMIT [PARAM...]: follows next from the first page to the last; every finding into
# OUT (one per line), the number of requests into $pages. 1 on a bad page, 2 when the
# witnessed size moved meanwhile.
walk() {
  local out=$1 limit=$2 after='' st n next size
  shift 2
  : > "$out"
  pages=0
  while :; do
    if [ -n "$after" ]; then st=$(get "$@" "limit=$limit" "after=$after"); else st=$(get "$@" "limit=$limit"); fi
    pages=$((pages+1))
    if [ "$st" != 200 ]; then echo "  page $pages: HTTP $st $(head -c 200 "$WORK/page")"; return 1; fi
    n=$(jq '.findings | length' "$WORK/page")
    next=$(jq -r '.next // empty' "$WORK/page")
    size=$(jq '.at.size' "$WORK/page")
    [ "$size" = "$SIZE" ] || return 2
    [ "$n" -le "$limit" ] || { echo "  page $pages has $n > $limit findings"; return 1; }
    jq -c '.findings[]' "$WORK/page" >> "$out"
    [ -z "$next" ] && return 0
    [ "$n" = "$limit" ] || { echo "  page $pages has $n < $limit findings but a next"; return 1; }
    [ "$next" = "$(jq -r '.findings[-1].id' "$WORK/page")" ] || { echo "  next is not the last id of page $pages"; return 1; }
    after=$next
    [ "$pages" -le $((N + 2)) ] || { echo "  more pages than findings"; return 1; }
  done
}
# snapshot: the whole list (one page of 1000) into $WORK/all.txt; sets N and SIZE.
snapshot() {
  get limit=1000 > /dev/null
  jq -c '.findings[]' "$WORK/page" > "$WORK/all.txt"
  N=$(wc -l < "$WORK/all.txt")
  SIZE=$(jq '.at.size' "$WORK/page")
}
# paged DESC JQ LIMIT [PARAM...]: the walk with PARAMs and LIMIT gives exactly the findings of
# the unpaged list that JQ selects, in order. The list is taken before and after the walk;
# if it changed meanwhile (a witnessed checkpoint moved the rules' now), the check is redone.
paged() {
  local desc=$1 sel=$2 limit=$3 try rc
  shift 3
  for try in 1 2 3; do
    snapshot
    cp "$WORK/all.txt" "$WORK/before.txt"
    jq -c "select($sel)" "$WORK/all.txt" > "$WORK/want.txt"
    walk "$WORK/walk.txt" "$limit" "$@"
    rc=$?
    snapshot
    if [ $rc = 2 ] || ! cmp -s "$WORK/before.txt" "$WORK/all.txt"; then echo "  the list changed during the walk: again"; continue; fi
    if [ $rc = 0 ] && cmp -s "$WORK/walk.txt" "$WORK/want.txt"; then
      ok "$desc: $(wc -l < "$WORK/want.txt") findings in $pages pages"
    else bad "$desc"; diff "$WORK/walk.txt" "$WORK/want.txt" | head -5; fi
    return
  done
  bad "$desc: the list kept changing"
}

for L in 1 2 7 100; do paged "limit=$L: the pages concatenated are the unpaged list" true $L; done
paged "limit=1" true 1
[ "$pages" = "$N" ] && ok "limit=1 takes exactly $N requests" || bad "limit=1 took $pages requests for $N findings"
[ "$(jq -r .id "$WORK/walk.txt" | sort | uniq -d | wc -l)" = 0 ] && [ "$(wc -l < "$WORK/walk.txt")" = "$N" ] &&
  ok "limit=1 walks every finding exactly once" || bad "limit=1 repeats or skips findings"
# Findings sharing a trigger (several rules on one entry) are split across pages correctly.
shared=$(jq -r .trigger "$WORK/all.txt" | uniq -d | head -1)
[ -n "$shared" ] && ok "trigger $shared has $(jq -r .trigger "$WORK/all.txt" | grep -cx "$shared") findings (covered by limit=1)" ||
  bad "no trigger with several findings in the demo: the same-trigger case is not covered"

# The default page is 100; a walk with filters gives the filtered list.
st=$(get)
want=$(( N < 100 ? N : 100 ))
[ "$st" = 200 ] && [ "$(jq '.findings | length' "$WORK/page")" = "$want" ] && ok "no limit: a page of at most 100 ($want)" || bad "no limit: HTTP $st, $(jq '.findings | length' "$WORK/page") findings"
for state in $(jq -r .state "$WORK/all.txt" | sort -u); do
  paged "state=$state, limit=2" ".state == \"$state\"" 2 "state=$state"
done
rule=$(jq -r .rule "$WORK/all.txt" | sort | uniq -c | sort -rn | awk 'NR==1{print $2}')
party=$(jq -r '.parties[]' "$WORK/all.txt" | sort | uniq -c | sort -rn | awk 'NR==1{print $2}')
paged "rule=$rule&party=$party, limit=1" ".rule == \"$rule\" and (.parties | index(\"$party\"))" 1 "rule=$rule" "party=$party"

# The window on the trigger index: exactly the findings whose trigger is in from..to.
triggers=($(jq -r .trigger "$WORK/all.txt" | uniq))
nt=${#triggers[@]}
check_window() { # FROM TO [LIMIT]
  local from=$1 to=$2 limit=${3:-1000}
  paged "from=$from&to=$to limit=$limit: the findings whose trigger is in the window" \
    ".trigger >= $from and .trigger <= $to" "$limit" "from=$from" "to=$to"
}
check_window "${triggers[$((nt / 3))]}" "${triggers[$((2 * nt / 3))]}"
check_window "${triggers[$((nt / 3))]}" "${triggers[$((2 * nt / 3))]}" 1
check_window $((${triggers[1]} - 1)) $((${triggers[$((nt - 2))]} + 1)) 3 # bounds between triggers
check_window "$shared" "$shared" 1
check_window 0 0
check_window "$((${triggers[$((nt - 1))]} + 1))" 999999999
paged "from alone" ".trigger >= 5" 1000 from=5
paged "to alone" ".trigger <= 9" 1000 to=9
paged "a window and a filter" ".trigger >= 5 and .trigger <= 10 and .state == \"missed\"" 2 from=5 to=10 state=missed

# A cursor is compared, not looked up: past the last finding there is nothing; an id that is
# no finding still places the page.
snapshot
last=$(jq -r .id "$WORK/all.txt" | tail -1)
st=$(get "after=$last")
[ "$st" = 200 ] && [ "$(jq -c '[.findings, .next]' "$WORK/page")" = '[[],null]' ] && ok "after the last finding: an empty last page" || bad "after=$last: HTTP $st $(head -c 200 "$WORK/page")"
t=${triggers[$((nt / 2))]}
st=$(get "after=a/$t" limit=1000)
jq -c --argjson t "$t" 'select(.trigger >= $t)' "$WORK/all.txt" > "$WORK/want.txt"
[ "$st" = 200 ] && jq -c '.findings[]' "$WORK/page" | cmp -s - "$WORK/want.txt" && ok "after=a/$t (no such finding): from trigger $t on" || bad "after=a/$t"
st=$(get "after=zzz/$t/4294967295" limit=1000)
jq -c --argjson t "$t" 'select(.trigger > $t)' "$WORK/all.txt" > "$WORK/want.txt"
[ "$st" = 200 ] && jq -c '.findings[]' "$WORK/page" | cmp -s - "$WORK/want.txt" && ok "after=zzz/$t/4294967295: past trigger $t" || bad "after=zzz/$t/..."

# Bad values: 400, a JSON error naming the parameter.
bad_param() { # NAME VALUE [MORE...]
  local name=$1
  st=$(get "$name=$2" "${@:3}")
  local err
  err=$(jq -r '.error' "$WORK/page" 2>/dev/null)
  if [ "$st" = 400 ] && [[ "$err" == "$name: "* ]]; then ok "$name=$2: 400 ($err)"; else bad "$name=$2: HTTP $st $(head -c 200 "$WORK/page")"; fi
}
for v in 0 1001 -1 01 abc 1.5 "" " 5" 99999999999999999999999; do bad_param limit "$v"; done
for v in "" x 5 "vd11.ch3.reply-48h" "vd11.ch3.reply-48h/" "vd11.ch3.reply-48h/x" "vd11.ch3.reply-48h/05" \
  "vd11.ch3.reply-48h/5/0" "vd11.ch3.reply-48h/5/4294967296" "vd11.ch3.reply-48h/5/1/2" "Vd11/5" "/5" ".x/5" \
  "$(printf 'a%.0s' $(seq 65))/5" "a b/5" "a/5 "; do bad_param after "$v"; done
for v in "" x -1 1e3 05; do bad_param from "$v"; bad_param to "$v"; done
bad_param to 4 from=5
st=$(get "after=$(printf 'a%.0s' $(seq 64))/5")
[ "$st" = 200 ] && ok "a 64-byte rule id is a valid cursor" || bad "64-byte rule in after: HTTP $st"

kill -INT $DPID; wait $DPID
[ $? -eq 0 ] && ok "the demo stops cleanly on SIGINT" || bad "the demo did not exit 0 on SIGINT"
finish
