#!/bin/bash
# bench_http_floor, the floor of scripts/bench_serve.sh and bench_treaty.sh (docs/benchmarks.md
# §5): refuses bad options (exit 2); in each mode it answers a POST and a GET with 200 and the
# configured answer size; in fsync mode the bodies reach its journal file; on SIGTERM it exits 0,
# removes the file and prints a result line that counts the requests.
. "$(dirname "$0")/lib.bash"
F=$(dirname "$T")/bench_http_floor
[ -x "$F" ] || { bad "no bench_http_floor next to $T"; finish; exit 1; }

expect_exit 2 "floor: unknown mode" "$F" --mode nosuch
stderr_has "direct, suspend or fsync" "...names the modes"
expect_exit 2 "floor: --answer-bytes 0" "$F" --answer-bytes 0
expect_exit 2 "floor: option without a value" "$F" --port
expect_exit 2 "floor: unknown option" "$F" --nosuch 1

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
body=$WORK/body256
head -c 256 /dev/zero | tr '\0' 'b' > "$body"
for mode in direct suspend fsync; do
  port=$(free_port)
  "$F" --mode "$mode" --port "$port" --dir "$WORK" --answer-bytes 777 --seconds 60 \
    > "$WORK/floor.out" 2> "$WORK/floor.err" &
  fpid=$!
  up=
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && { up=1; break; }
    sleep 0.05
  done
  [ -n "$up" ] && ok "$mode: listening" || { bad "$mode: did not come up"; cat "$WORK/floor.err"; }
  s=$(http_status POST "http://127.0.0.1:$port/add?wait=0" --data-binary "@$body")
  n=$(stat -c %s "$WORK/body")
  [ "$s" = 200 ] && [ "$n" = 777 ] && ok "$mode: POST answered 200 with 777 bytes" ||
    bad "$mode: POST got $s with $n bytes"
  if [ "$mode" = fsync ]; then
    grep -q bbbbbbbb "$WORK/floor.journal" && ok "fsync: the body is in the journal file" ||
      bad "fsync: body not in $WORK/floor.journal"
  fi
  s=$(http_status GET "http://127.0.0.1:$port/tile/0/000")
  [ "$s" = 200 ] && ok "$mode: GET answered 200" || bad "$mode: GET got $s"
  kill -TERM "$fpid"
  wait "$fpid"
  rc=$?
  [ $rc = 0 ] && ok "$mode: exits 0 on SIGTERM" || bad "$mode: exit $rc"
  # the probe GET(s), the POST and the GET: at least 3 requests, each counted
  r=$(sed -n 's/.* requests=\([0-9]*\) .*/\1/p' "$WORK/floor.out")
  grep -q "^bench http_floor mode=$mode " "$WORK/floor.out" && [ "${r:-0}" -ge 3 ] &&
    ok "$mode: result line counts $r requests" || bad "$mode: result line: $(cat "$WORK/floor.out")"
  [ ! -e "$WORK/floor.journal" ] && ok "$mode: no journal file left" || bad "$mode: journal file left"
done
finish
