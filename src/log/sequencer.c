/* sequencer.c - the log as a service: dedup -> journal (group commit) -> integrate -> publish
 * -> answer. See include/treatylog/sequencer.h for the contract and DESIGN §5.
 *
 * Ownership (as in Sunlight's sequencer): the journal thread owns the journal; the integration
 * thread owns the log writer and the hash-index writes; everything shared (queues, the
 * pending set, the published checkpoint, counters) is guarded by `mu`; every proof comes from
 * the reader pool (thread-safe, one shared tile cache). A submission is in exactly one of:
 * `in` (waiting for the journal), in flight in the journal thread, `jq` (durable, waiting for
 * integration), in flight in the integration thread. Until it is in the hash index it is also
 * in the pending set, so a duplicate attaches to it.
 *
 * Receipts: each journal write is one batch; its leaf hashes form an RFC 6962 tree whose root
 * the log signs once ("treatylog/batch/v1" note), and each receipt carries the entry's
 * inclusion proof in that tree: one signature per group commit, not per submission.
 */
#include "treatylog/sequencer.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "treatylog/hashindex.h"
#include "treatylog/journal.h"
#include "treatylog/log.h"
#include "treatylog/merkle.h"
#include "treatylog/readpool.h"
#include "treatylog/text.h"
#include "treatylog/tile.h"
#include "treatylog/tlogproof.h"

const unsigned tl_seq_latency_bounds_ms[TL_LATENCY_BUCKETS] = {5,   10,  25,   50,   75,   100,
                                                               150, 200, 500, 1000, 5000, 30000};

typedef struct sub {
    struct sub *next;  /* queue link */
    struct sub *hnext; /* pending-set chain (by key) */
    struct sub *lnext; /* pending-set chain (by leaf) */
    struct sub *dups;  /* later submissions of the same entry, answered with this one */
    uint8_t *body;
    size_t len;
    uint8_t leaf[TL_HASH_LEN]; /* of the entry */
    uint8_t key[TL_HASH_LEN];  /* dedup key: the leaf hash, or the submission's key */
    size_t head_len;           /* keyed mode: bytes of body that go into a proof's extra */
    bool wait;
    tl_answer_fn cb; /* NULL once answered */
    void *ctx;
    uint64_t t0_ns;
    uint64_t index;
} sub;

typedef struct queue {
    sub *head, *tail;
    size_t n;
} queue;

struct tl_seq {
    tl_seq_config cfg;
    tl_log *log;
    tl_journal *jr;
    tl_hashindex *hx;
    tl_store *ro;
    pthread_mutex_t mu;
    pthread_cond_t cv_in, cv_jq, cv_pub;
    char *wit_note; /* newest witnessed checkpoint, or NULL */
    size_t wit_len;
    uint64_t wit_size;
    queue in, jq;
    size_t inflight; /* taken by the journal thread, not yet in jq */
    sub **pend;      /* pending set buckets, by key */
    sub **pendl;     /* the same set, by leaf hash */
    size_t pend_mask;
    bool stopping, journal_done;
    char *cp_note;
    size_t cp_len;
    uint64_t pub_size;
    uint64_t last_publish_ns;
    tl_readpool *pool;   /* readers for every thread (thread-safe) */
    pthread_t wt;        /* warms the pool's level-0 summaries once, after start-up */
    bool warming;
    tl_seq_stats st;
    pthread_t jt, it;
    bool threads;
    char origin[TL_ORIGIN_MAX + 1];
};

void tl_seq_config_default(tl_seq_config *c)
{
    memset(c, 0, sizeof *c);
    c->batch_ms = 50;
    c->max_batch = 10000;
    c->journal_limit = 100000;
    c->integrate_promise_ms = 10000;
    c->wait_timeout_ms = 30000;
    c->journal_reset_bytes = 64u << 20;
}

/* snprintf for diagnostics, where truncation is acceptable. */
static void msgf(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void msgf(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
    if (n < 0 && cap > 0)
        dst[0] = '\0';
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void push(queue *q, sub *s)
{
    s->next = NULL;
    if (q->tail)
        q->tail->next = s;
    else
        q->head = s;
    q->tail = s;
    q->n++;
}

/* Takes up to max subs from the front of q, in order. */
static sub *take(queue *q, size_t max, size_t *n)
{
    sub *head = q->head, *last = NULL, *p = head;
    size_t k = 0;
    while (p && k < max) {
        last = p;
        p = p->next;
        k++;
    }
    if (last)
        last->next = NULL;
    q->head = p;
    if (!p)
        q->tail = NULL;
    q->n -= k;
    *n = k;
    return head;
}

/* Puts a list back at the front of q (after a failed integration). */
static void put_back(queue *q, sub *list, size_t n)
{
    if (!list)
        return;
    sub *last = list;
    while (last->next)
        last = last->next;
    last->next = q->head;
    q->head = list;
    if (!q->tail)
        q->tail = last;
    q->n += n;
}

/* ---- pending set (caller holds mu) ---- */

static size_t bucket(const tl_seq *s, const uint8_t leaf[TL_HASH_LEN])
{
    uint64_t k = 0;
    memcpy(&k, leaf, sizeof k);
    return (size_t)k & s->pend_mask;
}

static sub *pend_find(tl_seq *s, const uint8_t key[TL_HASH_LEN])
{
    for (sub *p = s->pend[bucket(s, key)]; p; p = p->hnext) {
        if (memcmp(p->key, key, TL_HASH_LEN) == 0)
            return p;
    }
    return NULL;
}

static sub *pend_find_leaf(tl_seq *s, const uint8_t leaf[TL_HASH_LEN])
{
    for (sub *p = s->pendl[bucket(s, leaf)]; p; p = p->lnext) {
        if (memcmp(p->leaf, leaf, TL_HASH_LEN) == 0)
            return p;
    }
    return NULL;
}

static void pend_add(tl_seq *s, sub *x)
{
    size_t b = bucket(s, x->key);
    x->hnext = s->pend[b];
    s->pend[b] = x;
    b = bucket(s, x->leaf);
    x->lnext = s->pendl[b];
    s->pendl[b] = x;
}

static void pend_remove(tl_seq *s, sub *x)
{
    for (sub **pp = &s->pendl[bucket(s, x->leaf)]; *pp; pp = &(*pp)->lnext) {
        if (*pp == x) {
            *pp = x->lnext;
            break;
        }
    }
    for (sub **pp = &s->pend[bucket(s, x->key)]; *pp; pp = &(*pp)->hnext) {
        if (*pp == x) {
            *pp = x->hnext;
            return;
        }
    }
}

static void free_sub(sub *x)
{
    free(x->body);
    free(x);
}

/* Answers x (if not yet answered) with a copy of a (body duplicated). */
static void answer(sub *x, const tl_answer *a, bool dup)
{
    if (!x->cb)
        return;
    tl_answer mine = *a;
    mine.duplicate = dup;
    mine.body = NULL;
    if (a->body) {
        mine.body = malloc(a->body_len + 1);
        if (mine.body) {
            memcpy(mine.body, a->body, a->body_len);
            mine.body[a->body_len] = '\0';
        } else {
            mine.kind = TL_ANSWER_ERROR;
            mine.err = TL_ERR_NOMEM;
            mine.body_len = 0;
            msgf(mine.msg, sizeof mine.msg, "out of memory building the answer");
        }
    }
    tl_answer_fn cb = x->cb;
    x->cb = NULL;
    cb(x->ctx, &mine);
}

static void answer_error(sub *x, tl_err e, const char *msg)
{
    tl_answer a = {.kind = TL_ANSWER_ERROR, .err = e};
    msgf(a.msg, sizeof a.msg, "%s", msg);
    answer(x, &a, false);
}

/* ---- proofs ---- */

/* A tlog-proof for index against the published checkpoint (the caller passes the checkpoint
 * note it wants), with extra[0..extra_len) as its extra line if extra_len > 0. Thread-safe. */
static tl_err make_proof_extra(tl_seq *s, uint64_t index, uint64_t size, const char *note,
                               size_t nlen, const uint8_t *extra, size_t extra_len, char **body,
                               size_t *blen, tl_diag *d)
{
    if (index >= size)
        return tl_fail(d, TL_ERR_RANGE, "index %llu is not below size %llu",
                       (unsigned long long)index, (unsigned long long)size);
    uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN];
    size_t np = 0;
    if (tl_readpool_inclusion(s->pool, index, size, proof, &np, d) != TL_OK)
        return TL_ERR_IO; /* as with the lone reader; d holds the reader's message */
    return tl_tlog_proof_format(body, blen, index, (const uint8_t(*)[TL_HASH_LEN])proof, np,
                                extra_len ? extra : NULL, extra_len, note, nlen, d);
}

/* The same for an entry known only by index: in keyed mode its header is read from the log. */
static tl_err make_proof(tl_seq *s, uint64_t index, uint64_t size, const char *note,
                         size_t nlen, char **body, size_t *blen, tl_diag *d)
{
    if (!s->cfg.split || index >= size)
        return make_proof_extra(s, index, size, note, nlen, NULL, 0, body, blen, d);
    tl_reader *rd = NULL;
    uint8_t *ent = NULL;
    size_t elen = 0, head = 0;
    uint8_t key[TL_HASH_LEN];
    tl_err e = tl_readpool_get(s->pool, size, &rd, d);
    if (e == TL_OK) {
        e = tl_reader_entry(rd, index, &ent, &elen, d);
        tl_readpool_put(s->pool, rd);
    }
    if (e == TL_OK && !s->cfg.split(ent, elen, key, &head))
        head = 0;
    if (e == TL_OK)
        e = make_proof_extra(s, index, size, note, nlen, ent, head, body, blen, d);
    free(ent);
    return e;
}

/* The published checkpoint: copy under mu. */
static tl_err published(tl_seq *s, char **note, size_t *len, uint64_t *size, tl_diag *d)
{
    pthread_mutex_lock(&s->mu);
    char *c = malloc(s->cp_len + 1);
    if (c) {
        memcpy(c, s->cp_note, s->cp_len);
        c[s->cp_len] = '\0';
        *len = s->cp_len;
        *size = s->pub_size;
    }
    pthread_mutex_unlock(&s->mu);
    if (!c)
        return tl_fail(d, TL_ERR_NOMEM, "checkpoint copy");
    *note = c;
    return TL_OK;
}

/* ---- receipts ---- */

typedef struct batch_tree {
    uint8_t (*lv[64])[TL_HASH_LEN]; /* lv[h][k] = perfect subtree (h, k) */
    size_t n[64];
    unsigned levels;
} batch_tree;

static tl_err bt_source(void *ctx, unsigned h, uint64_t k, uint8_t out[TL_HASH_LEN])
{
    batch_tree *t = ctx;
    if (h >= t->levels || k >= t->n[h])
        return TL_ERR_RANGE;
    memcpy(out, t->lv[h][k], TL_HASH_LEN);
    return TL_OK;
}

static void bt_free(batch_tree *t)
{
    for (unsigned h = 1; h < t->levels; h++)
        free(t->lv[h]);
}

/* Builds every perfect subtree over the n leaf hashes (level 0 borrowed from leaves). */
static tl_err bt_build(batch_tree *t, uint8_t (*leaves)[TL_HASH_LEN], size_t n)
{
    memset(t, 0, sizeof *t);
    t->lv[0] = leaves;
    t->n[0] = n;
    t->levels = 1;
    while (t->n[t->levels - 1] >= 2) {
        unsigned h = t->levels;
        size_t m = t->n[h - 1] / 2;
        t->lv[h] = malloc(m * TL_HASH_LEN);
        if (!t->lv[h]) {
            bt_free(t);
            return TL_ERR_NOMEM;
        }
        for (size_t k = 0; k < m; k++)
            tl_node_hash(t->lv[h][k], t->lv[h - 1][2 * k], t->lv[h - 1][2 * k + 1]);
        t->n[h] = m;
        t->levels++;
    }
    return TL_OK;
}

/* Signs the batch note. */
static tl_err batch_note(tl_seq *s, const batch_tree *t, size_t n, uint64_t accepted_ms,
                         char **note, size_t *nlen, tl_diag *d)
{
    uint8_t root[TL_HASH_LEN];
    tl_err e = tl_merkle_root(root, n, bt_source, (void *)t);
    if (e != TL_OK)
        return tl_fail(d, e, "batch root");
    char b64[64];
    tl_b64_encode(b64, root, TL_HASH_LEN);
    char text[TL_ORIGIN_MAX + 256];
    int k = snprintf(text, sizeof text,
                     "treatylog/batch/v1\norigin %s\ncount %zu\nroot %s\naccepted %llu\n"
                     "promise %llu\n",
                     s->origin, n, b64, (unsigned long long)accepted_ms,
                     (unsigned long long)(accepted_ms + s->cfg.integrate_promise_ms));
    if (k < 0 || (size_t)k >= sizeof text)
        return tl_fail(d, TL_ERR_INTERNAL, "batch note too long");
    return tl_log_sign(s->log, text, (size_t)k, note, nlen, d);
}

/* The receipt of the entry at position i of the batch. */
static tl_err receipt(const batch_tree *t, size_t n, size_t i, const char *note, size_t nlen,
                      char **body, size_t *blen, tl_diag *d)
{
    uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN];
    size_t np = 0;
    tl_err e = tl_merkle_inclusion_proof(proof, &np, i, n, bt_source, (void *)t);
    if (e != TL_OK)
        return tl_fail(d, e, "batch proof");
    size_t cap = 64 + 64 + np * 46 + nlen + 1;
    char *b = malloc(cap);
    if (!b)
        return tl_fail(d, TL_ERR_NOMEM, "receipt");
    char leaf64[64];
    tl_b64_encode(leaf64, t->lv[0][i], TL_HASH_LEN);
    int k = snprintf(b, cap, "treatylog/receipt@v1\nleaf %s\nposition %zu\n", leaf64, i);
    size_t at = (size_t)k;
    for (size_t j = 0; j < np; j++) {
        at += tl_b64_encode(b + at, proof[j], TL_HASH_LEN);
        b[at++] = '\n';
    }
    b[at++] = '\n';
    memcpy(b + at, note, nlen);
    at += nlen;
    b[at] = '\0';
    *body = b;
    *blen = at;
    return TL_OK;
}

/* ---- the journal thread ---- */

static void *journal_main(void *arg)
{
    tl_seq *s = arg;
    size_t max = s->cfg.max_batch;
    const uint8_t **ents = malloc(max * sizeof *ents);
    size_t *lens = malloc(max * sizeof *lens);
    uint8_t(*leaves)[TL_HASH_LEN] = malloc(max * TL_HASH_LEN);
    sub **batch = malloc(max * sizeof *batch);
    sub **known = malloc(max * sizeof *known);
    uint64_t *known_idx = malloc(max * sizeof *known_idx);
    if (!ents || !lens || !leaves || !batch || !known || !known_idx) {
        /* Cannot run: refuse everything from now on. */
        pthread_mutex_lock(&s->mu);
        s->st.healthy = false;
        msgf(s->st.last_error, sizeof s->st.last_error, "journal thread: out of memory");
        pthread_mutex_unlock(&s->mu);
    }
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->in.head && !s->stopping)
            pthread_cond_wait(&s->cv_in, &s->mu);
        if (!s->in.head && s->stopping) {
            s->journal_done = true;
            pthread_cond_broadcast(&s->cv_jq);
            pthread_mutex_unlock(&s->mu);
            break;
        }
        size_t n = 0;
        sub *list = take(&s->in, max, &n);
        s->inflight += n;
        bool healthy = s->st.healthy && ents;
        char why[TL_DIAG_LEN];
        msgf(why, sizeof why, "%s", s->st.last_error);
        pthread_mutex_unlock(&s->mu);

        /* Split: already integrated (answer with a proof) vs. new (journal). */
        size_t nb = 0, nk = 0;
        for (sub *p = list, *next; p; p = next) {
            next = p->next;
            uint64_t idx = 0;
            tl_diag d;
            if (healthy && tl_hashindex_get(s->hx, p->key, &idx, &d) == TL_OK) {
                known[nk] = p;
                known_idx[nk++] = idx;
            } else {
                batch[nb++] = p;
            }
        }
        tl_err e = healthy ? TL_OK : TL_ERR_IO;
        tl_diag d = {{0}};
        if (!healthy)
            msgf(d.msg, sizeof d.msg, "the log stopped: %s", why);
        uint64_t accepted = wall_ms();
        if (e == TL_OK && nb > 0) {
            for (size_t i = 0; i < nb; i++) {
                ents[i] = batch[i]->body;
                lens[i] = batch[i]->len;
                memcpy(leaves[i], batch[i]->leaf, TL_HASH_LEN);
            }
            e = tl_journal_append(s->jr, ents, lens, nb, accepted, &d);
        }
        /* Sort the duplicates attached meanwhile: those of a failed batch fail with it;
         * receipt-seekers of a journaled entry get a receipt now; those of an integrated
         * entry get its proof; the rest wait for integration with their first. */
        sub *fail_dups = NULL, *rcpt_dups = NULL, *known_dups = NULL;
        bool want_receipts = false;
        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < nb; i++) {
            if (e != TL_OK) {
                pend_remove(s, batch[i]);
                for (sub *dp = batch[i]->dups, *dn; dp; dp = dn) {
                    dn = dp->hnext;
                    dp->next = fail_dups;
                    fail_dups = dp;
                }
                batch[i]->dups = NULL;
                continue;
            }
            want_receipts = want_receipts || !batch[i]->wait;
            for (sub **pp = &batch[i]->dups; *pp;) {
                sub *dp = *pp;
                if (dp->wait) {
                    pp = &dp->hnext;
                    continue;
                }
                *pp = dp->hnext;
                dp->index = i; /* position in the batch */
                dp->next = rcpt_dups;
                rcpt_dups = dp;
                want_receipts = true;
            }
        }
        for (size_t i = 0; i < nk; i++) {
            pend_remove(s, known[i]);
            for (sub *dp = known[i]->dups, *dn; dp; dp = dn) {
                dn = dp->hnext;
                dp->index = known_idx[i];
                dp->next = known_dups;
                known_dups = dp;
            }
            known[i]->dups = NULL;
        }
        if (e != TL_OK) {
            s->st.io_errors += nb;
            s->st.writable = false;
            msgf(s->st.last_error, sizeof s->st.last_error, "%s", d.msg);
        } else if (nb > 0) {
            s->st.writable = true;
            s->st.journal_bytes = tl_journal_bytes(s->jr);
        }
        s->st.duplicates += nk;
        pthread_mutex_unlock(&s->mu);

        if (e != TL_OK) {
            char msg[TL_DIAG_LEN + 64];
            msgf(msg, sizeof msg, "not accepted: the journal could not be written: %s",
                     d.msg);
            for (size_t i = 0; i < nb; i++) {
                answer_error(batch[i], TL_ERR_IO, msg);
                free_sub(batch[i]);
            }
            for (sub *p = fail_dups, *q; p; p = q) {
                q = p->next;
                answer_error(p, TL_ERR_IO, msg);
                free_sub(p);
            }
            nb = 0;
        } else if (want_receipts) {
            batch_tree bt;
            char *note = NULL;
            size_t nlen = 0;
            tl_diag rd = {{0}};
            tl_err re = bt_build(&bt, leaves, nb);
            if (re == TL_OK) {
                re = batch_note(s, &bt, nb, accepted, &note, &nlen, &rd);
                for (size_t i = 0; i < nb && re == TL_OK; i++) {
                    if (batch[i]->wait)
                        continue;
                    tl_answer a = {.kind = TL_ANSWER_RECEIPT};
                    re = receipt(&bt, nb, i, note, nlen, &a.body, &a.body_len, &rd);
                    if (re == TL_OK)
                        answer(batch[i], &a, false);
                    free(a.body);
                }
                for (sub *p = rcpt_dups; p && re == TL_OK; p = p->next) {
                    tl_answer a = {.kind = TL_ANSWER_RECEIPT};
                    re = receipt(&bt, nb, (size_t)p->index, note, nlen, &a.body, &a.body_len,
                                 &rd);
                    if (re == TL_OK)
                        answer(p, &a, true);
                    free(a.body);
                }
                bt_free(&bt);
            }
            free(note);
            /* Durable but no receipt (out of memory): say so; the entry will be logged. */
            for (size_t i = 0; i < nb; i++) {
                if (!batch[i]->wait)
                    answer_error(batch[i], TL_ERR_INTERNAL, rd.msg);
            }
            for (sub *p = rcpt_dups, *q; p; p = q) {
                q = p->next;
                answer_error(p, TL_ERR_INTERNAL, rd.msg);
                free_sub(p);
            }
        }
        /* Answers for entries already integrated (and their duplicates). */
        if (nk > 0 || known_dups) {
            char *cp = NULL;
            size_t cplen = 0;
            uint64_t size = 0;
            tl_diag pd = {{0}};
            tl_err pe = published(s, &cp, &cplen, &size, &pd);
            for (size_t i = 0; i < nk; i++) {
                tl_answer a = {.kind = TL_ANSWER_PROOF, .index = known_idx[i]};
                tl_err ke = pe == TL_OK ? make_proof(s, known_idx[i], size, cp, cplen, &a.body,
                                                     &a.body_len, &pd)
                                        : pe;
                if (ke == TL_OK)
                    answer(known[i], &a, true);
                else
                    answer_error(known[i], ke, pd.msg);
                free(a.body);
                free_sub(known[i]);
            }
            for (sub *p = known_dups, *q; p; p = q) {
                q = p->next;
                tl_answer a = {.kind = TL_ANSWER_PROOF, .index = p->index};
                tl_err ke = pe == TL_OK ? make_proof(s, p->index, size, cp, cplen, &a.body,
                                                     &a.body_len, &pd)
                                        : pe;
                if (ke == TL_OK)
                    answer(p, &a, true);
                else
                    answer_error(p, ke, pd.msg);
                free(a.body);
                free_sub(p);
            }
            free(cp);
        }
        /* Hand the durable entries to the integration thread, in journal order. */
        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < nb; i++)
            push(&s->jq, batch[i]);
        s->inflight -= n;
        if (nb > 0)
            pthread_cond_broadcast(&s->cv_jq);
        bool all_in = tl_journal_next_index(s->jr) == s->pub_size && !s->jq.head;
        pthread_mutex_unlock(&s->mu);
        /* A fresh journal once everything in it is integrated (bounded start-up replay). */
        if (all_in && tl_journal_bytes(s->jr) > s->cfg.journal_reset_bytes) {
            tl_diag rd;
            if (tl_journal_reset(s->jr, tl_journal_next_index(s->jr), &rd) != TL_OK) {
                pthread_mutex_lock(&s->mu);
                msgf(s->st.last_error, sizeof s->st.last_error, "journal reset: %s",
                         rd.msg);
                pthread_mutex_unlock(&s->mu);
            }
        }
    }
    free(ents);
    free(lens);
    free(leaves);
    free(batch);
    free(known);
    free(known_idx);
    return NULL;
}

static tl_err reindex(tl_seq *s, uint64_t from, uint64_t size, tl_diag *d);

/* ---- the integration thread ---- */

static void record_latency(tl_seq *s, uint64_t t0, uint64_t t1)
{
    double ms = (double)(t1 - t0) / 1e6;
    for (size_t b = 0; b < TL_LATENCY_BUCKETS; b++) {
        if (ms <= tl_seq_latency_bounds_ms[b])
            s->st.latency_le_ms[b]++;
    }
    s->st.latency_count++;
    s->st.latency_sum_s += ms / 1000.0;
}

/* Answers the waiters whose patience ran out (the entries stay durable and will be logged). */
static void expire_waiters(tl_seq *s, sub *list, const char *why)
{
    uint64_t now = now_ns();
    uint64_t limit = (uint64_t)s->cfg.wait_timeout_ms * 1000000u;
    char msg[TL_DIAG_LEN + 128];
    msgf(msg, sizeof msg,
             "accepted and durable, but not yet integrated (%s); the entry will be logged: "
             "fetch its proof later from /v1/proof?hash=",
             why);
    pthread_mutex_lock(&s->mu);
    for (sub *p = list; p; p = p->next) {
        if (p->cb && now - p->t0_ns > limit) {
            tl_answer_fn cb = p->cb;
            p->cb = NULL;
            tl_answer a = {.kind = TL_ANSWER_ERROR, .err = TL_ERR_IO};
            msgf(a.msg, sizeof a.msg, "%s", msg);
            pthread_mutex_unlock(&s->mu);
            cb(p->ctx, &a);
            pthread_mutex_lock(&s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
}

static void *integrate_main(void *arg)
{
    tl_seq *s = arg;
    size_t max = s->cfg.max_batch;
    uint8_t(*leaves)[TL_HASH_LEN] = malloc(max * TL_HASH_LEN);
    uint8_t(*keys)[TL_HASH_LEN] = malloc(max * TL_HASH_LEN);
    const uint8_t **ents = malloc(max * sizeof *ents);
    size_t *lens = malloc(max * sizeof *lens);
    if (!keys || !ents || !lens) {
        free(leaves);
        leaves = NULL; /* unhealthy: see below */
    }
    unsigned backoff_ms = 0, stop_failures = 0;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        for (;;) {
            if (!s->jq.head && s->stopping && s->journal_done)
                break;
            if (!s->jq.head) {
                pthread_cond_wait(&s->cv_jq, &s->mu);
                continue;
            }
            /* Batch: wait until batch_ms after the last publish, or a full batch. */
            uint64_t due = s->last_publish_ns + (uint64_t)s->cfg.batch_ms * 1000000u +
                           (uint64_t)backoff_ms * 1000000u;
            uint64_t now = now_ns();
            if (now >= due || s->jq.n >= max || s->stopping)
                break;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t wait = due - now;
            ts.tv_sec += (time_t)(wait / 1000000000u);
            ts.tv_nsec += (long)(wait % 1000000000u);
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&s->cv_jq, &s->mu, &ts);
        }
        if (!s->jq.head) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        size_t n = 0;
        sub *list = take(&s->jq, max, &n);
        bool healthy = s->st.healthy && leaves;
        pthread_mutex_unlock(&s->mu);

        uint64_t t_start = now_ns();
        tl_diag d = {{0}};
        tl_err e = healthy ? TL_OK : TL_ERR_IO;
        uint64_t first = tl_log_staged_size(s->log);
        size_t i = 0;
        for (sub *p = list; p && e == TL_OK; p = p->next, i++) {
            e = tl_log_add(s->log, p->body, p->len, &p->index, &d);
            memcpy(leaves[i], p->leaf, TL_HASH_LEN);
            memcpy(keys[i], p->key, TL_HASH_LEN);
            ents[i] = p->body;
            lens[i] = p->len;
        }
        if (e == TL_OK)
            e = tl_log_publish(s->log, &d);
        if (e != TL_OK) {
            bool fatal = !healthy || tl_log_rollback(s->log, &d) != TL_OK ||
                         tl_log_staged_size(s->log) != first;
            tl_diag probe;
            uint8_t x = 0;
            /* A writer that refuses to add after a commit failure is stopped for good. */
            if (!fatal && tl_log_add(s->log, &x, 1, NULL, &probe) != TL_OK)
                fatal = true;
            else if (!fatal && tl_log_rollback(s->log, &probe) != TL_OK)
                fatal = true;
            pthread_mutex_lock(&s->mu);
            if (fatal && s->st.healthy) {
                s->st.healthy = false;
                msgf(s->st.last_error, sizeof s->st.last_error,
                         "sequencer stopped: %s (restart the server to recover)", d.msg);
            } else if (!fatal) {
                msgf(s->st.last_error, sizeof s->st.last_error, "integration: %s", d.msg);
            }
            s->st.writable = false;
            s->st.io_errors++;
            put_back(&s->jq, list, n);
            pthread_mutex_unlock(&s->mu);
            expire_waiters(s, list, d.msg);
            backoff_ms = backoff_ms ? (backoff_ms * 2 > 2000 ? 2000 : backoff_ms * 2) : 100;
            if (fatal) {
                struct timespec ts = {0, 200 * 1000000L};
                nanosleep(&ts, NULL);
            }
            if (s->stopping && (fatal || ++stop_failures >= 3)) {
                /* Shutting down and nothing more can be integrated: answer and drop the
                 * queue. The entries are durable in the journal; the next start integrates
                 * them. */
                pthread_mutex_lock(&s->mu);
                size_t k = 0;
                sub *rest = take(&s->jq, SIZE_MAX, &k);
                for (sub *p = rest; p; p = p->next)
                    pend_remove(s, p);
                pthread_mutex_unlock(&s->mu);
                for (sub *p = rest, *q; p; p = q) {
                    q = p->next;
                    answer_error(p, TL_ERR_IO, "durable, but the log could not integrate it "
                                               "before stopping; the next start will");
                    for (sub *dp = p->dups, *dn; dp; dp = dn) {
                        dn = dp->hnext;
                        answer_error(dp, TL_ERR_IO, "durable, but not integrated before stopping");
                        free_sub(dp);
                    }
                    free_sub(p);
                }
            }
            continue;
        }
        backoff_ms = 0;
        uint64_t t_done = now_ns();
        size_t ncp = 0;
        const char *cp = tl_log_checkpoint(s->log, &ncp);
        uint64_t size = tl_log_size(s->log);
        char *cp_copy = malloc(ncp + 1);
        tl_diag hd;
        tl_err he = TL_OK;
        if (tl_hashindex_covered(s->hx) < first) {
            /* An earlier batch's index write failed (e.g. disk full): catch up first, so the
             * index never has a hole that would let a duplicate through. */
            he = reindex(s, tl_hashindex_covered(s->hx), first, &hd);
        }
        if (he == TL_OK)
            he = tl_hashindex_put_keyed(s->hx, (const uint8_t(*)[TL_HASH_LEN])leaves,
                                        s->cfg.split ? (const uint8_t(*)[TL_HASH_LEN])keys
                                                     : NULL,
                                        first, n, size, &hd);
        pthread_mutex_lock(&s->mu);
        if (cp_copy) {
            memcpy(cp_copy, cp, ncp);
            cp_copy[ncp] = '\0';
            free(s->cp_note);
            s->cp_note = cp_copy;
            s->cp_len = ncp;
        }
        s->pub_size = size;
        /* The next batch is due batch_ms after this one started, not after it finished:
         * the publish time (syncs) does not add to every entry's wait. */
        s->last_publish_ns = t_start;
        s->st.size = size;
        s->st.writable = true;
        s->st.checkpoints++;
        s->st.batches++;
        s->st.batch_entries += n;
        if (he != TL_OK)
            msgf(s->st.last_error, sizeof s->st.last_error, "%s", hd.msg);
        pthread_cond_broadcast(&s->cv_pub);
        /* Out of the pending set only once in the hash index: no duplicate slips between. */
        sub *dups = NULL;
        for (sub *p = list; p; p = p->next) {
            pend_remove(s, p);
            record_latency(s, p->t0_ns, t_done);
            for (sub *dp = p->dups, *dn; dp; dp = dn) {
                dn = dp->hnext;
                dp->index = p->index;
                dp->next = dups;
                dups = dp;
            }
            p->dups = NULL;
        }
        pthread_mutex_unlock(&s->mu);
        if (s->cfg.integrated)
            s->cfg.integrated(s->cfg.integrated_ctx, first, ents, lens, n);
        /* Proofs for those who wait. */
        for (int pass = 0; pass < 2; pass++) {
            for (sub *p = pass ? dups : list; p; p = p->next) {
                if (!p->cb)
                    continue;
                tl_answer a = {.kind = TL_ANSWER_PROOF, .index = p->index};
                tl_diag pd;
                tl_err pe = pass == 0 ? make_proof_extra(s, p->index, size, cp, ncp, p->body,
                                                         p->head_len, &a.body, &a.body_len, &pd)
                                      : make_proof(s, p->index, size, cp, ncp, &a.body,
                                                   &a.body_len, &pd);
                if (pe == TL_OK)
                    answer(p, &a, pass == 1);
                else
                    answer_error(p, TL_ERR_IO, pd.msg);
                free(a.body);
            }
        }
        for (sub *p = list, *q; p; p = q) {
            q = p->next;
            free_sub(p);
        }
        for (sub *p = dups, *q; p; p = q) {
            q = p->next;
            free_sub(p);
        }
    }
    free(leaves);
    free(keys);
    free(ents);
    free(lens);
    return NULL;
}

/* ---- open, submit, close ---- */

/* Re-indexes [from, size) of the published log into the hash index. */
static tl_err reindex(tl_seq *s, uint64_t from, uint64_t size, tl_diag *d)
{
    enum { CHUNK = 4096 };
    uint8_t(*leaves)[TL_HASH_LEN] = malloc(CHUNK * TL_HASH_LEN);
    uint8_t(*keys)[TL_HASH_LEN] = s->cfg.split ? malloc(CHUNK * TL_HASH_LEN) : NULL;
    if (!leaves || (s->cfg.split && !keys)) {
        free(leaves);
        return tl_fail(d, TL_ERR_NOMEM, "reindex");
    }
    tl_reader *rd = NULL;
    tl_err e = tl_readpool_get(s->pool, size, &rd, d);
    for (uint64_t i = from; i < size && e == TL_OK;) {
        size_t n = 0;
        for (; n < CHUNK && i + n < size && e == TL_OK; n++) {
            if (tl_reader_hash(rd, 0, i + n, leaves[n]) != TL_OK) {
                e = tl_fail(d, TL_ERR_IO, "%s", tl_reader_error(rd));
                break;
            }
            if (keys) { /* keyed: the entry itself names its key */
                uint8_t *ent = NULL;
                size_t elen = 0, head = 0;
                e = tl_reader_entry(rd, i + n, &ent, &elen, d);
                if (e == TL_OK && !s->cfg.split(ent, elen, keys[n], &head))
                    memcpy(keys[n], leaves[n], TL_HASH_LEN);
                free(ent);
            }
        }
        if (e == TL_OK)
            e = tl_hashindex_put_keyed(s->hx, (const uint8_t(*)[TL_HASH_LEN])leaves,
                                       (const uint8_t(*)[TL_HASH_LEN])keys, i, n,
                                       i + n == size ? size : i + n, d);
        i += n;
    }
    tl_readpool_put(s->pool, rd);
    free(leaves);
    free(keys);
    return e;
}

/* Summarises the level-0 tiles in the background, so that proofs soon read 512 bytes
 * instead of whole tiles (about 1 s of one core per 10M entries; serving starts at once). */
static void *warm_main(void *arg)
{
    tl_seq *s = arg;
    pthread_mutex_lock(&s->mu);
    uint64_t size = s->pub_size;
    pthread_mutex_unlock(&s->mu);
    tl_diag d;
    tl_err e = tl_readpool_warm(s->pool, size, &d);
    (void)e; /* best effort: a failure only costs speed */
    return NULL;
}

/* The newest archived witnessed checkpoint, at start-up. */
static void keep_witnessed(void *ctx, uint64_t size, const char *first, size_t first_len,
                           const char *last, size_t last_len)
{
    (void)first, (void)first_len;
    tl_seq *s = ctx;
    char *c = malloc(last_len + 1);
    if (!c)
        return; /* served again after the next round */
    memcpy(c, last, last_len);
    c[last_len] = '\0';
    free(s->wit_note);
    s->wit_note = c;
    s->wit_len = last_len;
    s->wit_size = size;
}

tl_err tl_seq_open(tl_seq **out, const char *dir, const tl_seq_config *cfg, tl_diag *d)
{
    tl_seq *s = calloc(1, sizeof *s);
    if (!s)
        return tl_fail(d, TL_ERR_NOMEM, "sequencer");
    if (cfg)
        s->cfg = *cfg;
    else
        tl_seq_config_default(&s->cfg);
    if (s->cfg.max_batch == 0 || s->cfg.journal_limit == 0) {
        free(s);
        return tl_fail(d, TL_ERR_USAGE, "max batch and journal limit must be positive");
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv_in, NULL);
    pthread_cond_init(&s->cv_jq, NULL);
    pthread_cond_init(&s->cv_pub, NULL);
    s->st.healthy = true;
    s->st.writable = true;
    size_t nb = 1024;
    while (nb < 2 * (size_t)s->cfg.journal_limit)
        nb *= 2;
    s->pend = calloc(nb, sizeof *s->pend);
    s->pendl = calloc(nb, sizeof *s->pendl);
    s->pend_mask = nb - 1;
    tl_err e = s->pend && s->pendl ? TL_OK : tl_fail(d, TL_ERR_NOMEM, "pending set");
    if (e == TL_OK)
        e = tl_log_open(&s->log, dir, s->cfg.sys, d);
    if (e == TL_OK)
        e = tl_store_posix_open(&s->ro, dir, false, NULL, d);
    if (e == TL_OK)
        e = tl_readpool_new(&s->pool, s->ro, 0, d);
    char hpath[4096];
    if (e == TL_OK) {
        int k = snprintf(hpath, sizeof hpath, "%s/.treatylog/index.db", dir);
        e = k > 0 && (size_t)k < sizeof hpath ? tl_hashindex_open(&s->hx, hpath, d)
                                              : tl_fail(d, TL_ERR_TOOBIG, "path too long");
    }
    /* Recovery 1: entries durable in the journal but not integrated, in journal order. */
    tl_journal_rec *recs = NULL;
    size_t nrecs = 0;
    if (e == TL_OK)
        e = tl_journal_open(&s->jr, dir, s->cfg.sys, tl_log_size(s->log), &recs, &nrecs, d);
    for (size_t i = 0; i < nrecs && e == TL_OK; i++)
        e = tl_log_add(s->log, recs[i].entry, recs[i].len, NULL, d);
    if (e == TL_OK && nrecs > 0)
        e = tl_log_publish(s->log, d);
    if (e != TL_OK && nrecs > 0)
        e = tl_diag_prefix(d, e, "re-integrating %zu journaled entries", nrecs);
    /* Recovery 2: the hash index covers exactly the published log. */
    uint64_t size = e == TL_OK ? tl_log_size(s->log) : 0;
    if (e == TL_OK && tl_hashindex_covered(s->hx) > size)
        e = tl_hashindex_truncate(s->hx, size, d);
    if (e == TL_OK && tl_hashindex_covered(s->hx) < size)
        e = reindex(s, tl_hashindex_covered(s->hx), size, d);
    /* A fresh journal: everything in the old one is integrated now. */
    if (e == TL_OK && tl_journal_next_index(s->jr) != size && nrecs == 0 &&
        tl_journal_next_index(s->jr) < size)
        e = tl_journal_reset(s->jr, size, d);
    else if (e == TL_OK && tl_journal_next_index(s->jr) == size &&
             tl_journal_bytes(s->jr) > 16)
        e = tl_journal_reset(s->jr, size, d);
    if (e == TL_OK) {
        size_t ncp = 0;
        const char *cp = tl_log_checkpoint(s->log, &ncp);
        s->cp_note = malloc(ncp + 1);
        if (!s->cp_note) {
            e = tl_fail(d, TL_ERR_NOMEM, "checkpoint");
        } else {
            memcpy(s->cp_note, cp, ncp);
            s->cp_note[ncp] = '\0';
            s->cp_len = ncp;
            s->pub_size = size;
            s->st.size = size;
            snprintf(s->origin, sizeof s->origin, "%s", tl_log_origin(s->log));
        }
    }
    if (e == TL_OK)
        e = tl_hashindex_witnessed_latest(s->hx, keep_witnessed, s, d);
    if (e == TL_OK) {
        s->last_publish_ns = now_ns();
        if (pthread_create(&s->jt, NULL, journal_main, s) != 0) {
            e = tl_fail(d, TL_ERR_INTERNAL, "cannot start the journal thread");
        } else if (pthread_create(&s->it, NULL, integrate_main, s) != 0) {
            pthread_mutex_lock(&s->mu);
            s->stopping = true;
            pthread_cond_broadcast(&s->cv_in);
            pthread_mutex_unlock(&s->mu);
            pthread_join(s->jt, NULL);
            e = tl_fail(d, TL_ERR_INTERNAL, "cannot start the integration thread");
        } else {
            s->threads = true;
            s->warming = pthread_create(&s->wt, NULL, warm_main, s) == 0;
        }
    }
    if (e != TL_OK) {
        tl_seq_close(s);
        return e;
    }
    *out = s;
    return TL_OK;
}

/* Queues x (built by the caller) unless it duplicates a pending entry; frees x on error. */
static tl_err enqueue(tl_seq *s, sub *x, tl_diag *d)
{
    pthread_mutex_lock(&s->mu);
    s->st.submitted++;
    tl_err e = TL_OK;
    if (s->stopping)
        e = tl_fail(d, TL_ERR_IO, "the server is shutting down");
    else if (!s->st.healthy)
        e = tl_fail(d, TL_ERR_IO, "%s", s->st.last_error);
    sub *first = e == TL_OK ? pend_find(s, x->key) : NULL;
    if (first) {
        x->hnext = first->dups;
        first->dups = x;
        s->st.duplicates++;
    } else if (e == TL_OK) {
        if (s->in.n + s->jq.n + s->inflight >= s->cfg.journal_limit) {
            s->st.pushback++;
            e = tl_fail(d, TL_ERR_PUSHBACK,
                        "%zu entries are waiting to be integrated (limit %u): try again later",
                        s->in.n + s->jq.n + s->inflight, s->cfg.journal_limit);
        } else {
            push(&s->in, x);
            pend_add(s, x);
            s->st.accepted++;
            pthread_cond_signal(&s->cv_in);
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (e != TL_OK)
        free_sub(x);
    return e;
}

static sub *new_sub(const uint8_t *body, size_t len, bool wait, tl_answer_fn cb, void *ctx)
{
    sub *x = calloc(1, sizeof *x);
    if (x)
        x->body = malloc(len ? len : 1);
    if (!x || !x->body) {
        free(x);
        return NULL;
    }
    memcpy(x->body, body, len);
    x->len = len;
    x->wait = wait;
    x->cb = cb;
    x->ctx = ctx;
    x->t0_ns = now_ns();
    tl_leaf_hash(x->leaf, body, len);
    return x;
}

tl_err tl_seq_submit(tl_seq *s, const uint8_t *body, size_t len, bool wait, tl_answer_fn cb,
                     void *ctx, tl_diag *d)
{
    if (len > TL_ENTRY_MAX)
        return tl_fail(d, TL_ERR_TOOBIG, "entry of %zu bytes is over the %d-byte limit", len,
                       TL_ENTRY_MAX);
    if (s->cfg.validate) {
        tl_err e = s->cfg.validate(s->cfg.validate_ctx, body, len, d);
        if (e != TL_OK) {
            pthread_mutex_lock(&s->mu);
            s->st.rejected++;
            pthread_mutex_unlock(&s->mu);
            return e;
        }
    }
    sub *x = new_sub(body, len, wait, cb, ctx);
    if (!x)
        return tl_fail(d, TL_ERR_NOMEM, "submission");
    memcpy(x->key, x->leaf, TL_HASH_LEN);
    return enqueue(s, x, d);
}

tl_err tl_seq_submit_keyed(tl_seq *s, const uint8_t *entry, size_t len,
                           const uint8_t key[static TL_HASH_LEN], size_t head_len, bool wait,
                           tl_answer_fn cb, void *ctx, tl_diag *d)
{
    if (!s->cfg.split)
        return tl_fail(d, TL_ERR_USAGE, "keyed submission to a log not in keyed mode");
    if (len > TL_ENTRY_MAX)
        return tl_fail(d, TL_ERR_TOOBIG, "entry of %zu bytes is over the %d-byte limit", len,
                       TL_ENTRY_MAX);
    if (head_len > len)
        return tl_fail(d, TL_ERR_USAGE, "header longer than the entry");
    sub *x = new_sub(entry, len, wait, cb, ctx);
    if (!x)
        return tl_fail(d, TL_ERR_NOMEM, "submission");
    memcpy(x->key, key, TL_HASH_LEN);
    x->head_len = head_len;
    return enqueue(s, x, d);
}

tl_err tl_seq_lookup_leaf(tl_seq *s, const uint8_t leaf[static TL_HASH_LEN], uint64_t *index,
                          tl_diag *d)
{
    pthread_mutex_lock(&s->mu);
    bool pending = pend_find_leaf(s, leaf) != NULL;
    pthread_mutex_unlock(&s->mu);
    if (pending)
        return TL_ERR_PUSHBACK;
    return tl_hashindex_get(s->hx, leaf, index, d);
}

uint64_t tl_seq_size(tl_seq *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->pub_size;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void tl_seq_stop(tl_seq *s)
{
    if (!s || !s->threads)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cv_in);
    pthread_cond_broadcast(&s->cv_jq);
    pthread_cond_broadcast(&s->cv_pub);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->jt, NULL);
    pthread_join(s->it, NULL);
    s->threads = false;
}

void tl_seq_close(tl_seq *s)
{
    if (!s)
        return;
    tl_seq_stop(s);
    if (s->warming) {
        tl_readpool_stop_warm(s->pool);
        pthread_join(s->wt, NULL);
        s->warming = false;
    }
    tl_journal_close(s->jr);
    tl_hashindex_close(s->hx);
    tl_readpool_free(s->pool);
    if (s->ro)
        s->ro->ops->close(s->ro);
    tl_log_close(s->log);
    free(s->cp_note);
    free(s->pend);
    free(s->pendl);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv_in);
    pthread_cond_destroy(&s->cv_jq);
    pthread_cond_destroy(&s->cv_pub);
    free(s->wit_note);
    free(s);
}

/* ---- reads ---- */

tl_err tl_seq_checkpoint(tl_seq *s, char **note, size_t *len, uint64_t *size, tl_diag *d)
{
    return published(s, note, len, size, d);
}

const tl_vkey *tl_seq_log_key(const tl_seq *s)
{
    return tl_log_vkey(s->log);
}

tl_store *tl_seq_store(tl_seq *s)
{
    return s->ro;
}

/* The note of the published checkpoint of `size` (latest if 0 or equal). */
static tl_err note_for_size(tl_seq *s, uint64_t *size, char **note, size_t *len, tl_diag *d)
{
    uint64_t latest = 0;
    tl_err e = published(s, note, len, &latest, d);
    if (e != TL_OK || *size == 0 || *size == latest) {
        *size = latest;
        return e;
    }
    free(*note);
    *note = NULL;
    if (*size > latest)
        return tl_fail(d, TL_ERR_RANGE, "size %llu is larger than the log (%llu)",
                       (unsigned long long)*size, (unsigned long long)latest);
    char path[64];
    snprintf(path, sizeof path, "checkpoints/%llu", (unsigned long long)*size);
    uint8_t *buf = NULL;
    size_t n = 0;
    e = s->ro->ops->read(s->ro, path, &buf, &n, d);
    if (e == TL_ERR_NOTFOUND)
        return tl_fail(d, e, "the log published no checkpoint of size %llu",
                       (unsigned long long)*size);
    if (e != TL_OK)
        return e;
    char *c = realloc(buf, n + 1);
    if (!c) {
        free(buf);
        return tl_fail(d, TL_ERR_NOMEM, "checkpoint");
    }
    c[n] = '\0';
    *note = c;
    *len = n;
    return TL_OK;
}

tl_err tl_seq_proof_inclusion(tl_seq *s, uint64_t index, uint64_t size, char **body,
                              size_t *len, tl_diag *d)
{
    char *note = NULL;
    size_t nlen = 0;
    tl_err e = TL_OK;
    /* With witnessing on, "the latest" means the newest witnessed checkpoint that contains
     * the entry, so the proof satisfies a client's quorum policy. */
    if (size == 0) {
        pthread_mutex_lock(&s->mu);
        if (s->wit_note && index < s->wit_size) {
            note = malloc(s->wit_len + 1);
            if (note) {
                memcpy(note, s->wit_note, s->wit_len);
                note[s->wit_len] = '\0';
                nlen = s->wit_len;
                size = s->wit_size;
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
    if (!note)
        e = note_for_size(s, &size, &note, &nlen, d);
    if (e != TL_OK)
        return e;
    if (index >= size) {
        free(note);
        return tl_fail(d, TL_ERR_RANGE, "index %llu is not in a log of size %llu",
                       (unsigned long long)index, (unsigned long long)size);
    }
    uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN];
    size_t np = 0;
    e = tl_readpool_inclusion(s->pool, index, size, proof, &np, d);
    if (e == TL_OK)
        e = tl_tlog_proof_format(body, len, index, (const uint8_t(*)[TL_HASH_LEN])proof, np,
                                 NULL, 0, note, nlen, d);
    free(note);
    return e;
}

tl_err tl_seq_proof_consistency(tl_seq *s, uint64_t old, uint64_t size, char **body,
                                size_t *len, tl_diag *d)
{
    char *note = NULL;
    size_t nlen = 0;
    tl_err e = note_for_size(s, &size, &note, &nlen, d);
    free(note);
    if (e != TL_OK)
        return e;
    if (old > size)
        return tl_fail(d, TL_ERR_RANGE, "old size %llu is larger than size %llu",
                       (unsigned long long)old, (unsigned long long)size);
    uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN];
    size_t np = 0;
    e = tl_readpool_consistency(s->pool, old, size, proof, &np, d);
    if (e != TL_OK)
        return e;
    char *b = malloc(np * 45 + 1);
    if (!b)
        return tl_fail(d, TL_ERR_NOMEM, "proof");
    size_t at = 0;
    for (size_t i = 0; i < np; i++) {
        at += tl_b64_encode(b + at, proof[i], TL_HASH_LEN);
        b[at++] = '\n';
    }
    b[at] = '\0';
    *body = b;
    *len = at;
    return TL_OK;
}

tl_err tl_seq_proof_by_hash(tl_seq *s, const uint8_t leaf[static TL_HASH_LEN], char **body,
                            size_t *len, tl_diag *d)
{
    uint64_t idx = 0;
    tl_err e = tl_hashindex_get(s->hx, leaf, &idx, d);
    if (e == TL_ERR_NOTFOUND) {
        pthread_mutex_lock(&s->mu);
        bool pending = pend_find(s, leaf) != NULL;
        pthread_mutex_unlock(&s->mu);
        if (pending)
            return tl_fail(d, TL_ERR_PUSHBACK, "accepted, not yet integrated: try again shortly");
        return tl_fail(d, TL_ERR_NOTFOUND, "no entry with that leaf hash in the log");
    }
    if (e != TL_OK)
        return e;
    return tl_seq_proof_inclusion(s, idx, 0, body, len, d);
}

void tl_seq_stats_get(tl_seq *s, tl_seq_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    out->journal_depth = s->in.n + s->jq.n + s->inflight;
    pthread_mutex_unlock(&s->mu);
}

/* ---- witnessing ---- */

tl_err tl_seq_wait_published(tl_seq *s, uint64_t known_size, unsigned timeout_ms, char **note,
                             size_t *len, uint64_t *size, tl_diag *d)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000u);
    ts.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (s->pub_size <= known_size && !s->stopping) {
        if (pthread_cond_timedwait(&s->cv_pub, &s->mu, &ts) != 0)
            break;
    }
    pthread_mutex_unlock(&s->mu);
    return published(s, note, len, size, d);
}

tl_err tl_seq_set_witnessed(tl_seq *s, const char *note, size_t len, uint64_t size, tl_diag *d)
{
    tl_err e = tl_hashindex_put_witnessed(s->hx, size, note, len, d);
    if (e != TL_OK)
        return e;
    char *c = malloc(len + 1);
    if (!c)
        return tl_fail(d, TL_ERR_NOMEM, "witnessed checkpoint");
    memcpy(c, note, len);
    c[len] = '\0';
    pthread_mutex_lock(&s->mu);
    if (!s->wit_note || size >= s->wit_size) {
        free(s->wit_note);
        s->wit_note = c;
        s->wit_len = len;
        s->wit_size = size;
        c = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    free(c);
    if (s->cfg.witnessed)
        s->cfg.witnessed(s->cfg.witnessed_ctx, size, note, len);
    return TL_OK;
}

tl_err tl_seq_witnessed(tl_seq *s, char **note, size_t *len, uint64_t *size, tl_diag *d)
{
    pthread_mutex_lock(&s->mu);
    char *c = NULL;
    tl_err e = TL_OK;
    if (!s->wit_note) {
        e = tl_fail(d, TL_ERR_NOTFOUND, "no checkpoint has met the witness quorum yet");
    } else {
        c = malloc(s->wit_len + 1);
        if (!c) {
            e = tl_fail(d, TL_ERR_NOMEM, "witnessed checkpoint");
        } else {
            memcpy(c, s->wit_note, s->wit_len);
            c[s->wit_len] = '\0';
            *len = s->wit_len;
            *size = s->wit_size;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (e == TL_OK)
        *note = c;
    return e;
}

tl_err tl_seq_witnessed_list(tl_seq *s, uint64_t from, size_t max, tl_witnessed_fn cb,
                             void *ctx, tl_diag *d)
{
    return tl_hashindex_witnessed(s->hx, from, max, cb, ctx, d);
}

tl_err tl_seq_witnessed_bounds(tl_seq *s, uint64_t index, tl_witnessed_fn below,
                               tl_witnessed_fn above, void *ctx, tl_diag *d)
{
    tl_err e = tl_hashindex_witnessed_below(s->hx, index, below, ctx, d);
    if (e == TL_OK)
        e = tl_hashindex_witnessed(s->hx, index + 1, 1, above, ctx, d);
    return e;
}
