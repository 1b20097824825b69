/* bench_proofs.c - inclusion proofs from a warm reader (tl_reader over a posix store,
 * tl_merkle_inclusion_proof) for uniformly random indexes of a large log.
 *
 *   bench_proofs --dir DIR [-n N] [--batch B] [--seconds S] [--verify-every K] [--threads T]
 *                [--warm W] [--prewarm]
 *
 * If DIR holds no log, builds one first: N (default 10,000,000) 256-byte entries, published
 * every B (default 100,000) entries; an existing log is reused as it is (building 10M entries
 * takes a while, so scripts/bench.sh keeps it between runs on request).
 *
 * Measurement: each of T threads (default 1) opens its own reader over the one store (readers
 * are per thread; store reads are thread-safe), with --prewarm first summarises every tile
 * (tl_reader_warm, timed and printed), warms it with W s of proofs (default 1), then for S seconds
 * (default 5) proves random indexes. Every K-th proof (default 10) is checked the way a
 * client would: the entry is read from its bundle (tl_reader_entry, which checks it against
 * its leaf hash in the tiles), leaf-hashed, and the proof verified against the root of the
 * signed checkpoint (tl_merkle_verify_inclusion); any failure exits 1. Those checks are
 * inside the timed loop. Prints proofs/s (wall, all threads), store reads per proof (a
 * counting store sits between the reader and the posix store) and the RSS.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_util.h"
#include "treatylog/log.h"
#include "treatylog/readpool.h"

/* A store that counts the reads it forwards (one per thread: no sharing). */
typedef struct counting_store {
    tl_store base; /* must be first */
    tl_store *inner;
    uint64_t reads, bytes;
} counting_store;

static tl_err cs_read(tl_store *s, const char *path, uint8_t **buf, size_t *len, tl_diag *d)
{
    counting_store *c = (counting_store *)s;
    tl_err e = c->inner->ops->read(c->inner, path, buf, len, d);
    c->reads++;
    if (e == TL_OK)
        c->bytes += *len;
    return e;
}

static tl_err cs_read_at(tl_store *s, const char *path, uint64_t off, uint8_t *buf, size_t cap,
                         size_t *got, tl_diag *d)
{
    counting_store *c = (counting_store *)s;
    tl_err e = c->inner->ops->read_at(c->inner, path, off, buf, cap, got, d);
    c->reads++;
    if (e == TL_OK)
        c->bytes += *got;
    return e;
}

static tl_err cs_stage(tl_store *s, const char *path, const uint8_t *buf, size_t len,
                       tl_diag *d)
{
    (void)s;
    (void)path;
    (void)buf;
    (void)len;
    return tl_fail(d, TL_ERR_USAGE, "read-only");
}

static tl_err cs_sync(tl_store *s, tl_diag *d)
{
    (void)s;
    return tl_fail(d, TL_ERR_USAGE, "read-only");
}

static tl_err cs_commit(tl_store *s, const uint8_t *cp, size_t len, tl_diag *d)
{
    (void)s;
    (void)cp;
    (void)len;
    return tl_fail(d, TL_ERR_USAGE, "read-only");
}

static tl_err cs_list(tl_store *s, const char *dir, char ***names, size_t *n, tl_diag *d)
{
    counting_store *c = (counting_store *)s;
    return c->inner->ops->list(c->inner, dir, names, n, d);
}

static void cs_close(tl_store *s)
{
    (void)s; /* the inner store is closed by its owner */
}

static const struct tl_store_ops counting_ops = {
    .name = "counting",
    .read = cs_read,
    .stage = cs_stage,
    .sync = cs_sync,
    .commit = cs_commit,
    .list = cs_list,
    .close = cs_close,
    .read_at = cs_read_at, /* the inner store is always posix, which has it */
};

typedef struct worker {
    pthread_t tid;
    unsigned id;
    counting_store cs;   /* this thread's store (without --pool) */
    tl_readpool *pool;   /* with --pool: shared by all threads, over one counting store */
    const tl_checkpoint *cp;
    double seconds, warm;
    bool prewarm;
    uint64_t verify_every;
    /* results */
    uint64_t proofs, verified, hashes, warm_proofs, prewarm_tiles;
    double wall, cpu, prewarm_s;
    int failed;
    tl_diag diag;
} worker;

/* One inclusion proof, from the thread's reader or from the pool. */
static tl_err prove(worker *w, tl_reader *r, uint64_t idx, uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN],
                    size_t *n)
{
    uint64_t size = w->cp->size;
    if (w->pool)
        return tl_readpool_inclusion(w->pool, idx, size, proof, n, &w->diag);
    if (tl_merkle_inclusion_proof(proof, n, idx, size, tl_reader_hash, r) != TL_OK)
        return tl_fail(&w->diag, TL_ERR_IO, "proof of %llu: %s", (unsigned long long)idx,
                       tl_reader_error(r));
    return TL_OK;
}

static tl_err entry(worker *w, tl_reader *r, uint64_t idx, uint8_t **ent, size_t *elen)
{
    if (!w->pool)
        return tl_reader_entry(r, idx, ent, elen, &w->diag);
    tl_reader *pr = NULL;
    tl_err e = tl_readpool_get(w->pool, w->cp->size, &pr, &w->diag);
    if (e == TL_OK)
        e = tl_reader_entry(pr, idx, ent, elen, &w->diag);
    tl_readpool_put(w->pool, pr);
    return e;
}

static void *work(void *arg)
{
    worker *w = arg;
    tl_reader *r = NULL;
    if (!w->pool && tl_reader_new(&r, &w->cs.base, w->cp->size, &w->diag) != TL_OK) {
        w->failed = 1;
        return NULL;
    }
    uint64_t size = w->cp->size;
    uint64_t seq = (uint64_t)w->id << 48;
    uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN];
    size_t n = 0;
    if (w->prewarm && !w->pool) {
        double p0 = bench_now();
        if (tl_reader_warm(r, &w->prewarm_tiles, &w->diag) != TL_OK) {
            w->failed = 1;
            tl_reader_free(r);
            return NULL;
        }
        w->prewarm_s = bench_now() - p0;
    }
    /* Warm-up: W s of proofs, not counted. */
    double t0 = bench_now();
    while (bench_now() - t0 < w->warm && !w->failed) {
        for (int i = 0; i < 64; i++) {
            if (prove(w, r, bench_mix(seq++) % size, proof, &n) != TL_OK) {
                w->failed = 1;
                break;
            }
            w->warm_proofs++;
        }
    }
    w->cs.reads = 0;
    w->cs.bytes = 0;

    double w0 = bench_now(), c0 = bench_tcpu();
    while (bench_now() - w0 < w->seconds && !w->failed) {
        for (int i = 0; i < 64; i++) {
            uint64_t idx = bench_mix(seq++) % size;
            if (prove(w, r, idx, proof, &n) != TL_OK) {
                w->failed = 1;
                break;
            }
            w->proofs++;
            w->hashes += n;
            if (w->proofs % w->verify_every != 0)
                continue;
            uint8_t *ent = NULL;
            size_t elen = 0;
            if (entry(w, r, idx, &ent, &elen) != TL_OK) {
                w->failed = 1;
                break;
            }
            uint8_t leaf[TL_HASH_LEN];
            tl_leaf_hash(leaf, ent, elen);
            free(ent);
            if (tl_merkle_verify_inclusion(idx, size, leaf, (const uint8_t(*)[TL_HASH_LEN])proof,
                                           n, w->cp->root) != TL_OK) {
                tl_fail(&w->diag, TL_ERR_PROOF, "proof of %llu does not verify",
                        (unsigned long long)idx);
                w->failed = 1;
                break;
            }
            w->verified++;
        }
    }
    w->wall = bench_now() - w0;
    w->cpu = bench_tcpu() - c0;
    tl_reader_free(r);
    return NULL;
}

static int build(const char *dir, uint64_t n, uint64_t batch)
{
    fprintf(stderr, "building a %llu-entry log in %s (once; reused afterwards)\n",
            (unsigned long long)n, dir);
    tl_skey key;
    if (bench_key(&key) != 0)
        return -1;
    tl_diag d = {{0}};
    if (tl_log_create(dir, NULL, &key, &d) != TL_OK) {
        fprintf(stderr, "create %s: %s\n", dir, d.msg);
        return -1;
    }
    tl_skey_wipe(&key);
    tl_log *l = NULL;
    if (tl_log_open(&l, dir, NULL, &d) != TL_OK) {
        fprintf(stderr, "open %s: %s\n", dir, d.msg);
        return -1;
    }
    uint8_t rec[256];
    double t0 = bench_now();
    for (uint64_t i = 0; i < n; i++) {
        bench_record(rec, sizeof rec, i);
        if (tl_log_add(l, rec, sizeof rec, NULL, &d) != TL_OK) {
            fprintf(stderr, "add %llu: %s\n", (unsigned long long)i, d.msg);
            tl_log_close(l);
            return -1;
        }
        if ((i + 1) % batch == 0 || i + 1 == n) {
            if (tl_log_publish(l, &d) != TL_OK) {
                fprintf(stderr, "publish %llu: %s\n", (unsigned long long)i + 1, d.msg);
                tl_log_close(l);
                return -1;
            }
        }
    }
    double t = bench_now() - t0;
    tl_log_close(l);
    printf("bench proofs_build entries=%llu batch=%llu seconds=%.1f entries_per_s=%.0f\n",
           (unsigned long long)n, (unsigned long long)batch, t, (double)n / t);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    uint64_t n = 10000000, batch = 100000, seconds = 5, verify_every = 10, threads = 1, warm = 1;
    bool prewarm = false, use_pool = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = bench_u64_arg("-n", argv[++i], 1, UINT64_C(1) << 40);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = bench_u64_arg("--batch", argv[++i], 1, UINT64_C(1) << 30);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = bench_u64_arg("--seconds", argv[++i], 1, 3600);
        else if (strcmp(argv[i], "--verify-every") == 0 && i + 1 < argc)
            verify_every = bench_u64_arg("--verify-every", argv[++i], 1, 1000000);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = bench_u64_arg("--threads", argv[++i], 1, 64);
        else if (strcmp(argv[i], "--warm") == 0 && i + 1 < argc)
            warm = bench_u64_arg("--warm", argv[++i], 0, 3600);
        else if (strcmp(argv[i], "--prewarm") == 0)
            prewarm = true;
        else if (strcmp(argv[i], "--pool") == 0)
            use_pool = true;
        else {
            fprintf(stderr,
                    "usage: %s --dir DIR [-n N] [--batch B] [--seconds S] [--verify-every K] "
                    "[--threads T] [--warm W] [--prewarm] [--pool]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "%s: --dir DIR is required\n", argv[0]);
        return 2;
    }
    if (tl_init() != TL_OK) {
        fprintf(stderr, "tl_init failed\n");
        return 1;
    }
    char cpath[4096];
    int pn = snprintf(cpath, sizeof cpath, "%s/checkpoint", dir);
    if (pn < 0 || (size_t)pn >= sizeof cpath) {
        fprintf(stderr, "path too long\n");
        return 2;
    }
    struct stat sb;
    if (stat(cpath, &sb) != 0 && build(dir, n, batch) != 0)
        return 1;

    tl_skey key;
    if (bench_key(&key) != 0)
        return 1;
    tl_vkey vkey = key.vkey;
    tl_skey_wipe(&key);
    tl_diag d = {{0}};
    tl_store *st = NULL;
    if (tl_store_posix_open(&st, dir, false, NULL, &d) != TL_OK) {
        fprintf(stderr, "open %s: %s\n", dir, d.msg);
        return 1;
    }
    tl_checkpoint cp;
    if (tl_read_checkpoint(st, &vkey, &cp, NULL, NULL, &d) != TL_OK) {
        fprintf(stderr, "checkpoint: %s\n", d.msg);
        return 1;
    }
    if (cp.size != n)
        fprintf(stderr, "note: reusing the log in %s at size %llu (asked for %llu)\n", dir,
                (unsigned long long)cp.size, (unsigned long long)n);
    uint64_t rss0 = bench_status_kib("VmRSS:");
    tl_readpool *pool = NULL;
    double pool_prewarm_s = 0;
    if (use_pool) {
        if (tl_readpool_new(&pool, st, 0, &d) != TL_OK) {
            fprintf(stderr, "pool: %s\n", d.msg);
            return 1;
        }
        if (prewarm) {
            double p0 = bench_now();
            if (tl_readpool_warm(pool, cp.size, &d) != TL_OK) {
                fprintf(stderr, "warm: %s\n", d.msg);
                return 1;
            }
            pool_prewarm_s = bench_now() - p0;
        }
    }

    worker *ws = calloc(threads, sizeof *ws);
    if (!ws)
        return 1;
    for (unsigned t = 0; t < threads; t++) {
        worker *w = &ws[t];
        w->id = t;
        w->cs.base.ops = &counting_ops;
        w->cs.inner = st;
        w->pool = pool;
        w->cp = &cp;
        w->seconds = (double)seconds;
        w->warm = (double)warm;
        w->prewarm = prewarm;
        w->verify_every = verify_every;
        if (pthread_create(&w->tid, NULL, work, w) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    uint64_t proofs = 0, verified = 0, hashes = 0, reads = 0, bytes = 0;
    double wall = 0, cpu = 0, prewarm_s = 0;
    uint64_t prewarm_tiles = 0;
    int failed = 0;
    for (unsigned t = 0; t < threads; t++) {
        worker *w = &ws[t];
        pthread_join(w->tid, NULL);
        if (w->failed) {
            fprintf(stderr, "thread %u: %s\n", t, w->diag.msg);
            failed = 1;
        }
        proofs += w->proofs;
        verified += w->verified;
        hashes += w->hashes;
        reads += w->cs.reads;
        bytes += w->cs.bytes;
        wall = w->wall > wall ? w->wall : wall;
        cpu += w->cpu;
        prewarm_s = w->prewarm_s > prewarm_s ? w->prewarm_s : prewarm_s;
        prewarm_tiles += w->prewarm_tiles;
    }
    if (failed)
        return 1;
    uint64_t rss = bench_status_kib("VmRSS:"), hwm = bench_status_kib("VmHWM:");
    double reads_per_proof = (double)reads / (double)proofs;
    double bytes_per_proof = (double)bytes / (double)proofs;
    unsigned pool_readers = 0;
    if (pool) { /* the pool reads the posix store directly: no counts */
        reads_per_proof = bytes_per_proof = -1;
        prewarm_s = pool_prewarm_s;
        tl_readpool_stats ps;
        tl_readpool_stats_get(pool, &ps);
        pool_readers = ps.readers;
        prewarm_tiles = ps.summary_bytes / 520;
        tl_readpool_free(pool);
    }
    printf("bench proofs proofs_per_s=%.0f proofs_per_cpu_s=%.0f threads=%llu size=%llu "
           "proofs=%llu verified=%llu verify_every=%llu avg_proof_hashes=%.1f "
           "store_reads_per_proof=%.2f store_bytes_per_proof=%.0f seconds=%.2f "
           "rss_kib=%llu rss_peak_kib=%llu rss_before_kib=%llu goal_proofs_per_s=100000 "
           "warm_s=%.0f prewarm=%s prewarm_s=%.2f prewarm_tiles=%llu pool_readers=%u "
           "loadavg=%.2f\n",
           (double)proofs / wall, (double)proofs / cpu, (unsigned long long)threads,
           (unsigned long long)cp.size, (unsigned long long)proofs,
           (unsigned long long)verified, (unsigned long long)verify_every,
           (double)hashes / (double)proofs, reads_per_proof, bytes_per_proof, wall,
           (unsigned long long)rss,
           (unsigned long long)hwm, (unsigned long long)rss0, (double)warm,
           prewarm ? "yes" : "no", prewarm_s, (unsigned long long)prewarm_tiles, pool_readers,
           bench_loadavg());
    free(ws);
    st->ops->close(st);
    return 0;
}
