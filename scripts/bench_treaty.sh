#!/bin/bash
# The treaty-mode benchmark of DESIGN §8 and issue 5: signed submissions over HTTP with a
# durable acknowledgement (POST /add?wait=0), against a real `treatylog serve` of a treaty log
# on loopback, on the machine's 2 cores; goal: at least 75 % of the Ed25519 verify rate of the
# same cores, measured in the same run (bench_ed25519, libsodium crypto_sign_verify_detached on
# a message the size of the notification text, on 2 threads).
#
#   1. a treaty log with BENCH_PARTIES parties (keys XA, XB, ...), `treatylog serve` on it;
#   2. the anchor: bench_ed25519 --threads 2 (before the steps);
#   3. steps of BENCH_SECONDS s: `treatylog load URL --sign KEY... --rate R --wait 0`, every
#      notification distinct (fresh serials per step) and signed before the step; up the rates
#      of BENCH_RATES until a step is not sustained (every request sent on time within 1 %, all
#      answered 200, p99 <= 100 ms); every step prints the CPU seconds of the server, of the
#      generator and of the machine (the generator shares the 2 cores with the server);
#      then one step at twice the first rate not sustained (the saturation step);
#   4. the anchor again (after the steps), then the summary: the highest sustained rate, the
#      throughput ceiling, both as a ratio of the 2-thread verify rate (mean of the two
#      measurements), and the CPU-bound ratio: the server's CPU per submission against the
#      CPU per verify (what the server would do with the 2 cores to itself);
#   5. the floor: the saturation step again against bench_http_floor (libmicrohttpd set up as
#      `serve` sets it up, every body appended to a file and fdatasynced per group, nothing
#      parsed or verified), and closed loop from wrk (if installed), for the lower of the two
#      server CPU costs per request of the HTTP library, loopback and a
#      durable acknowledgement alone; ratio_cpu_bound_ceiling = µs per verify / (µs per verify
#      + that floor) is then the CPU-bound ratio of a server that did nothing but verify each
#      submission once and acknowledge it durably over this HTTP stack on these cores;
#   6. with BENCH_PERF=1 (and perf installed), one more step at the highest sustained rate (or
#      the first rate) under `perf record -g` of the server; the top of the profile is printed
#      and perf.data kept in the run directory.
# Loopback only; every step is bounded in time (a few minutes in all).
#
# Environment: BENCH_TMP (default /work/bench-tmp: a real disk, the acknowledgement is an
# fsync), TREATYLOG (the binary; default: build Release into build-bench/ and use it, with
# bench_ed25519), BENCH_SECONDS (10), BENCH_RATES (default "1000 1500 2000 2500 3000 4000 5000
# 6000 8000 10000 15000 20000"), BENCH_PARTIES (4), BENCH_TYPE (vd11.ch11.statement),
# BENCH_PERF (0).
# Needs python3 (bench/startup.py) and curl.
#
# A step is marked contended=yes when the server and the generator together used less than
# 80 % of the machine's busy CPU (other work took the rest): its rates say more about the
# neighbours than about the server; the CPU-bound ratio (CPU per submission) still holds.
#
# Results are `bench <name> key=value ...` lines, as scripts/bench.sh; docs/benchmarks.md §7.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
T=${BENCH_TMP:-/work/bench-tmp}
SECS=${BENCH_SECONDS:-10}
RATES=${BENCH_RATES:-"1000 1500 2000 2500 3000 4000 5000 6000 8000 10000 15000 20000"}
NP=${BENCH_PARTIES:-4}
TYPE=${BENCH_TYPE:-vd11.ch11.statement}
command -v python3 >/dev/null || { echo "bench_treaty: needs python3" >&2; exit 2; }
command -v curl >/dev/null || { echo "bench_treaty: needs curl" >&2; exit 2; }
[ "$NP" -ge 1 ] && [ "$NP" -le 16 ] || { echo "bench_treaty: BENCH_PARTIES must be 1..16" >&2; exit 2; }
mkdir -p "$T"
R=$T/treaty-$(date -u +%Y%m%dT%H%M%S)
mkdir "$R"
OUT=$R/output.txt
exec > >(tee "$OUT") 2>&1

B=build-bench
if [ -z "${TREATYLOG:-}" ]; then
  cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$B" -j"$(nproc)" --target treatylog bench_ed25519 bench_http_floor |
    grep -E 'error|warning' || true
  TREATYLOG=$ROOT/$B/treatylog
fi
TL=$TREATYLOG
ED=${BENCH_ED25519:-$(dirname "$TL")/bench_ed25519}
[ -x "$TL" ] || { echo "bench_treaty: no treatylog at $TL" >&2; exit 2; }
[ -x "$ED" ] || { echo "bench_treaty: no bench_ed25519 at $ED (set BENCH_ED25519)" >&2; exit 2; }

echo "=== machine"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src include 2>/dev/null || echo ' + uncommitted changes in src/ or include/ (or not a git checkout)')"
echo "binary:  $TL"
echo "nproc:   $(nproc); $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
     "(family $(grep -m1 '^cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')," \
     "model $(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | cut -d: -f2 | tr -d ' '))"
echo "kernel:  $(uname -r); libsodium $(pkg-config --modversion libsodium 2>/dev/null || echo '?')"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"

. "$ROOT/scripts/bench_lib.sh"

# ---- the treaty log ----
cd "$R"
"$TL" keygen treaty.bench.example/log --out op >/dev/null
codes=()
keyargs=()
for i in $(seq 0 $((NP - 1))); do
  c=X$(printf "\\x$(printf %x $((65 + i)))")
  codes+=("$c")
  "$TL" keygen "$c" --out "$c" >/dev/null
  keyargs+=(--sign "$R/$c.key")
done
{
  echo '{"action": "genesis", "parties": ['
  sep=
  for c in "${codes[@]}"; do
    printf '%s{"code": "%s", "name": "Party %s", "keys": ["%s"], "roles": []}\n' "$sep" "$c" "$c" "$(cat "$c.pub")"
    sep=,
  done
  echo '],'
  echo "\"witness_policy\": \"log $(cat op.pub)\\nquorum none\\n\","
  echo "\"rulesets\": [{\"name\": \"vd11.rules\", \"sha256\": \"$(sha256sum "$ROOT/rules/vd11.rules" | cut -d' ' -f1)\"}]}"
} > registry.json
"$TL" init log --key op.key --registry registry.json >/dev/null 2>&1 ||
  { echo "bench_treaty: treatylog init --registry failed" >&2; "$TL" init log2 --key op.key --registry registry.json; exit 1; }
port=$(free_port)
timeout 120 python3 "$ROOT/bench/startup.py" "$R/serve.pid" "$TL" serve --dir "$R/log" \
  --listen "127.0.0.1:$port" > "$R/startup.out"
SPID=$(cat "$R/serve.pid")
URL=http://127.0.0.1:$port
echo "serve:   treaty log with $NP parties (${codes[*]}) at $URL, up in $(sed -n 's/^startup ms=\([0-9.]*\).*/\1/p' "$R/startup.out") ms"

# The size of the signed text (what the server verifies), for the anchor.
"$TL" notify template "$TYPE" | sed "s/\"from\": \"[A-Z]*\"/\"from\": \"${codes[0]}\"/" > tmpl.json
"$TL" submit tmpl.json --key "$R/${codes[0]}.key" --sign-only > tmpl.note 2>/dev/null || true
tsize=$(LC_ALL=C awk 'BEGIN { n = 0 } /^$/ { exit } { n += length($0) + 1 } END { print n }' tmpl.note)
[ "${tsize:-0}" -gt 0 ] || tsize=300

anchor() { # NAME: bench_ed25519 on 1 and 2 threads; sets V2 (2-thread verifies/s), VUS (us per verify)
  "$ED" --ms 2000 --threads 2 --size "$tsize" | sed "s/^bench ed25519_verify /bench ed25519_verify_$1 /" | tee "$R/ed_$1.out"
  V2=$(awk '$2 ~ /^ed25519_verify/ && $3 == "threads=2" { for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "verifies_per_s") print kv[2] } }' "$R/ed_$1.out")
  VUS=$(awk '$2 ~ /^ed25519_verify/ && $3 == "threads=2" { for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "us_per_verify") print kv[2] } }' "$R/ed_$1.out")
}

echo "=== Ed25519 anchor (libsodium, $tsize-byte message), before"
anchor before
V2A=$V2; VUSA=$VUS

echo "=== treaty-mode POST /add?wait=0, signed $TYPE, $NP parties, steps of $SECS s"
serial=1
best=0; best_line=; ceiling=0; cpu_us_best=
step() { # RATE NAME [perf]: one load step; sets SUST, THR, SCPU_US (server CPU us per 200)
  local rate=$1 name=$2 perf=${3:-}
  local conns=$(( rate / 25 < 64 ? 64 : (rate / 25 > 1024 ? 1024 : rate / 25) ))
  local per=$(( (rate * SECS + NP - 1) / NP ))
  local f=$R/$name.out
  # sign first (untimed), then measure: load prints its signing time on stderr before the run
  local s0 m0 t0 s1 m1 t1 g pp=
  if [ -n "$perf" ]; then
    perf record --call-graph dwarf,16384 -F 249 -p "$SPID" -o "$R/perf.data" -- sleep $((SECS + 8)) > "$R/perf.log" 2>&1 &
    pp=$!
  fi
  thr_ticks > "$R/$name.thr0"
  s0=$(pid_ticks "$SPID"); read -r m0 t0 < <(sys_ticks)
  gen_cpu timeout 600 "$TL" load "$URL" "${keyargs[@]}" --type "$TYPE" --first-serial "$serial" \
    --rate "$rate" --duration "$SECS" --wait 0 --connections "$conns" --json \
    > "$f" 2> "$R/$name.err" 3> "$R/$name.cpu" || true
  s1=$(pid_ticks "$SPID"); read -r m1 t1 < <(sys_ticks)
  thr_ticks > "$R/$name.thr1"
  [ -z "$pp" ] || wait "$pp" || true
  serial=$(( serial + per ))
  g=$(cat "$R/$name.cpu")
  local sched ok200 late unsent p50 p99 sign_s
  sched=$(jnum "$f" scheduled); ok200=$(jnum "$f" 200); late=$(jnum "$f" late)
  unsent=$(jnum "$f" unsent); p50=$(jnum "$f" p50); p99=$(jnum "$f" p99)
  THR=$(jnum "$f" throughput)
  sign_s=$(sed -n 's/.*, cpu \([0-9.]*\) s$/\1/p' "$R/$name.err" | head -1)
  SUST=no
  if [ -n "$sched" ] && [ "$ok200" = "$sched" ] && [ "$unsent" = 0 ] &&
     awk -v l="$late" -v s="$sched" -v p="$p99" 'BEGIN { exit !(l <= s / 100 && p <= 100) }'; then
    SUST=yes
  fi
  # The generator's CPU includes signing before the run: subtract it (the signing thread is
  # busy the whole time it takes).
  local gen_s scpu_s busy_s total_s
  gen_s=$(awk -v g="$g" -v h="$HZ" -v s="${sign_s:-0}" 'BEGIN { v = g / h - s; printf "%.2f", v < 0 ? 0 : v }')
  scpu_s=$(awk -v a="$s0" -v b="$s1" -v h="$HZ" 'BEGIN { printf "%.2f", (b - a) / h }')
  busy_s=$(awk -v a="$m0" -v b="$m1" -v h="$HZ" 'BEGIN { printf "%.2f", (b - a) / h }')
  total_s=$(awk -v a="$t0" -v b="$t1" -v h="$HZ" 'BEGIN { printf "%.2f", (b - a) / h }')
  # Contended: the server and the generator had less than 80 % of the machine's busy CPU
  # (other work on the machine took the rest; the step then says little about the server).
  CONT=$(awk -v s="$scpu_s" -v g="$gen_s" -v b="$busy_s" 'BEGIN { print (b > 0 && (s + g) / b < 0.8) ? "yes" : "no" }')
  SCPU_US=$(awk -v c="$scpu_s" -v n="${ok200:-0}" 'BEGIN { if (n > 0) printf "%.1f", c / n * 1e6; else print "nan" }')
  echo "bench ${STEP_BENCH:-treaty_add_wait0} rate=$rate connections=$conns scheduled=$sched ok=${ok200:-0}" \
       "late=$late unsent=$unsent throughput=$THR p50_ms=$p50 p99_ms=$p99 max_ms=$(jnum "$f" max)" \
       "sustained=$SUST non200=$(( $(jnum "$f" 429) + $(jnum "$f" 503) + $(jnum "$f" other) ))" \
       "bytes_mean=$(jnum "$f" bytes_mean) sign_s=${sign_s:-?} server_cpu_s=$scpu_s" \
       "server_cpu_us_per_ok=$SCPU_US generator_cpu_s=$gen_s machine_busy_cpu_s=$busy_s" \
       "machine_total_cpu_s=$total_s contended=$CONT load=$(cut -d' ' -f1 /proc/loadavg)"
  # the server's busiest threads over the step (a thread near 1 CPU-second per second of the
  # step is a serial bottleneck whatever the cores)
  echo "  server threads (CPU s): $(awk -v h="$HZ" 'NR == FNR { a[$1] = $3; next }
      { d = $3 - a[$1]; if (d > 0) printf "%s/%s=%.2f\n", $2, $1, d / h }' "$R/$name.thr0" "$R/$name.thr1" |
      sort -t= -k2 -rn | head -6 | tr '\n' ' ')"
  if grep -q '"first_refusal":{' "$f"; then
    echo "  first non-200: $(grep -o '"first_refusal":{[^}]*}' "$f")"
  fi
  if grep -q '"other_codes":{"' "$f"; then
    echo "  other statuses: $(grep -o '"other_codes":{[^}]*}' "$f")"
  fi
}
last=0
for rate in $RATES; do
  last=$rate
  step "$rate" "add_$rate"
  if awk -v t="$THR" -v c="$ceiling" 'BEGIN { exit !(t > c) }'; then ceiling=$THR; fi
  if [ $SUST = yes ]; then best=$rate; cpu_us_best=$SCPU_US; else break; fi
done
# Saturation: twice the first rate not sustained, for the throughput ceiling and the server's
# CPU per submission when it never waits for work.
sat=$(( last * 2 ))
echo "--- saturation step, $sat/s"
step "$sat" "sat_$sat"
if awk -v t="$THR" -v c="$ceiling" 'BEGIN { exit !(t > c) }'; then ceiling=$THR; fi
cpu_us_sat=$SCPU_US

echo "=== Ed25519 anchor, after"
anchor after
V2B=$V2; VUSB=$VUS
v2=$(awk -v a="$V2A" -v b="$V2B" 'BEGIN { printf "%.0f", (a + b) / 2 }')
vus=$(awk -v a="$VUSA" -v b="$VUSB" 'BEGIN { printf "%.2f", (a + b) / 2 }')

echo "=== summary"
echo "bench treaty_add_wait0_max sustained_per_s=$best ceiling_per_s=$ceiling verify2_per_s=$v2" \
     "ratio_sustained=$(awk -v a="$best" -v v="$v2" 'BEGIN { printf "%.3f", a / v }')" \
     "ratio_ceiling=$(awk -v a="$ceiling" -v v="$v2" 'BEGIN { printf "%.3f", a / v }')" \
     "server_cpu_us_per_ok=${cpu_us_best:-nan} cpu_us_per_verify=$vus" \
     "ratio_cpu_bound=$(awk -v s="${cpu_us_best:-0}" -v v="$vus" 'BEGIN { if (s > 0) printf "%.3f", v / s; else print "nan" }')" \
     "server_cpu_us_per_ok_saturated=$cpu_us_sat" \
     "ratio_cpu_bound_saturated=$(awk -v s="$cpu_us_sat" -v v="$vus" 'BEGIN { if (s > 0) printf "%.3f", v / s; else print "nan" }')" \
     "goal_ratio=0.75"
echo "treaty:  highest sustained step $best/s (throughput ceiling $ceiling/s) with the generator on the same cores;"
echo "         Ed25519 verify on 2 threads $V2A/s before, $V2B/s after (mean $v2/s, $vus us per verify)"
echo "         ratio sustained / verify = $(awk -v a="$best" -v v="$v2" 'BEGIN { printf "%.2f", a / v }') (goal >= 0.75);" \
     "CPU-bound: the server spends ${cpu_us_best:-?} us of CPU per submission =" \
     "$(awk -v s="${cpu_us_best:-0}" -v v="$vus" 'BEGIN { if (s > 0) printf "%.2f", v / s; else print "?" }') x the verify cost" \
     "($cpu_us_sat us = $(awk -v s="$cpu_us_sat" -v v="$vus" 'BEGIN { if (s > 0) printf "%.2f", v / s; else print "?" }') x at saturation)"

if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
  prate=$best; [ "$prate" -gt 0 ] || prate=$(echo "$RATES" | awk '{ print $1 }')
  echo "=== perf record -g of the server, one more step at $prate/s"
  step "$prate" "perf_$prate" perf
  echo "--- server CPU by library (self)"
  perf report -i "$R/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12 || true
  echo "--- server CPU under the functions of the submission path (children, i.e. inclusive)"
  perf report -i "$R/perf.data" --children --sort sym --stdio -g none 2>/dev/null > "$R/perf.children.txt" || true
  grep -E '\] (tl_treaty_submit|check_notification|tl_note_verify|crypto_sign_verify_detached|tl_note_parse|tl_notification_parse|tl_schema_validate_notification|serial_lookup|tl_qindex_serial_used|tl_seq_submit_keyed|integrated|tl_qindex_put|tl_qindex_put_known[.a-z0-9]*|signers_of|decode|tl_hashindex_put_keyed|tl_hashindex_get|tl_note_sign|journal_main|integrate_main|tl_journal_append|fdatasync|fsync|tl_log_publish|tl_log_add|MHD_run_from_select|tl_live_findings_[a-z_]*|tl_rules_[a-z_]*|sqlite3_step|sqlite3_exec|__libc_start_call_main|start_thread)$' "$R/perf.children.txt" | head -40 || true
  echo "--- top symbols (self)"
  perf report -i "$R/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -30 || true
fi
stop_server

FLOOR=${BENCH_FLOOR:-$(dirname "$TL")/bench_http_floor}
if [ -x "$FLOOR" ]; then
  echo "=== the floor: bench_http_floor --mode fsync (no parsing, no verify, no log), $sat/s"
  port=$(free_port)
  "$FLOOR" --mode fsync --port "$port" --dir "$R" --seconds 900 > "$R/floor.out" 2>&1 &
  SPID=$!
  URL=http://127.0.0.1:$port
  for _ in $(seq 200); do curl -s -o /dev/null "$URL/" && break; sleep 0.05; done
  STEP_BENCH=treaty_floor_add step "$sat" "floor_$sat"
  floor_us=$SCPU_US
  if command -v wrk >/dev/null; then
    # and closed loop from wrk, far lighter than load, 256 connections: the floor at saturation,
    # where a group commit carries the most requests (the lowest cost per request)
    s0=$(pid_ticks "$SPID")
    SIZE=409 wrk -t1 -c256 -d"${SECS}s" -s "$ROOT/bench/serve_post.lua" "$URL" > "$R/floor_wrk.out" 2>&1 || true
    s1=$(pid_ticks "$SPID")
    n=$(sed -n 's/^wrkresult.* requests=\([0-9]*\).*/\1/p' "$R/floor_wrk.out")
    fw=$(awk -v a="$s0" -v b="$s1" -v h="$HZ" -v n="${n:-0}" 'BEGIN { if (n > 0) printf "%.1f", (b - a) / h / n * 1e6; else print "nan" }')
    echo "bench treaty_floor_wrk $(grep '^wrkresult' "$R/floor_wrk.out" | cut -d' ' -f2-) server_cpu_us_per_request=$fw"
    if awk -v w="$fw" -v f="$floor_us" 'BEGIN { exit !(w == w + 0 && w < f) }'; then floor_us=$fw; fi
  fi
  stop_server
  echo "bench treaty_floor server_cpu_us_per_request_lowest=$floor_us cpu_us_per_verify=$vus" \
       "ratio_cpu_bound_ceiling=$(awk -v f="$floor_us" -v v="$vus" 'BEGIN { if (f + v > 0) printf "%.3f", v / (v + f); else print "nan" }')" \
       "ratio_cpu_bound_saturated=$(awk -v s="$cpu_us_sat" -v v="$vus" 'BEGIN { if (s > 0) printf "%.3f", v / s; else print "nan" }')" \
       "goal_ratio=0.75"
  echo "floor:   libmicrohttpd + loopback + a durable group commit alone cost $floor_us us of server CPU per"
  echo "         request: a server doing nothing but one verify on top would reach a CPU-bound ratio of" \
       "$(awk -v f="$floor_us" -v v="$vus" 'BEGIN { if (f + v > 0) printf "%.2f", v / (v + f); else print "?" }') (goal 0.75)"
else
  echo "bench_treaty: $FLOOR not built: no floor measured" >&2
fi
echo "output in $OUT"
