#!/bin/bash
# Bad input gets a clear error, exit 1 (verification) or 2 (usage/input), and writes nothing:
# truncated, oversized and non-UTF-8 notes, a wrong key, an entry over 65,535 bytes, a DIR
# that is not a log, a second writer, malformed numbers and proofs.
. "$(dirname "$0")/lib.bash"

$T keygen bad.example/log --out "$WORK/k" >/dev/null
$T keygen other.example/log --out "$WORK/other" >/dev/null
VK=$WORK/k.pub
d=$WORK/log
$T init "$d" --key "$WORK/k.key" >/dev/null 2>&1
records 300 "$WORK/recs"
$T append "$d" --lines "$WORK/recs" >/dev/null 2>&1
before=$(tree_sum "$d")
unchanged() { [ "$(tree_sum "$d")" = "$before" ] && ok "$1: log unchanged" || bad "$1: log changed"; }

# Entries over the limit: nothing written, even with good entries before them.
head -c 65536 /dev/zero | tr '\0' 'a' > "$WORK/big"
head -c 65535 /dev/zero | tr '\0' 'a' > "$WORK/max"
echo good > "$WORK/good"
expect_exit 2 "append: a 65,536-byte file" $T append "$d" "$WORK/good" "$WORK/big"
stderr_has "65535-byte entry limit" "...names the limit"
unchanged "oversized file"
{ echo first; cat "$WORK/big"; echo; echo last; } > "$WORK/lines"
expect_exit 2 "append --lines: a 65,536-byte line" $T append "$d" --lines "$WORK/lines"
stderr_has "line 2" "...names the line"
unchanged "oversized line"
expect_ok "append: a 65,535-byte entry is fine" $T append "$d" "$WORK/max"
before=$(tree_sum "$d")

# Not a log.
mkdir -p "$WORK/plain"; echo x > "$WORK/plain/file"
plain_before=$(tree_sum "$WORK/plain")
expect_exit 2 "append to a directory that is not a log" $T append "$WORK/plain" "$WORK/good"
stderr_has "not a treatylog log" "...says it is not a log"
[ "$(tree_sum "$WORK/plain")" = "$plain_before" ] && [ ! -e "$WORK/plain/.treatylog" ] &&
  ok "nothing written into the non-log directory" || bad "the non-log directory was written to"
expect_exit 2 "append to a missing directory" $T append "$WORK/nope" "$WORK/good"
expect_exit 2 "init over a non-empty directory" $T init "$WORK/plain" --key "$WORK/k.key"
expect_exit 2 "audit of a directory that is not a log" $T audit "$WORK/plain" --vkey "$VK"
expect_exit 2 "append: missing entry file" $T append "$d" "$WORK/missing"
unchanged "missing entry file"

# One writer at a time.
( flock -x 9; sleep 3 ) 9>"$d/.treatylog/lock" &
sleep 0.5
expect_exit 2 "a second writer is refused" $T append "$d" "$WORK/good"
stderr_has "in use by another treatylog process" "...says the log is in use"
wait
unchanged "second writer"

# Wrong key, broken checkpoints.
expect_exit 1 "audit with another log's key" $T audit "$d" --vkey "$WORK/other.pub"
stderr_has "checkpoint" "...says the checkpoint failed"
cp -r "$d" "$WORK/c"
head -c 100 "$d/checkpoint" > "$WORK/c/checkpoint"
expect_exit 2 "audit: truncated checkpoint" $T audit "$WORK/c" --vkey "$VK"
stderr_has "checkpoint" "...names the checkpoint"
{ printf '\xff'; cat "$d/checkpoint"; } > "$WORK/c/checkpoint"
expect_exit 2 "audit: non-UTF-8 checkpoint" $T audit "$WORK/c" --vkey "$VK"
stderr_has "UTF-8" "...says UTF-8"
{ cat "$d/checkpoint"; head -c 70000 /dev/zero | tr '\0' 'x'; } > "$WORK/c/checkpoint"
expect_exit 2 "audit: oversized checkpoint note" $T audit "$WORK/c" --vkey "$VK"
sed 's/^301$/302/' "$d/checkpoint" > "$WORK/c/checkpoint"
expect_exit 1 "audit: edited checkpoint size" $T audit "$WORK/c" --vkey "$VK"
expect_exit 2 "audit: a garbage vkey" $T audit "$d" --vkey "not-a-key"
expect_exit 2 "audit: a private key given as vkey" $T audit "$d" --vkey "$WORK/k.key"

# Proof files.
$T prove "$d" --index 5 > "$WORK/p"
sed -n 6p "$WORK/recs" | tr -d '\n' > "$WORK/e"
expect_ok "good proof verifies" $T verify-proof --vkey "$VK" "$WORK/p" "$WORK/e"
head -c 150 "$WORK/p" > "$WORK/p.trunc"
expect_exit 2 "verify-proof: truncated proof" $T verify-proof --vkey "$VK" "$WORK/p.trunc" "$WORK/e"
sed 's/^index 5$/index 05/' "$WORK/p" > "$WORK/p.lz"
expect_exit 2 "verify-proof: index with a leading zero" $T verify-proof --vkey "$VK" "$WORK/p.lz" "$WORK/e"
sed 's/^index 5$/index 6/' "$WORK/p" > "$WORK/p.idx"
expect_exit 1 "verify-proof: wrong index" $T verify-proof --vkey "$VK" "$WORK/p.idx" "$WORK/e"
{ head -c 80000 /dev/zero | tr '\0' 'A'; } > "$WORK/p.huge"
expect_exit 2 "verify-proof: oversized garbage" $T verify-proof --vkey "$VK" "$WORK/p.huge" "$WORK/e"
expect_exit 2 "verify-proof: entry file over the limit" $T verify-proof --vkey "$VK" "$WORK/p" "$WORK/big"

# Malformed numbers and usage.
expect_exit 2 "prove: --index with a sign" $T prove "$d" --index +1
expect_exit 2 "prove: --index past the end" $T prove "$d" --index 301
stderr_has "not in a log of size 301" "...says the size"
expect_exit 2 "prove: --old larger than the log" $T prove "$d" --old 999
expect_exit 2 "prove: both --index and --old" $T prove "$d" --index 1 --old 1
expect_exit 2 "unknown command" $T frobnicate
expect_exit 2 "unknown option" $T audit "$d" --vkey "$VK" --bogus
expect_exit 2 "keygen: bad name" $T keygen 'has space' --out "$WORK/x"
expect_exit 2 "keygen: refuses to overwrite a key" $T keygen bad.example/log --out "$WORK/k"
unchanged "all of the above"
expect_ok "the log still audits" $T audit "$d" --vkey "$VK"
finish
