/* readpool.c - a pool of tl_readers sharing one level-0 summary cache; see
 * include/treatylog/readpool.h.
 *
 * Ownership: `mu` guards the idle stack and the counters; a reader out of the pool belongs to
 * the thread that took it; the summary cache guards itself (striped mutexes, reader_shared.h).
 */
#include "treatylog/readpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "log/reader_shared.h"

#define DEFAULT_MAX_IDLE 16

struct tl_readpool {
    tl_store *st;
    tl_sumcache *sc;
    pthread_mutex_t mu;
    tl_reader **idle; /* max_idle slots */
    unsigned nidle, max_idle, readers;
    _Atomic bool stop_warm;
};

tl_err tl_readpool_new(tl_readpool **out, tl_store *st, unsigned max_idle, tl_diag *d)
{
    tl_readpool *p = calloc(1, sizeof *p);
    if (!p)
        return tl_fail(d, TL_ERR_NOMEM, "allocating a reader pool");
    p->st = st;
    p->max_idle = max_idle ? max_idle : DEFAULT_MAX_IDLE;
    p->idle = calloc(p->max_idle, sizeof *p->idle);
    tl_err e = p->idle ? tl_sumcache_new(&p->sc, true, d)
                       : tl_fail(d, TL_ERR_NOMEM, "allocating a reader pool");
    if (e != TL_OK) {
        free(p->idle);
        free(p);
        return e;
    }
    pthread_mutex_init(&p->mu, NULL);
    *out = p;
    return TL_OK;
}

tl_err tl_readpool_get(tl_readpool *p, uint64_t size, tl_reader **r, tl_diag *d)
{
    tl_reader *got = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->nidle > 0)
        got = p->idle[--p->nidle];
    else
        p->readers++; /* counted before it exists, so stats never miss one in the making */
    pthread_mutex_unlock(&p->mu);
    if (!got) {
        tl_err e = tl_reader_new_shared(&got, p->st, size, p->sc, d);
        if (e != TL_OK) {
            pthread_mutex_lock(&p->mu);
            p->readers--;
            pthread_mutex_unlock(&p->mu);
            return e;
        }
    }
    tl_reader_set_size(got, size);
    *r = got;
    return TL_OK;
}

void tl_readpool_put(tl_readpool *p, tl_reader *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&p->mu);
    bool keep = p->nidle < p->max_idle;
    if (keep)
        p->idle[p->nidle++] = r;
    else
        p->readers--;
    pthread_mutex_unlock(&p->mu);
    if (!keep)
        tl_reader_free(r);
}

tl_err tl_readpool_inclusion(tl_readpool *p, uint64_t index, uint64_t size,
                             uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN], size_t *n, tl_diag *d)
{
    if (index >= size)
        return tl_fail(d, TL_ERR_RANGE, "index %llu is not below size %llu",
                       (unsigned long long)index, (unsigned long long)size);
    tl_reader *r = NULL;
    tl_err e = tl_readpool_get(p, size, &r, d);
    if (e != TL_OK)
        return e;
    e = tl_merkle_inclusion_proof(proof, n, index, size, tl_reader_hash, r);
    if (e != TL_OK)
        e = tl_fail(d, e, "%s", tl_reader_error(r));
    tl_readpool_put(p, r);
    return e;
}

tl_err tl_readpool_consistency(tl_readpool *p, uint64_t old, uint64_t size,
                               uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN], size_t *n, tl_diag *d)
{
    if (old > size)
        return tl_fail(d, TL_ERR_RANGE, "old size %llu is larger than size %llu",
                       (unsigned long long)old, (unsigned long long)size);
    tl_reader *r = NULL;
    tl_err e = tl_readpool_get(p, size, &r, d);
    if (e != TL_OK)
        return e;
    e = tl_merkle_consistency_proof(proof, n, old, size, tl_reader_hash, r);
    if (e != TL_OK)
        e = tl_fail(d, e, "%s", tl_reader_error(r));
    tl_readpool_put(p, r);
    return e;
}

tl_err tl_readpool_warm(tl_readpool *p, uint64_t size, tl_diag *d)
{
    tl_reader *r = NULL;
    tl_err e = tl_readpool_get(p, size, &r, d);
    if (e != TL_OK)
        return e;
    e = tl_reader_warm_until(r, NULL, &p->stop_warm, d);
    tl_readpool_put(p, r);
    return e;
}

void tl_readpool_stop_warm(tl_readpool *p)
{
    atomic_store(&p->stop_warm, true);
}

void tl_readpool_stats_get(tl_readpool *p, tl_readpool_stats *out)
{
    pthread_mutex_lock(&p->mu);
    out->readers = p->readers;
    out->idle = p->nidle;
    pthread_mutex_unlock(&p->mu);
    out->summary_bytes = tl_sumcache_bytes(p->sc);
}

void tl_readpool_free(tl_readpool *p)
{
    if (!p)
        return;
    for (unsigned i = 0; i < p->nidle; i++)
        tl_reader_free(p->idle[i]);
    free(p->idle);
    tl_sumcache_free(p->sc);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
