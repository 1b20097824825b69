#!/bin/bash
# Runs the benchmarks of DESIGN §8 in one go, on one machine, in one run, so that every ratio
# compares numbers measured side by side: builds Release into build-bench/, then
#   bench_hash     SHA-256 small-input rates (the anchor), tl_* against raw OpenSSL EVP
#   bench_append   1,000,000 x 256-byte entries, publish (durable) every 10,000, plus the
#                  I/O floor of the same files written with plain system calls
#   tlogverify     `tlogverify build` (Go reference, x/mod sumdb/tlog) of the same records,
#                  timed here; its checkpoint must be byte-identical to treatylog's
#   bench_audit    tl_audit of the log bench_append wrote
#   bench_proofs   inclusion proofs from a reader over a 10,000,000-entry log: as first
#                  measured (1 s of warm-up proofs, every 10th checked against its entry);
#                  after tl_reader_warm (--prewarm); proofs alone (--verify-every 1000); and
#                  2 threads on a tl_readpool (the log is built the first time and kept only
#                  with BENCH_KEEP=1)
# and prints a summary with the ratios. Not part of the test suite; takes 3-6 minutes (the
# first build of the 10M-entry log is about a minute of that) and stops any step that runs
# past its time limit.
#
# Environment: BENCH_TMP (default /work/bench-tmp; must be a real disk, not tmpfs: the
# durable append measures fsync), BENCH_N (1000000), BENCH_PROOF_N (10000000), BENCH_KEEP=1
# (keep BENCH_TMP, e.g. to reuse the 10M-entry log), TLOGVERIFY (the Go oracle, default
# /tmp/o/tlogverify, else build/tlogverify), BENCH_REV (build the committed tree of that git
# revision, e.g. HEAD, from `git archive` instead of the working tree: for a shared checkout
# whose uncommitted work may not build).
#
# Results are `bench <name> key=value ...` lines (see docs/benchmarks.md); save them with
# `scripts/bench.sh | tee FILE`. Each run works in a fresh $BENCH_TMP/run-<time>/ rather than
# deleting and recreating one: ext4 slows file creation for a few minutes near freshly
# deleted inodes (find_inode_bit/recently_deleted), which would depress the append numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

T=${BENCH_TMP:-/work/bench-tmp}
N=${BENCH_N:-1000000}
PN=${BENCH_PROOF_N:-10000000}
B=build-bench
TV=${TLOGVERIFY:-}
if [ -z "$TV" ]; then
  if [ -x /tmp/o/tlogverify ]; then TV=/tmp/o/tlogverify; else TV=$ROOT/build/tlogverify; fi
fi
[ -x "$TV" ] || { echo "bench: no tlogverify at $TV (set TLOGVERIFY, or run scripts/setup.sh)" >&2; exit 2; }

mkdir -p "$T"
R=$T/run-$(date -u +%Y%m%dT%H%M%S)
mkdir "$R"
fstype=$(stat -f -c %T "$T")
if [ "$fstype" = tmpfs ] || [ "$fstype" = ramfs ]; then
  echo "bench: $T is on $fstype; durable numbers need a real disk (set BENCH_TMP)" >&2
  exit 2
fi
OUT=$R/output.txt
exec > >(tee "$OUT") 2>&1

step() { # seconds, command...: runs one step, stopped after `seconds`
  local limit=$1; shift
  timeout --foreground -k 10 "$limit" "$@"
}

# A value from a result line: val NAME KEY (first line named NAME).
val() {
  awk -v n="$1" -v k="$2" '$1 == "bench" && $2 == n {
      for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) { print kv[2]; exit } } }' "$OUT"
}

echo "=== machine"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
if [ -n "${BENCH_REV:-}" ]; then
  echo "commit:  $(git rev-parse --short "$BENCH_REV") (committed tree, BENCH_REV=$BENCH_REV)"
else
  echo "commit:  $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src include || echo ' + uncommitted changes in src/ or include/')"
fi
echo "nproc:   $(nproc)"
hv=$(lscpu | sed -n 's/^Hypervisor vendor: *//p')
if [ -n "$hv" ]; then hv="$hv guest"; else hv="bare metal"; fi
echo "cpu:     $(lscpu | sed -n 's/^Model name: *//p' | head -1) (family $(lscpu | sed -n 's/^CPU family: *//p')," \
     "model $(lscpu | sed -n 's/^Model: *//p'); $(grep -q -w sha_ni /proc/cpuinfo && echo sha_ni || echo 'no sha_ni');" \
     "$hv)"
echo "kernel:  $(uname -r)"
dev=$(df --output=source "$T" | tail -1)
echo "disk:    $dev ($(findmnt -n -o FSTYPE --target "$T"), $(findmnt -n -o OPTIONS --target "$T" | cut -c1-40)); rotational=$(cat "/sys/block/$(basename "$dev")/queue/rotational" 2>/dev/null || echo '?'); $(free -g | awk '/^Mem:/ { print $2 " GiB RAM" }')"
echo "openssl: $(openssl version 2>/dev/null || echo '?'); cc: $(cc --version | head -1)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine shows up here)"
if [ -d /sys/kernel/mm/damon/admin/kdamonds/0 ] && grep -q on /sys/kernel/mm/damon/admin/kdamonds/0/state 2>/dev/null; then
  echo "damon:   a kdamond is on (e.g. pageout of cold memory): page cache not touched for seconds may be dropped"
fi

echo "=== build (Release)"
if [ -n "${BENCH_REV:-}" ]; then
  mkdir "$R/src"
  git archive "$BENCH_REV" | tar -x -C "$R/src"
  echo "building $(git rev-parse --short "$BENCH_REV") (committed tree) in $R/src"
  cd "$R/src"
  B=$R/build
fi
step 300 cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DTLOGVERIFY="$TV" >/dev/null
step 300 cmake --build "$B" -j"$(nproc)" --target bench_hash bench_append bench_audit bench_proofs \
  | grep -E 'error|warning|Built target bench' || true
for b in bench_hash bench_append bench_audit bench_proofs; do
  [ -x "$B/$b" ] || { echo "bench: $B/$b did not build" >&2; exit 1; }
done

echo "=== hash"
step 120 "$B/bench_hash" --ms 1000

echo "=== append ($N x 256 B, durable publish every 10,000)"
step 300 "$B/bench_append" --dir "$R/append" -n "$N" --batch 10000 --io-floor

echo "=== tlogverify build (Go reference) of the same records"
step 120 "$B/bench_append" --emit "$R/records.txt" -n "$N"
"$TV" keygen bench.treatylog.example \
  --seed 0101010101010101010101010101010101010101010101010101010101010101 --out "$R/gokey" >/dev/null
t0=$(date +%s.%N)
step 600 "$TV" build "$R/gokey.skey" "$R/records.txt" "$R/go"
t1=$(date +%s.%N)
go_s=$(echo "$t1 $t0" | awk '{ printf "%.3f", $1 - $2 }')
go_rate=$(echo "$N $go_s" | awk '{ printf "%.0f", $1 / $2 }')
same=no
cmp -s "$R/go/checkpoint" "$R/append/checkpoint" && same=yes
echo "bench tlogverify_build_256B entries_per_s=$go_rate n=$N wall_s=$go_s durable=no checkpoint_identical=$same"

echo "=== audit"
step 300 "$B/bench_audit" --dir "$R/append" --runs 3

echo "=== proofs ($PN-entry log)"
if [ ! -f "$T/proofs/checkpoint" ]; then rm -rf "$T/proofs"; fi
step 900 "$B/bench_proofs" --dir "$T/proofs" -n "$PN" --seconds 5 --threads 1
step 120 "$B/bench_proofs" --dir "$T/proofs" -n "$PN" --seconds 5 --threads 1 --prewarm \
  | sed 's/^bench proofs /bench proofs_prewarm /'
step 120 "$B/bench_proofs" --dir "$T/proofs" -n "$PN" --seconds 5 --threads 1 --prewarm \
  --verify-every 1000 | sed 's/^bench proofs /bench proofs_only /'
step 120 "$B/bench_proofs" --dir "$T/proofs" -n "$PN" --seconds 5 --threads 2 --pool --prewarm \
  --verify-every 1000 | sed 's/^bench proofs /bench proofs_pool2 /'

echo "=== summary"
app=$(val append_256B entries_per_s)
leaf=$(val sha256_leaf_256B leaf_hashes_per_s)
echo "append:  $app entries/s durable (goal >= 500000); $(val append_256B ratio_to_leaf_hash) x the" \
     "leaf-hash rate $leaf/s of the same run; $(val io_floor_256B append_share_of_floor) x the I/O" \
     "floor $(val io_floor_256B entries_per_s)/s"
echo "go:      tlogverify build $go_rate entries/s (not durable); treatylog / tlogverify =" \
     "$(echo "$app $go_rate" | awk '{ printf "%.2f", $1 / $2 }') (goal >= 5); checkpoints identical: $same"
echo "audit:   $(val audit entries_per_s) entries/s (goal >= 1000000); $(val audit ratio_to_leaf_hash)" \
     "x the leaf-hash rate"
echo "proofs:  $(val proofs_only proofs_per_s)/s on 1 thread warm ($(val proofs_only proofs_per_cpu_s)" \
     "per CPU-second), $(val proofs_pool2 proofs_per_s)/s on 2 threads (pool) (goal >= 100000/s);" \
     "with every 10th checked against its entry $(val proofs_prewarm proofs_per_s)/s; cold start" \
     "(1 s warm-up) $(val proofs proofs_per_s)/s; peak RSS $(val proofs_pool2 rss_peak_kib) KiB"
echo "hashes:  leaf 256 B $(val tl_leaf_hash_256B hashes_per_s)/s vs EVP $(val evp_oneshot_257B hashes_per_s)/s;" \
     "node $(val tl_node_hash hashes_per_s)/s vs EVP $(val evp_oneshot_65B hashes_per_s)/s (per CPU-second)"

if [ "${BENCH_KEEP:-0}" = 1 ]; then
  echo "kept $R and the proof log $T/proofs (output in $OUT)"
else
  echo "removing $T"
  rm -rf "$T"
fi
