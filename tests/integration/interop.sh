#!/bin/bash
# Interop with the Go oracle (../shared/tools/tlogverify): logs written by treatylog pass the
# oracle's full tile check; logs written by the oracle pass treatylog audit; proofs cross
# over both ways; one flipped byte anywhere is caught by treatylog audit.
. "$(dirname "$0")/lib.bash"

$T keygen example.com/log --out "$WORK/k" >/dev/null
VK=$WORK/k.pub
$T keygen other.example/log --out "$WORK/other" >/dev/null

# 1. Fresh logs of the issue's sizes, one append each.
for n in 1 2 255 256 257 65536 70000; do
  d=$WORK/log.$n
  records $n "$WORK/recs.$n"
  $T init "$d" --key "$WORK/k.key" >/dev/null 2>&1
  expect_ok "append $n entries" $T append "$d" --lines "$WORK/recs.$n"
  expect_ok "oracle: tiles of $n (--full, records)" $V tiles "$VK" "$d/checkpoint" "$d" --full \
    --record 0 --record $((n-1)) --record $((n/2))
  expect_ok "treatylog audit $n" $T audit "$d" --vkey "$VK"
done

# The tile sets of the tlog-tiles worked examples, as written by treatylog.
count_tiles() { (cd "$1" && find tile -type f ! -path 'tile/entries/*' | wc -l); }
count_bundles() { (cd "$1" && find tile/entries -type f | wc -l); }
[ "$(count_tiles "$WORK/log.256")" -eq 2 ] && [ -f "$WORK/log.256/tile/1/000.p/1" ] &&
  [ "$(count_bundles "$WORK/log.256")" -eq 1 ] && ok "size 256: tile/0/000 and tile/1/000.p/1, one bundle" ||
  bad "size 256 tile set"
[ "$(count_tiles "$WORK/log.70000")" -eq 277 ] && [ "$(count_bundles "$WORK/log.70000")" -eq 274 ] &&
  [ -f "$WORK/log.70000/tile/0/273.p/112" ] && [ -f "$WORK/log.70000/tile/1/001.p/17" ] &&
  [ -f "$WORK/log.70000/tile/2/000.p/1" ] && [ -f "$WORK/log.70000/tile/entries/273.p/112" ] &&
  ok "size 70000: 277 hash tiles (273.p/112, 1/001.p/17, 2/000.p/1) and 274 bundles" || bad "size 70000 tile set"

# Over HTTP: the oracle serves a treatylog log; treatylog audits and proves over HTTP.
$V serve "$WORK/log.70000" 127.0.0.1:0 > "$WORK/serve.url" 2>/dev/null & spid=$!
for i in $(seq 50); do [ -s "$WORK/serve.url" ] && break; sleep 0.1; done
url=$(head -1 "$WORK/serve.url")
expect_ok "treatylog audit over HTTP ($url)" $T audit "$url" --vkey "$VK"
$T prove "$url" --index 12345 --vkey "$VK" > "$WORK/p.http" 2>"$WORK/last.err" || bad "prove over HTTP"
$T prove "$WORK/log.70000" --index 12345 > "$WORK/p.dir" 2>/dev/null
cmp -s "$WORK/p.http" "$WORK/p.dir" && ok "prove over HTTP = prove from the directory" || bad "prove over HTTP differs"
expect_exit 1 "audit over HTTP with the wrong key" $T audit "$url" --vkey "$WORK/other.pub"
kill $spid 2>/dev/null; wait $spid 2>/dev/null
expect_exit 2 "audit of a URL nobody serves" $T audit "$url" --vkey "$VK"
stderr_has "GET $url/checkpoint" "...names the URL that failed"

# 2. One log grown through intermediate sizes: every old checkpoint is consistent with every
#    newer tree, checked by the oracle.
d=$WORK/grown
records 70000 "$WORK/recs.all"
$T init "$d" --key "$WORK/k.key" >/dev/null 2>&1
prev=0
sizes=(1 2 255 256 257 300 511 512 513 65535 65536 65537 70000)
for s in "${sizes[@]}"; do
  sed -n "$((prev+1)),${s}p" "$WORK/recs.all" > "$WORK/chunk"
  $T append "$d" --lines "$WORK/chunk" >/dev/null 2>&1 || bad "grow to $s"
  args=(--full --record $((s-1)) --record $((s/2)))
  for o in "${sizes[@]}"; do
    [ "$o" -lt "$s" ] || break
    args+=(--old-size "$o" --old-checkpoint "$d/checkpoints/$o")
  done
  expect_ok "oracle: grown log at $s (full, old checkpoints)" $V tiles "$VK" "$d/checkpoint" "$d" "${args[@]}"
  prev=$s
done
for o in 1 256 513 65536; do
  expect_ok "oracle: old checkpoint $o alone against the grown tiles" \
    $V tiles "$VK" "$d/checkpoints/$o" "$d" --full --record $((o-1))
  expect_ok "audit --from-checkpoint $o" $T audit "$d" --vkey "$VK" --from-checkpoint "$d/checkpoints/$o"
done
[ "$(cat "$d/checkpoint")" = "$(cat "$WORK/log.70000/checkpoint")" ] &&
  ok "grown log and one-shot log of the same entries have the same checkpoint" ||
  bad "grown log checkpoint differs from the one-shot log"

# 3. Proofs from treatylog prove, checked by the oracle.
for n in 1 2 257 70000; do
  for i in 0 $((n/2)) $((n-1)); do
    $T prove "$WORK/log.$n" --index $i > "$WORK/p" 2>"$WORK/last.err" || bad "prove $n/$i"
    sed -n "$((i+1))p" "$WORK/recs.$n" | tr -d '\n' > "$WORK/e"
    expect_ok "oracle accepts treatylog proof $i of $n" $V proof "$VK" "$WORK/p" "$WORK/e" --origin example.com/log
    expect_ok "treatylog accepts its own proof $i of $n" $T verify-proof --vkey "$VK" "$WORK/p" "$WORK/e"
  done
done
for m in 1 255 256 300 65536 65537; do
  for s in 65537 70000; do
    [ $m -le $s ] || continue
    proof=$($T prove "$d" --old $m --size $s 2>"$WORK/last.err") || bad "prove --old $m --size $s"
    old=$(sed -n 3p "$d/checkpoints/$m"); new=$(sed -n 3p "$d/checkpoints/$s")
    if [ $m -eq $s ]; then continue; fi
    expect_ok "oracle: consistency $m -> $s" $V check-consistency $m "$old" $s "$new" $proof
  done
done
expect_fail "oracle rejects a consistency proof with swapped sizes" \
  $V check-consistency 300 "$(sed -n 3p "$d/checkpoints/256")" 70000 "$(sed -n 3p "$d/checkpoint")" \
  $($T prove "$d" --old 300 2>/dev/null)
$T prove "$d" --index 299 --size 300 > "$WORK/p300" 2>/dev/null
sed -n 300p "$WORK/recs.all" | tr -d '\n' > "$WORK/e"
expect_ok "proof against an older archived checkpoint (--size 300)" $V proof "$VK" "$WORK/p300" "$WORK/e"
expect_exit 2 "prove --size of a never-published size" $T prove "$d" --index 0 --size 301
stderr_has "no checkpoint of size 301" "...says no checkpoint of that size"

# 4. Logs written by the oracle, audited and proved by treatylog.
$V keygen example.org/oracle --out "$WORK/o" >/dev/null
for n in 1 257 70000; do
  od=$WORK/oracle.$n
  sizes=$(for m in 1 2 255 256 $((n/2)) $((n-1)); do [ "$m" -ge 1 ] && [ "$m" -lt "$n" ] && echo "$m"; done | sort -nu | paste -sd, -)
  $V build "$WORK/o.skey" "$WORK/recs.$n" "$od" ${sizes:+--sizes "$sizes"} --proofs "$od.proofs" >/dev/null 2>&1 || bad "oracle build $n"
  expect_ok "treatylog audit of the oracle's $n-entry log" $T audit "$od" --vkey "$WORK/o.vkey"
  for m in ${sizes//,/ }; do
    expect_ok "audit of oracle $n from its checkpoint $m" $T audit "$od" --vkey "$WORK/o.vkey" --from-checkpoint "$od/checkpoints/$m"
  done
  for f in "$od.proofs"/*.tlog-proof; do
    i=$(basename "$f" .tlog-proof)
    expect_ok "treatylog verify-proof of oracle proof $i/$n" $T verify-proof --vkey "$WORK/o.vkey" "$f" "$od.proofs/$i.entry"
    $T prove "$od" --index "$i" --vkey "$WORK/o.vkey" > "$WORK/p" 2>/dev/null
    cmp -s "$WORK/p" "$f" && ok "treatylog prove on the oracle's log = the oracle's proof $i/$n" ||
      bad "treatylog prove differs from the oracle's proof $i/$n"
  done
done
expect_exit 1 "verify-proof with the wrong entry" $T verify-proof --vkey "$WORK/o.vkey" "$WORK/oracle.257.proofs/128.tlog-proof" "$WORK/oracle.257.proofs/0.entry"
expect_exit 1 "verify-proof with the wrong log key" $T verify-proof --vkey "$VK" "$WORK/oracle.257.proofs/128.tlog-proof" "$WORK/oracle.257.proofs/128.entry"
expect_exit 1 "audit with the wrong key" $T audit "$WORK/oracle.257" --vkey "$VK"

# 5. One flipped byte anywhere is caught: every file of a small grown log, and a sample of
#    the 70000-entry one.
flip_all() { # DIR VKEY LIST_FILE
  local dir=$1 vk=$2 list=$3 caught=0 total=0
  while read -r f; do
    total=$((total+1))
    cp "$dir/$f" "$WORK/orig"
    local sz; sz=$(stat -c %s "$dir/$f")
    local at=$(( (RANDOM * 32768 + RANDOM) % sz ))
    printf "$(printf '\\%03o' $(( ( $(od -An -tu1 -j$at -N1 "$dir/$f") ^ (1 << (RANDOM % 8)) ) )))" |
      dd of="$dir/$f" bs=1 seek=$at conv=notrunc 2>/dev/null
    if $T audit "$dir" --vkey "$vk" >/dev/null 2>&1; then echo "  not caught: $f byte $at"; else caught=$((caught+1)); fi
    cp "$WORK/orig" "$dir/$f"
  done < "$list"
  [ "$caught" -eq "$total" ] && ok "audit caught $caught of $total single-byte flips in $(basename "$dir")" ||
    bad "audit caught only $caught of $total flips in $(basename "$dir")"
}
small=$WORK/small
$T init "$small" --key "$WORK/k.key" >/dev/null 2>&1
for s in 3 100 256 300 600; do head -$s "$WORK/recs.all" | tail -n +$((${prev2:-0}+1)) > "$WORK/chunk"; prev2=$s
  $T append "$small" --lines "$WORK/chunk" >/dev/null 2>&1; done
(cd "$small" && find checkpoint checkpoints tile -type f | sort) > "$WORK/files"
expect_ok "small grown log audits clean" $T audit "$small" --vkey "$VK"
flip_all "$small" "$VK" "$WORK/files"
(cd "$d" && find checkpoint tile -type f | shuf -n 40 --random-source=<(yes)) > "$WORK/files"
flip_all "$d" "$VK" "$WORK/files"
expect_ok "grown log still audits clean after the flips were undone" $T audit "$d" --vkey "$VK"

finish
