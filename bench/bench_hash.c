/* bench_hash.c - SHA-256 small-input rate, single core: RFC 6962 leaf hashes of 256-byte
 * entries and node hashes (include/treatylog/hash.h), against raw OpenSSL EVP one-shot
 * digests of the same bytes, and the large-buffer SHA-256 peak for reference.
 *
 *   bench_hash [--ms MILLISECONDS] [--size ENTRY_BYTES]
 *
 * Before timing anything it checks tl_sha256 / tl_leaf_hash / tl_node_hash /
 * tl_leaf_hash_many against OpenSSL for every length 0..1100 (exit 1 on a mismatch), so a
 * fast wrong hash cannot produce a number.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bench_util.h"
#include "treatylog/hash.h"

#define POOL 64

static EVP_MD *md;
static double run_seconds = 1.0;

static void evp_hash(uint8_t out[TL_HASH_LEN], const void *data, size_t len)
{
    unsigned int n = 0;
    if (!EVP_Digest(data, len, out, &n, md, NULL)) {
        fprintf(stderr, "EVP_Digest failed\n");
        exit(1);
    }
}

static int self_check(void)
{
    enum { MAXLEN = 1100 };
    static uint8_t buf[MAXLEN + 1];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)bench_mix(i);
    uint8_t a[TL_HASH_LEN], b[TL_HASH_LEN];
    for (size_t len = 0; len <= MAXLEN; len++) {
        tl_sha256(a, buf + 1, len);
        evp_hash(b, buf + 1, len);
        if (memcmp(a, b, TL_HASH_LEN) != 0) {
            fprintf(stderr, "tl_sha256 differs from OpenSSL at length %zu\n", len);
            return -1;
        }
        uint8_t save = buf[0];
        buf[0] = 0x00;
        tl_leaf_hash(a, buf + 1, len);
        evp_hash(b, buf, len + 1);
        buf[0] = save;
        if (memcmp(a, b, TL_HASH_LEN) != 0) {
            fprintf(stderr, "tl_leaf_hash differs from OpenSSL at length %zu\n", len);
            return -1;
        }
        size_t split = len / 3;
        tl_sha256_2(a, buf + 1, split, buf + 1 + split, len - split);
        evp_hash(b, buf + 1, len);
        if (memcmp(a, b, TL_HASH_LEN) != 0) {
            fprintf(stderr, "tl_sha256_2 differs from OpenSSL at length %zu\n", len);
            return -1;
        }
    }
    /* Leaf hashes in a batch of mixed lengths. */
    const uint8_t *ents[37];
    size_t lens[37];
    uint8_t many[37][TL_HASH_LEN];
    for (size_t i = 0; i < 37; i++) {
        ents[i] = buf + 1 + i;
        lens[i] = (i * 29) % 300;
    }
    tl_leaf_hash_many(many, ents, lens, 37);
    for (size_t i = 0; i < 37; i++) {
        tl_leaf_hash(a, ents[i], lens[i]);
        if (memcmp(a, many[i], TL_HASH_LEN) != 0) {
            fprintf(stderr, "tl_leaf_hash_many differs at item %zu\n", i);
            return -1;
        }
    }
    /* Node hash, aliasing included. */
    uint8_t l[TL_HASH_LEN], r[TL_HASH_LEN], cat[1 + 2 * TL_HASH_LEN];
    for (unsigned k = 0; k < 1000; k++) {
        for (size_t i = 0; i < TL_HASH_LEN; i++) {
            l[i] = (uint8_t)bench_mix(k * 64 + i);
            r[i] = (uint8_t)bench_mix(k * 64 + 32 + i);
        }
        cat[0] = 0x01;
        memcpy(cat + 1, l, TL_HASH_LEN);
        memcpy(cat + 1 + TL_HASH_LEN, r, TL_HASH_LEN);
        evp_hash(b, cat, sizeof cat);
        tl_node_hash(a, l, r);
        if (memcmp(a, b, TL_HASH_LEN) != 0) {
            fprintf(stderr, "tl_node_hash differs from OpenSSL\n");
            return -1;
        }
        tl_node_hash(l, l, r);
        tl_node_hash(r, a, r); /* a == old l's result: r = NODE(NODE(l,r), r) */
        memcpy(cat + 1, b, TL_HASH_LEN);
        evp_hash(b, cat, sizeof cat);
        if (memcmp(l, a, TL_HASH_LEN) != 0 || memcmp(r, b, TL_HASH_LEN) != 0) {
            fprintf(stderr, "tl_node_hash aliasing differs from OpenSSL\n");
            return -1;
        }
    }
    return 0;
}

/* A measurement: wall clock and this thread's CPU time. */
typedef struct timer {
    double w0, c0;
} timer;

static timer start(void)
{
    timer t = {bench_now(), bench_tcpu()};
    return t;
}

static bool running(const timer *t)
{
    return bench_now() - t->w0 < run_seconds;
}

/* Prints one result line: count hashes of `bytes` input bytes each since t. hashes_per_s is
 * per CPU-second of this thread (one core, whatever else runs); wall_hashes_per_s is by the
 * wall clock. */
static void report(const char *name, uint64_t count, size_t bytes, const timer *t, unsigned acc)
{
    double wall = bench_now() - t->w0, cpu = bench_tcpu() - t->c0;
    double rate = (double)count / cpu;
    printf("bench %s hashes_per_s=%.0f MB_per_s=%.1f ns_per_hash=%.1f wall_hashes_per_s=%.0f "
           "input_bytes=%zu count=%llu cpu_s=%.3f wall_s=%.3f check=%02x\n",
           name, rate, rate * (double)bytes / 1e6, 1e9 / rate, (double)count / wall, bytes,
           (unsigned long long)count, cpu, wall, acc & 0xff);
    fflush(stdout);
}

static void bench_leaf(size_t size)
{
    uint8_t *pool = malloc(POOL * size);
    if (!pool)
        exit(1);
    for (size_t i = 0; i < POOL; i++)
        bench_record(pool + i * size, size, i);
    uint8_t h[TL_HASH_LEN];
    unsigned acc = 0;
    uint64_t n = 0;
    timer tm = start();
    while (running(&tm)) {
        for (size_t i = 0; i < 4096; i++) {
            tl_leaf_hash(h, pool + (i % POOL) * size, size);
            acc += h[0];
        }
        n += 4096;
    }
    char name[64];
    snprintf(name, sizeof name, "tl_leaf_hash_%zuB", size);
    report(name, n, size + 1, &tm, acc);

    /* The same entries through tl_leaf_hash_many, 256 at a time (one tile's worth). */
    enum { BATCH = 256 };
    const uint8_t *ents[BATCH];
    size_t lens[BATCH];
    uint8_t(*outs)[TL_HASH_LEN] = malloc(BATCH * TL_HASH_LEN);
    if (!outs)
        exit(1);
    for (size_t i = 0; i < BATCH; i++) {
        ents[i] = pool + (i % POOL) * size;
        lens[i] = size;
    }
    n = 0;
    tm = start();
    while (running(&tm)) {
        for (unsigned k = 0; k < 16; k++) {
            tl_leaf_hash_many(outs, ents, lens, BATCH);
            acc += outs[k][0];
        }
        n += 16 * BATCH;
    }
    snprintf(name, sizeof name, "tl_leaf_hash_many_%zuB", size);
    report(name, n, size + 1, &tm, acc);
    free(outs);

    /* Raw OpenSSL one-shot over the identical bytes (0x00 || entry), MD fetched once. */
    uint8_t *pre = malloc(POOL * (size + 1));
    if (!pre)
        exit(1);
    for (size_t i = 0; i < POOL; i++) {
        pre[i * (size + 1)] = 0x00;
        memcpy(pre + i * (size + 1) + 1, pool + i * size, size);
    }
    n = 0;
    tm = start();
    while (running(&tm)) {
        for (size_t i = 0; i < 4096; i++) {
            evp_hash(h, pre + (i % POOL) * (size + 1), size + 1);
            acc += h[0];
        }
        n += 4096;
    }
    snprintf(name, sizeof name, "evp_oneshot_%zuB", size + 1);
    report(name, n, size + 1, &tm, acc);
    free(pre);
    free(pool);
}

static void bench_node(void)
{
    uint8_t pool[POOL][TL_HASH_LEN];
    for (size_t i = 0; i < POOL; i++)
        for (size_t j = 0; j < TL_HASH_LEN; j++)
            pool[i][j] = (uint8_t)bench_mix(i * TL_HASH_LEN + j);
    uint8_t h[TL_HASH_LEN];
    unsigned acc = 0;
    uint64_t n = 0;
    timer tm = start();
    while (running(&tm)) {
        for (size_t i = 0; i < 4096; i++) {
            tl_node_hash(h, pool[i % POOL], pool[(i + 1) % POOL]);
            acc += h[0];
        }
        n += 4096;
    }
    report("tl_node_hash", n, 1 + 2 * TL_HASH_LEN, &tm, acc);

    /* Dependent chain (each node's input is the previous output), as in a tree fold. */
    memcpy(h, pool[0], TL_HASH_LEN);
    n = 0;
    tm = start();
    while (running(&tm)) {
        for (size_t i = 0; i < 4096; i++)
            tl_node_hash(h, h, pool[i % POOL]);
        n += 4096;
    }
    report("tl_node_hash_chain", n, 1 + 2 * TL_HASH_LEN, &tm, h[0]);

    uint8_t pre[POOL][1 + 2 * TL_HASH_LEN];
    for (size_t i = 0; i < POOL; i++) {
        pre[i][0] = 0x01;
        memcpy(pre[i] + 1, pool[i], TL_HASH_LEN);
        memcpy(pre[i] + 1 + TL_HASH_LEN, pool[(i + 1) % POOL], TL_HASH_LEN);
    }
    n = 0;
    tm = start();
    while (running(&tm)) {
        for (size_t i = 0; i < 4096; i++) {
            evp_hash(h, pre[i % POOL], sizeof pre[0]);
            acc += h[0];
        }
        n += 4096;
    }
    report("evp_oneshot_65B", n, 1 + 2 * TL_HASH_LEN, &tm, acc);
}

/* Large-buffer peak: what SHA-NI does per byte when call overhead vanishes. */
static void bench_bulk(void)
{
    size_t len = (size_t)1 << 20;
    uint8_t *buf = malloc(len);
    if (!buf)
        exit(1);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)i;
    uint8_t h[TL_HASH_LEN];
    unsigned acc = 0;
    uint64_t n = 0;
    timer tm = start();
    while (running(&tm)) {
        evp_hash(h, buf, len);
        acc += h[0];
        n++;
    }
    report("evp_oneshot_1MiB", n, len, &tm, acc);
    n = 0;
    tm = start();
    while (running(&tm)) {
        tl_sha256(h, buf, len);
        acc += h[0];
        n++;
    }
    report("tl_sha256_1MiB", n, len, &tm, acc);
    free(buf);
}

int main(int argc, char **argv)
{
    size_t size = 256;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc) {
            run_seconds = (double)bench_u64_arg("--ms", argv[++i], 10, 600000) / 1000.0;
        } else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            size = (size_t)bench_u64_arg("--size", argv[++i], 24, 65535);
        } else {
            fprintf(stderr, "usage: %s [--ms MILLISECONDS] [--size ENTRY_BYTES]\n", argv[0]);
            return 2;
        }
    }
    if (tl_init() != TL_OK) {
        fprintf(stderr, "tl_init failed\n");
        return 1;
    }
    md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!md) {
        fprintf(stderr, "EVP_MD_fetch(SHA256) failed\n");
        return 1;
    }
    if (self_check() != 0)
        return 1;
    printf("bench hash_selfcheck ok=1 lengths=0..1100\n");
    bench_leaf(size);
    bench_node();
    bench_bulk();
    EVP_MD_free(md);
    return 0;
}
