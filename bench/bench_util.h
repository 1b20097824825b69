/* bench_util.h - small helpers shared by the bench/bench_*.c programs: clocks, RSS, strict
 * flag parsing, deterministic 256-byte records and the fixed benchmark key.
 *
 * Every benchmark prints one machine-readable line per measurement:
 *     bench <name> key=value key=value ...
 * and diagnostics (progress, errors) on stderr. Header-only (static inline) so that each
 * bench_*.c stays one executable with no extra library.
 */
#ifndef TREATYLOG_BENCH_UTIL_H
#define TREATYLOG_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/text.h"

/* The benchmark log key: name and seed also given to `tlogverify keygen --seed` by
 * scripts/bench.sh, so both implementations sign byte-identical checkpoints. */
#define BENCH_KEY_NAME "bench.treatylog.example"
#define BENCH_KEY_SEED_HEX "0101010101010101010101010101010101010101010101010101010101010101"

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time (user + system) of the whole process. */
static inline double bench_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of the calling thread: what one core spent, whatever else the machine runs. */
static inline double bench_tcpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The 1-minute load average, to print next to results (others may share the machine). */
static inline double bench_loadavg(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double v = -1;
    if (f) {
        if (fscanf(f, "%lf", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

/* A field of /proc/self/status in KiB ("VmRSS:", "VmHWM:"); 0 if unavailable. */
static inline uint64_t bench_status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    uint64_t v = 0;
    size_t flen = strlen(field);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, flen) != 0)
            continue;
        const char *p = line + flen;
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = 0;
        while (p[n] >= '0' && p[n] <= '9')
            n++;
        if (tl_parse_u64(&v, p, n) != TL_OK)
            v = 0;
        break;
    }
    fclose(f);
    return v;
}

/* Strict decimal flag value; exits with a usage message on anything else. */
static inline uint64_t bench_u64_arg(const char *flag, const char *s, uint64_t min, uint64_t max)
{
    uint64_t v = 0;
    if (tl_parse_u64(&v, s, strlen(s)) != TL_OK || v < min || v > max) {
        fprintf(stderr, "%s: want a decimal in %llu..%llu, got '%s'\n", flag,
                (unsigned long long)min, (unsigned long long)max, s);
        exit(2);
    }
    return v;
}

/* splitmix64: a fast, stateless-per-call mixer for reproducible pseudo-random data. */
static inline uint64_t bench_mix(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* Record i of length len (>= 24): "rec <20-digit i> " then printable pseudo-random bytes,
 * never '\n', so the same records can be given one per line to `tlogverify build`. */
static inline void bench_record(uint8_t *out, size_t len, uint64_t i)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int n = snprintf((char *)out, len, "rec %020llu ", (unsigned long long)i);
    size_t p = n > 0 ? (size_t)n : 0;
    if (p > len)
        p = len;
    uint64_t s = bench_mix(i);
    for (; p < len; p++) {
        if ((p & 7) == 0)
            s = bench_mix(s);
        out[p] = (uint8_t)alphabet[(s >> ((p & 7) * 6)) & 63];
    }
}

/* The benchmark key (deterministic, see BENCH_KEY_SEED_HEX). */
static inline int bench_key(tl_skey *key)
{
    uint8_t seed[TL_SEED_LEN];
    memset(seed, 0x01, sizeof seed);
    tl_diag d = {{0}};
    if (tl_skey_from_seed(key, BENCH_KEY_NAME, strlen(BENCH_KEY_NAME), TL_KEY_ED25519, seed,
                          &d) != TL_OK) {
        fprintf(stderr, "key: %s\n", d.msg);
        return -1;
    }
    return 0;
}

/* Leaf hashes per second of `size`-byte records with tl_leaf_hash, single thread, measured
 * for about `seconds`: the SHA-256 small-input anchor the log rates are compared with.
 * *per_cpu_s (if non-NULL) gets the rate per second of this thread's CPU time. */
static inline double bench_leaf_rate(size_t size, double seconds, double *per_cpu_s)
{
    enum { POOL = 64 };
    uint8_t *pool = malloc(POOL * size);
    if (!pool)
        return 0;
    for (size_t i = 0; i < POOL; i++)
        bench_record(pool + i * size, size, i);
    uint8_t h[TL_HASH_LEN] = {0};
    volatile uint8_t sink = 0; /* keeps the hashes live */
    uint64_t n = 0;
    double t0 = bench_now(), c0 = bench_tcpu(), t = t0;
    while (t - t0 < seconds) {
        for (size_t i = 0; i < 4096; i++) {
            tl_leaf_hash(h, pool + (i % POOL) * size, size);
            sink = (uint8_t)(sink ^ h[0]);
        }
        n += 4096;
        t = bench_now();
    }
    double c = bench_tcpu() - c0;
    free(pool);
    if (per_cpu_s)
        *per_cpu_s = (double)n / c;
    return (double)n / (t - t0);
}

#endif
