#!/bin/bash
# A full disk (a small tmpfs): the server answers 503, acknowledges nothing that is not
# durable, loses nothing it acknowledged, says so in /healthz, and resumes by itself when
# space returns. Needs root (mount); the test command runs as root.
. "$(dirname "$0")/lib.bash"
mnt=$WORK/mnt
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=3m tmpfs "$mnt"; then bad "cannot mount a tmpfs (run as root)"; finish; exit 1; fi
trap 'kill -9 $SPID 2>/dev/null; umount "$mnt" 2>/dev/null; rm -rf "$WORK"' EXIT

$T keygen full.example/log --out "$WORK/k" >/dev/null
VK=$WORK/k.pub
d=$mnt/log
$T init "$d" --key "$WORK/k.key" >/dev/null 2>&1
start_server "$d" --batch-ms 10 --wait-timeout-ms 2000 || { finish; exit 1; }

: > "$WORK/acks"
n503=0
for i in $(seq 1 200); do
  f=$WORK/e$i
  { printf 'entry %d ' "$i"; head -c 60000 /dev/zero | tr '\0' 'x'; } > "$f"
  code=$(http_status POST "$U/add?wait=$((i % 2))" --max-time 10 --data-binary @"$f")
  cp "$WORK/body" "$f.resp"
  case $code in
    200) echo "$i $((i % 2))" >> "$WORK/acks" ;;
    503) n503=$((n503+1)); [ $n503 -ge 5 ] && break ;;
    *) bad "entry $i: unexpected status $code: $(head -c 200 "$WORK/body")" ;;
  esac
done
[ $n503 -ge 5 ] && ok "disk full: 503s ($(wc -l < "$WORK/acks") accepted before)" || bad "the disk never filled ($n503 503s)"
grep -q "No space left on device" "$WORK/body" && ok "the 503 says why" || bad "503 body: $(cat "$WORK/body")"
code=$(http_status GET "$U/healthz"); [ "$code" = 503 ] && ok "healthz: 503 while full ($(cat "$WORK/body"))" || bad "healthz while full: $code"
code=$(http_status GET "$U/checkpoint"); [ "$code" = 200 ] && ok "reads still served while full" || bad "checkpoint while full: $code"

mount -o remount,size=64m "$mnt"
resumed=0
for i in $(seq 1 50); do
  printf 'after space returned %d' "$i" > "$WORK/after"
  code=$(http_status POST "$U/add" --max-time 10 --data-binary @"$WORK/after")
  [ "$code" = 200 ] && { resumed=1; break; }
  sleep 0.2
done
[ $resumed = 1 ] && ok "service resumed when space returned" || bad "no recovery after space returned: $code $(cat "$WORK/body")"
code=$(http_status GET "$U/healthz"); [ "$code" = 200 ] && ok "healthz: 200 again" || bad "healthz after: $code $(cat "$WORK/body")"
lost=0
while read -r i wt; do
  f=$WORK/e$i
  if [ "$wt" = 1 ]; then
    $V proof "$VK" "$f.resp" "$f" >/dev/null 2>&1 || { lost=$((lost+1)); echo "bad proof for $i"; }
    idx=$(sed -n 's/^index //p' "$f.resp")
    http_status GET "$U/v1/proof/inclusion?index=$idx" >/dev/null
    $V proof "$VK" "$WORK/body" "$f" >/dev/null 2>&1 || { lost=$((lost+1)); echo "entry $i not at $idx"; }
  else
    leaf=$(sed -n 's/^leaf //p' "$f.resp")
    code=$(http_status GET "$U/v1/proof" --get --data-urlencode "hash=$leaf")
    [ "$code" = 200 ] && $V proof "$VK" "$WORK/body" "$f" >/dev/null 2>&1 || { lost=$((lost+1)); echo "receipted $i missing ($code)"; }
  fi
done < "$WORK/acks"
[ $lost -eq 0 ] && ok "every acknowledged entry is in the log ($(wc -l < "$WORK/acks"))" || bad "$lost acknowledged entries lost"
stop_server
expect_ok "the log audits after the full disk" $T audit "$d" --vkey "$VK"
finish
