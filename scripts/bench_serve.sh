#!/bin/bash
# The HTTP benchmarks of DESIGN §8 and issue 3, against a real `treatylog serve` on loopback:
#   (a) POST /add?wait=0, 256-byte entries, durable ack: the highest sustained rate, by steps
#       (treatylog load, open loop); goal >= 40,000/s on 2 cores; then (a') the throughput
#       ceiling, closed loop from wrk (bench/serve_post.lua), a lighter generator
#   (b) submit -> included in a published checkpoint, at 5,000/s (load --wait 1); goal
#       p50 <= 50 ms, p99 <= 200 ms
#   (c) inclusion proofs over HTTP, uniformly random indexes of a 10M-entry log (wrk + Lua,
#       closed loop): goal >= 20,000/s
#   (d) GETs of uniformly random full level-0 hash tiles of the same log: goal >= 50,000/s
#   (e) the 10M-entry log: start-up (exec to the first 200 on /checkpoint, goal <= 100 ms) and
#       the server's peak RSS (VmHWM) after (c) and (d) (goal <= 64 MiB)
#   (f) the floor: the same two wrk loads as (a') and (d) against bench_http_floor, which is
#       libmicrohttpd configured as `serve` configures it with no log behind it (a durable
#       group commit of the raw bodies for POSTs; an 8 KiB answer from memory for GETs); each
#       goal is then also read against what the HTTP library and loopback allow here
# The load generators share the 2 cores with the server: every step prints the CPU seconds of
# the server, of the generator and of the whole machine (/proc), so the generator's share is
# known. Loopback only; every step is bounded in time.
#
# Environment: BENCH_TMP (default /work/bench-tmp, a real disk), TREATYLOG (the binary to
# measure; default: build Release into build-bench/ and use it), BENCH_PROOF_DIR (the 10M-entry
# log, default $BENCH_TMP/proofs: built by bench_proofs if missing, about 20 s, and indexed by
# the first `serve` on it, about 7 minutes, once), BENCH_SECONDS (per step, default 5),
# BENCH_RATES (the steps of (a), default "5000 7500 ... 40000"; it stops at the first step not
# sustained: every request sent on time, answered 200, p99 <= 100 ms), BENCH_REPEAT (runs
# of (c) and (d), default 2: the first is from a cold reader).
# Needs wrk (Debian: apt-get install wrk) and python3.
#
# Results are `bench <name> key=value ...` lines, as scripts/bench.sh; docs/benchmarks.md §5.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
T=${BENCH_TMP:-/work/bench-tmp}
SECS=${BENCH_SECONDS:-5}
RATES=${BENCH_RATES:-"5000 7500 10000 12500 15000 20000 30000 40000"}
REPEAT=${BENCH_REPEAT:-2}
PD=${BENCH_PROOF_DIR:-$T/proofs}
command -v wrk >/dev/null || { echo "bench_serve: needs wrk (apt-get install wrk)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench_serve: needs python3" >&2; exit 2; }
mkdir -p "$T"
R=$T/serve-$(date -u +%Y%m%dT%H%M%S)
mkdir "$R"
OUT=$R/output.txt
exec > >(tee "$OUT") 2>&1

B=build-bench
if [ -z "${TREATYLOG:-}" ]; then
  cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$B" -j"$(nproc)" --target treatylog bench_proofs bench_http_floor |
    grep -E 'error|warning' || true
  TREATYLOG=$ROOT/$B/treatylog
fi
TL=$TREATYLOG

echo "=== machine"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src include 2>/dev/null || echo ' + uncommitted changes in src/ or include/ (or not a git checkout)')"
echo "binary:  $TL"
echo "nproc:   $(nproc); $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
echo "kernel:  $(uname -r); $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"

. "$ROOT/scripts/bench_lib.sh"
start_server() { # DIR: starts serve, sets SPID, URL and STARTUP_MS
  local port; port=$(free_port)
  timeout 1200 python3 bench/startup.py "$R/serve.pid" "$TL" serve --dir "$1" \
    --listen "127.0.0.1:$port" "${@:2}" > "$R/startup.out"
  SPID=$(cat "$R/serve.pid")
  URL=http://127.0.0.1:$port
  STARTUP_MS=$(sed -n 's/^startup ms=\([0-9.]*\).*/\1/p' "$R/startup.out")
}

# One measured step: NAME, then the generator command. Prints a bench line with the server's,
# the generator's and the machine's CPU seconds over the step.
step() {
  local name=$1; shift
  local s0 m0 t0 s1 m1 g
  s0=$(pid_ticks "$SPID"); read -r m0 t0 < <(sys_ticks)
  gen_cpu timeout 600 "$@" > "$R/$name.out" 3> "$R/$name.cpu" || true
  s1=$(pid_ticks "$SPID"); read -r m1 t1 < <(sys_ticks)
  g=$(cat "$R/$name.cpu")
  echo "cpu $name server_cpu_s=$(awk -v a="$s0" -v b="$s1" -v h="$HZ" 'BEGIN { printf "%.2f", (b - a) / h }')" \
       "generator_cpu_s=$(awk -v g="$g" -v h="$HZ" 'BEGIN { printf "%.2f", g / h }')" \
       "machine_busy_cpu_s=$(awk -v a="$m0" -v b="$m1" -v h="$HZ" 'BEGIN { printf "%.2f", (b - a) / h }')" \
       "machine_total_cpu_s=$(awk -v a="$t0" -v b="$t1" -v h="$HZ" 'BEGIN { printf "%.2f", (b - a) / h }')" \
    | tee "$R/$name.cpuline"
}

# ---- (a) and (b): a fresh, small log ----
"$TL" keygen bench.serve.example/log --out "$R/k" >/dev/null
"$TL" init "$R/log" --key "$R/k.key" >/dev/null 2>&1
echo "=== (a) POST /add?wait=0, 256 B, durable ack: steps of $SECS s"
start_server "$R/log"
echo "serve up in $STARTUP_MS ms at $URL"
best=0
for rate in $RATES; do
  # Enough connections for 40 ms of latency at this rate (the journal fsync is a few ms).
  conns=$(( rate / 25 < 64 ? 64 : (rate / 25 > 1024 ? 1024 : rate / 25) ))
  step "add_$rate" "$TL" load "$URL" --rate "$rate" --duration "$SECS" --size 256 --wait 0 \
    --connections "$conns" --json
  f=$R/add_$rate.out
  sched=$(jnum "$f" scheduled); ok200=$(jnum "$f" 200); late=$(jnum "$f" late)
  unsent=$(jnum "$f" unsent); p99=$(jnum "$f" p99)
  sustained=no
  if [ -n "$sched" ] && [ "$ok200" = "$sched" ] && [ "$unsent" = 0 ] &&
     awk -v l="$late" -v s="$sched" -v p="$p99" 'BEGIN { exit !(l <= s / 100 && p <= 100) }'; then
    sustained=yes; best=$rate
  fi
  echo "bench serve_add_wait0 rate=$rate connections=$conns scheduled=$sched ok=$ok200 late=$late" \
       "unsent=$unsent throughput=$(jnum "$f" throughput) p50_ms=$(jnum "$f" p50) p99_ms=$p99" \
       "max_ms=$(jnum "$f" max) sustained=$sustained $(cut -d' ' -f3- "$R/add_$rate.cpuline")"
  [ $sustained = yes ] || break
done
echo "bench serve_add_wait0_max sustained_per_s=$best goal_per_s=40000"
# (a') the same requests closed loop from wrk (one thread, 64 connections, distinct bodies):
# the server's throughput ceiling with a generator much lighter than `load` (libcurl).
step "add_wrk" env SIZE=256 wrk -t1 -c64 -d"${SECS}s" -s bench/serve_post.lua "$URL"
echo "bench serve_add_wait0_wrk $(grep '^wrkresult' "$R/add_wrk.out" | cut -d' ' -f2-)" \
     "goal_per_s=40000 $(cut -d' ' -f3- "$R/add_wrk.cpuline")"

echo "=== (b) submit -> included, 5000/s, --wait 1, $((SECS * 2)) s"
step "wait1" "$TL" load "$URL" --rate 5000 --duration $((SECS * 2)) --size 256 --wait 1 \
  --connections 512 --verify "$R/k.pub" --json
f=$R/wait1.out
echo "bench serve_add_wait1 rate=5000 connections=512 scheduled=$(jnum "$f" scheduled)" \
     "ok=$(jnum "$f" 200) late=$(jnum "$f" late) unsent=$(jnum "$f" unsent)" \
     "p50_ms=$(jnum "$f" p50) p90_ms=$(jnum "$f" p90) p99_ms=$(jnum "$f" p99)" \
     "max_ms=$(jnum "$f" max) verified=$(grep -o '"checked":[0-9]*,"failed":[0-9]*' "$f")" \
     "goal_p50_ms=50 goal_p99_ms=200 $(cut -d' ' -f3- "$R/wait1.cpuline")"
stop_server

# ---- (c), (d), (e): the 10M-entry log ----
if [ ! -f "$PD/checkpoint" ]; then
  echo "building the 10M-entry log in $PD (bench_proofs, once)"
  "$(dirname "$TL")/bench_proofs" --dir "$PD" -n 10000000 --seconds 1 >/dev/null
fi
size=$(sed -n 2p "$PD/checkpoint")
echo "=== (e) start-up on the $size-entry log (3 starts; the first ever start indexes the log)"
for i in 1 2 3; do
  start_server "$PD"
  echo "bench serve_startup size=$size ms=$STARTUP_MS goal_ms=100 rss_kib_at_start=$(awk '/VmRSS/ { print $2 }' /proc/$SPID/status)"
  [ $i = 3 ] || stop_server
done
echo "=== (c) inclusion proofs, (d) level-0 tiles: wrk -t2 -c64, $((SECS * 2)) s each, $REPEAT runs"
for i in $(seq "$REPEAT"); do
  step "proof_$i" env SIZE="$size" KIND=proof wrk -t2 -c64 -d$((SECS * 2))s \
    -s bench/serve_get.lua "$URL"
  echo "bench serve_proofs run=$i $(grep '^wrkresult' "$R/proof_$i.out" | cut -d' ' -f2-)" \
       "goal_per_s=20000 $(cut -d' ' -f3- "$R/proof_$i.cpuline")"
done
for i in $(seq "$REPEAT"); do
  step "tile_$i" env SIZE="$size" KIND=tile wrk -t2 -c64 -d$((SECS * 2))s \
    -s bench/serve_get.lua "$URL"
  echo "bench serve_tiles run=$i $(grep '^wrkresult' "$R/tile_$i.out" | cut -d' ' -f2-)" \
       "goal_per_s=50000 $(cut -d' ' -f3- "$R/tile_$i.cpuline")"
done
echo "bench serve_memory size=$size vmhwm_kib=$(awk '/VmHWM/ { print $2 }' /proc/$SPID/status)" \
     "vmrss_kib=$(awk '/VmRSS/ { print $2 }' /proc/$SPID/status) goal_kib=65536"
stop_server

# ---- (f) the floor: the HTTP library and loopback alone, same generators, same cores ----
FLOOR=$(dirname "$TL")/bench_http_floor
floor_step() { # NAME MODE ANSWER_BYTES, then the generator command with @URL@ for the URL
  local name=$1 mode=$2 bytes=$3 port a; shift 3
  port=$(free_port)
  "$FLOOR" --mode "$mode" --answer-bytes "$bytes" --port "$port" --dir "$R" --seconds 900 \
    > "$R/$name.floor" 2>&1 &
  SPID=$!
  for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
  local cmd=()
  for a in "$@"; do cmd+=("${a//@URL@/http://127.0.0.1:$port}"); done
  step "$name" "${cmd[@]}"
  stop_server
}
rate_of() { grep -o ' rate=[0-9]*' "$1" | head -1 | cut -d= -f2; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }'; }
if [ -x "$FLOOR" ]; then
  echo "=== (f) the floor: bench_http_floor, libmicrohttpd as serve sets it up, no log behind it"
  floor_step floor_add fsync 300 env SIZE=256 wrk -t1 -c64 -d"${SECS}s" \
    -s bench/serve_post.lua @URL@
  echo "bench serve_floor_add $(grep '^wrkresult' "$R/floor_add.out" | cut -d' ' -f2-)" \
       "serve_over_floor=$(ratio "$(rate_of "$R/add_wrk.out")" "$(rate_of "$R/floor_add.out")")" \
       "goal_per_s=40000 $(cut -d' ' -f3- "$R/floor_add.cpuline")"
  floor_step floor_tile direct 8192 env SIZE="$size" KIND=tile wrk -t2 -c64 -d$((SECS * 2))s \
    -s bench/serve_get.lua @URL@
  echo "bench serve_floor_tiles $(grep '^wrkresult' "$R/floor_tile.out" | cut -d' ' -f2-)" \
       "serve_over_floor=$(ratio "$(rate_of "$R/tile_$REPEAT.out")" "$(rate_of "$R/floor_tile.out")")" \
       "goal_per_s=50000 $(cut -d' ' -f3- "$R/floor_tile.cpuline")"
else
  echo "bench_serve: $FLOOR not built: no floor measured" >&2
fi
echo "output in $OUT"
