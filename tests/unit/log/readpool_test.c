/* readpool_test.c - the reader pool (src/log/readpool.c): proofs from several threads at once
 * are byte-identical to proofs from an in-memory tree, while one thread warms the shared
 * summary cache; readers are reused and bounded by max_idle; errors come back with their
 * messages and leave the pool usable. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "treatylog/hash.h"
#include "treatylog/log.h"
#include "treatylog/merkle.h"
#include "treatylog/readpool.h"

#define N       20000u /* 78 full level-0 tiles, a partial one, a partial level-1 tile */
#define HMAX    16
#define THREADS 4

/* Test-only state (the library has none). */
static char base[256], dir[300];
static uint8_t (*tree[HMAX])[32];
static const uint64_t sizes[] = {1000, 4096, 12345, N};

static tl_err mem_hash(void *ctx, unsigned h, uint64_t k, uint8_t out[TL_HASH_LEN])
{
    uint64_t size = *(const uint64_t *)ctx;
    if (h >= HMAX || ((k + 1) << h) > size)
        return TL_ERR_RANGE;
    memcpy(out, tree[h][k], 32);
    return TL_OK;
}

static int group_setup(void **state)
{
    (void)state;
    assert_int_equal(tl_init(), TL_OK);
    snprintf(base, sizeof base, "/tmp/tl-readpool-test.XXXXXX");
    assert_non_null(mkdtemp(base));
    snprintf(dir, sizeof dir, "%s/log", base);
    tl_skey key;
    uint8_t seed[32] = {9};
    assert_int_equal(tl_skey_from_seed(&key, "test.example/pool", 17, TL_KEY_ED25519, seed, NULL),
                     TL_OK);
    tl_diag d;
    assert_int_equal(tl_log_create(dir, NULL, &key, &d), TL_OK);
    tl_log *l = NULL;
    assert_int_equal(tl_log_open(&l, dir, NULL, &d), TL_OK);
    for (unsigned h = 0; h < HMAX; h++)
        tree[h] = calloc((N >> h) + 1, 32);
    size_t next = 0;
    for (uint64_t i = 0; i < N; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "pool entry %llu", (unsigned long long)i);
        assert_int_equal(tl_log_add(l, (const uint8_t *)buf, (size_t)n, NULL, &d), TL_OK);
        tl_leaf_hash(tree[0][i], buf, (size_t)n);
        if (i + 1 == sizes[next]) {
            assert_int_equal(tl_log_publish(l, &d), TL_OK);
            next++;
        }
    }
    tl_log_close(l);
    tl_skey_wipe(&key);
    for (unsigned h = 1; h < HMAX; h++)
        for (uint64_t k = 0; k < (N >> h); k++)
            tl_node_hash(tree[h][k], tree[h - 1][2 * k], tree[h - 1][2 * k + 1]);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    assert_int_equal(system(cmd), 0);
    for (unsigned h = 0; h < HMAX; h++)
        free(tree[h]);
    return 0;
}

typedef struct job {
    pthread_t tid;
    tl_readpool *pool;
    unsigned id;
    unsigned proofs;
    int bad; /* 0 ok; else the line that failed */
    char msg[TL_DIAG_LEN];
} job;

static void *prover(void *arg)
{
    job *j = arg;
    uint64_t seed = 777 + j->id;
    for (unsigned i = 0; i < 3000 && !j->bad; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t size = sizes[(seed >> 20) % 4];
        uint64_t idx = (seed >> 33) % size;
        uint8_t a[TL_PROOF_MAX][32], b[TL_PROOF_MAX][32];
        size_t na = 0, nb = 0;
        tl_diag d = {{0}};
        if (i % 5 == 4) {
            uint64_t old = (seed >> 40) % (size + 1);
            if (tl_readpool_consistency(j->pool, old, size, a, &na, &d) != TL_OK ||
                tl_merkle_consistency_proof(b, &nb, old, size, mem_hash, &size) != TL_OK)
                j->bad = __LINE__;
        } else {
            if (tl_readpool_inclusion(j->pool, idx, size, a, &na, &d) != TL_OK ||
                tl_merkle_inclusion_proof(b, &nb, idx, size, mem_hash, &size) != TL_OK)
                j->bad = __LINE__;
        }
        if (!j->bad && (na != nb || memcmp(a, b, na * 32) != 0))
            j->bad = __LINE__;
        if (j->bad)
            memcpy(j->msg, d.msg, sizeof j->msg);
        j->proofs++;
    }
    return NULL;
}

typedef struct warmer {
    pthread_t tid;
    tl_readpool *pool;
    tl_err e;
} warmer;

static void *warm(void *arg)
{
    warmer *w = arg;
    tl_diag d;
    w->e = tl_readpool_warm(w->pool, N, &d);
    return NULL;
}

static tl_store *open_store(void)
{
    tl_store *st = NULL;
    tl_diag d;
    assert_int_equal(tl_store_posix_open(&st, dir, false, NULL, &d), TL_OK);
    return st;
}

static void test_threads(void **state)
{
    (void)state;
    tl_store *st = open_store();
    tl_readpool *p = NULL;
    tl_diag d;
    assert_int_equal(tl_readpool_new(&p, st, 0, &d), TL_OK);
    job jobs[THREADS];
    memset(jobs, 0, sizeof jobs);
    warmer w = {.pool = p};
    for (unsigned t = 0; t < THREADS; t++) {
        jobs[t].pool = p;
        jobs[t].id = t;
        assert_int_equal(pthread_create(&jobs[t].tid, NULL, prover, &jobs[t]), 0);
    }
    assert_int_equal(pthread_create(&w.tid, NULL, warm, &w), 0);
    for (unsigned t = 0; t < THREADS; t++) {
        pthread_join(jobs[t].tid, NULL);
        if (jobs[t].bad)
            fail_msg("thread %u failed at line %d: %s", t, jobs[t].bad, jobs[t].msg);
        assert_int_equal(jobs[t].proofs, 3000);
    }
    pthread_join(w.tid, NULL);
    assert_int_equal(w.e, TL_OK);
    tl_readpool_stats s;
    tl_readpool_stats_get(p, &s);
    assert_true(s.readers >= 1 && s.readers <= THREADS + 1);
    assert_int_equal(s.idle, s.readers);
    assert_int_equal(s.summary_bytes, (N / 256) * (8 + 16 * 32)); /* every full tile, once */
    /* After the warm-up, more proofs from the same pool. */
    for (unsigned t = 0; t < THREADS; t++) {
        jobs[t].proofs = 0;
        assert_int_equal(pthread_create(&jobs[t].tid, NULL, prover, &jobs[t]), 0);
    }
    for (unsigned t = 0; t < THREADS; t++) {
        pthread_join(jobs[t].tid, NULL);
        if (jobs[t].bad)
            fail_msg("thread %u failed at line %d: %s", t, jobs[t].bad, jobs[t].msg);
    }
    tl_readpool_free(p);
    st->ops->close(st);
}

static void test_get_put_and_bounds(void **state)
{
    (void)state;
    tl_store *st = open_store();
    tl_readpool *p = NULL;
    tl_diag d;
    assert_int_equal(tl_readpool_new(&p, st, 2, &d), TL_OK);
    tl_reader *r[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++)
        assert_int_equal(tl_readpool_get(p, 4096, &r[i], &d), TL_OK);
    assert_true(r[0] != r[1] && r[1] != r[2] && r[0] != r[2]);
    tl_readpool_stats s;
    tl_readpool_stats_get(p, &s);
    assert_int_equal(s.readers, 3);
    assert_int_equal(s.idle, 0);
    for (int i = 0; i < 3; i++)
        tl_readpool_put(p, r[i]);
    tl_readpool_put(p, NULL);
    tl_readpool_stats_get(p, &s);
    assert_int_equal(s.readers, 2); /* max_idle 2: the third was freed */
    assert_int_equal(s.idle, 2);
    /* A reused reader takes the size asked for. */
    tl_reader *q = NULL;
    assert_int_equal(tl_readpool_get(p, 12345, &q, &d), TL_OK);
    assert_true(q == r[0] || q == r[1] || q == r[2]);
    assert_int_equal(tl_reader_size(q), 12345);
    uint8_t root[32], want[32];
    uint64_t size = 12345;
    assert_int_equal(tl_reader_root(q, root, &d), TL_OK);
    assert_int_equal(tl_merkle_root(want, size, mem_hash, &size), TL_OK);
    assert_memory_equal(root, want, 32);
    tl_readpool_put(p, q);
    tl_readpool_free(p);
    st->ops->close(st);
}

static void test_errors(void **state)
{
    (void)state;
    tl_store *st = open_store();
    tl_readpool *p = NULL;
    tl_diag d;
    assert_int_equal(tl_readpool_new(&p, st, 0, &d), TL_OK);
    uint8_t proof[TL_PROOF_MAX][32];
    size_t n = 0;
    assert_int_equal(tl_readpool_inclusion(p, N, N, proof, &n, &d), TL_ERR_RANGE);
    assert_int_equal(tl_readpool_consistency(p, N + 1, N, proof, &n, &d), TL_ERR_RANGE);
    /* A size the log never published has no partial tiles at its right edge. */
    assert_int_equal(tl_readpool_inclusion(p, 5, N - 1, proof, &n, &d), TL_ERR_NOTFOUND);
    assert_non_null(strstr(d.msg, "is missing (needed for tree size 19999)"));
    /* The reader that failed went back to the pool and works for the next caller. */
    assert_int_equal(tl_readpool_inclusion(p, 5, N, proof, &n, &d), TL_OK);
    tl_readpool_stats s;
    tl_readpool_stats_get(p, &s);
    assert_int_equal(s.readers, 1);
    /* After stop_warm, warming returns at once, and proofs still work. */
    tl_readpool_stop_warm(p);
    assert_int_equal(tl_readpool_warm(p, N, &d), TL_OK);
    assert_int_equal(tl_readpool_inclusion(p, 7, N, proof, &n, &d), TL_OK);
    tl_readpool_stats_get(p, &s);
    assert_true(s.summary_bytes < (N / 256) * (8 + 16 * 32));
    tl_readpool_free(p);
    tl_readpool_free(NULL);
    st->ops->close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_get_put_and_bounds),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
