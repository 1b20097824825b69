/* treaty.c - treaty mode: submission checks, entry wrapping, the query index kept current
 * (treaty.h).
 *
 * Submissions accepted but not yet in the query index are "pending": a small hash table keyed
 * three ways (entry leaf for refs, submission key for duplicates, (party, serial) for replays).
 * A record leaves the table only after its entry is in the query index, and `gen` counts those
 * departures, so a check that looked in the index before taking the lock can tell whether it
 * must look again.
 *
 * A notification's record also carries what the submission check established (its parsed
 * notification, the keys its signature was verified with and the outcome: a "hand-over"), and
 * the integration hook gives it to tl_qindex_put_known for the entry with that leaf hash, so
 * an entry accepted here is neither parsed nor verified a second time. Entries the index
 * takes from the log (catch-up after a restart, `treatylog reindex`) are verified there.
 * At most HANDOVER_MAX records hold one (a lagging index must not hold the whole journal's
 * documents in memory); past that the index simply verifies.
 */
#include "treatylog/treaty.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "treatylog/clock.h"
#include "treatylog/entry.h"
#include "treatylog/log.h"
#include "treatylog/note.h"
#include "treatylog/notification.h"
#include "treatylog/store.h"
#include "treatylog/text.h"
#include "treatylog/tile.h"

#define NBUCKETS     4096 /* pending table buckets (a power of two) */
#define HANDOVER_MAX 8192 /* pending records holding a hand-over, at most */

/* What the submission check of a notification established, for the query index. */
typedef struct handover {
    tl_qindex_known k; /* points into this struct */
    tl_notification n;
    tl_vkey keys[TL_REGISTRY_KEYS_MAX];
    tl_sigcheck res[TL_REGISTRY_KEYS_MAX];
} handover;

typedef struct pend {
    struct pend *by_leaf, *by_key, *by_serial; /* bucket chains */
    uint8_t leaf[TL_HASH_LEN];
    uint8_t key[TL_HASH_LEN];
    char party[TL_PARTY_LEN + 1]; /* "" for a registry document */
    uint64_t serial;
    char type[TL_QINDEX_TYPE_MAX + 1];
    handover *ho; /* NULL: none (a registry document, or over HANDOVER_MAX) */
    bool claimed; /* found by `integrated` for the batch it is releasing */
} pend;

static void pend_free(pend *p)
{
    if (p && p->ho) {
        tl_notification_free(&p->ho->n);
        free(p->ho);
    }
    free(p);
}

struct tl_treaty {
    const tl_schemas *schemas;
    tl_vkey op_key; /* the log's key: signs registry documents */
    tl_store *st;   /* read-only view of the log (catch-up, registry replay) */
    tl_reader *rd;
    tl_qindex *qx;
    tl_seq *seq;
    pthread_mutex_t qmu; /* orders query-index writes (hook vs. catch-up) */
    pthread_mutex_t mu;  /* registry, pending table, logged clock, stats */
    tl_registry *reg;    /* head: everything accepted */
    uint64_t reg_seq;    /* pseudo-index for applying accepted registry changes */
    uint64_t last_logged;
    uint64_t gen;
    size_t nho;       /* pending records holding a hand-over */
    uint64_t reg_from; /* t->reg holds the registry entries below this index (and the accepted) */
    uint64_t sync_to;  /* the log size when the sequencer was attached (its recovery included) */
    atomic_bool behind; /* the index or registry is not yet up to sync_to: refuse submissions */
    pend *by_leaf[NBUCKETS], *by_key[NBUCKETS], *by_serial[NBUCKETS];
    tl_treaty_stats st_;
    const tl_clock *clock; /* NULL: the real clock */
    tl_integrated_fn next; /* called after the query index took a batch */
    void *next_ctx;
};

/* ---- pending table (caller holds mu) ---- */

static size_t hb(const uint8_t h[TL_HASH_LEN])
{
    uint32_t k = 0;
    memcpy(&k, h, sizeof k);
    return k & (NBUCKETS - 1);
}

static size_t sb(const char *party, uint64_t serial)
{
    uint64_t k = ((uint64_t)(unsigned char)party[0] << 8 | (unsigned char)party[1]) ^
                 (serial * 0x9E3779B97F4A7C15ull);
    return (size_t)(k >> 40) & (NBUCKETS - 1);
}

static pend *find_leaf(tl_treaty *t, const uint8_t leaf[TL_HASH_LEN])
{
    for (pend *p = t->by_leaf[hb(leaf)]; p; p = p->by_leaf)
        if (memcmp(p->leaf, leaf, TL_HASH_LEN) == 0)
            return p;
    return NULL;
}

static pend *find_key(tl_treaty *t, const uint8_t key[TL_HASH_LEN])
{
    for (pend *p = t->by_key[hb(key)]; p; p = p->by_key)
        if (memcmp(p->key, key, TL_HASH_LEN) == 0)
            return p;
    return NULL;
}

static pend *find_serial(tl_treaty *t, const char *party, uint64_t serial)
{
    for (pend *p = t->by_serial[sb(party, serial)]; p; p = p->by_serial)
        if (p->serial == serial && memcmp(p->party, party, TL_PARTY_LEN) == 0)
            return p;
    return NULL;
}

static void pend_add(tl_treaty *t, pend *p)
{
    size_t b = hb(p->leaf);
    p->by_leaf = t->by_leaf[b];
    t->by_leaf[b] = p;
    b = hb(p->key);
    p->by_key = t->by_key[b];
    t->by_key[b] = p;
    if (p->party[0]) {
        b = sb(p->party, p->serial);
        p->by_serial = t->by_serial[b];
        t->by_serial[b] = p;
    }
}

static void pend_unlink(tl_treaty *t, pend *p)
{
    for (pend **pp = &t->by_leaf[hb(p->leaf)]; *pp; pp = &(*pp)->by_leaf)
        if (*pp == p) {
            *pp = p->by_leaf;
            break;
        }
    for (pend **pp = &t->by_key[hb(p->key)]; *pp; pp = &(*pp)->by_key)
        if (*pp == p) {
            *pp = p->by_key;
            break;
        }
    if (p->party[0]) {
        for (pend **pp = &t->by_serial[sb(p->party, p->serial)]; *pp; pp = &(*pp)->by_serial)
            if (*pp == p) {
                *pp = p->by_serial;
                break;
            }
    }
}

/* ---- split, catch-up ---- */

bool tl_treaty_split(const uint8_t *entry, size_t len, uint8_t key[TL_HASH_LEN], size_t *head_len)
{
    uint64_t logged = 0;
    const uint8_t *sub = NULL;
    size_t sublen = 0;
    if (tl_entry_parse(entry, len, &logged, &sub, &sublen, NULL) != TL_OK)
        return false;
    tl_submission_key(key, sub, sublen);
    *head_len = (size_t)(sub - entry);
    return true;
}

/* Indexes entries [covered, to) read from the log. Caller holds qmu. */
static tl_err catch_up(tl_treaty *t, uint64_t to, tl_diag *d)
{
    enum { CHUNK = 256 };
    uint8_t *ents[CHUNK];
    size_t lens[CHUNK];
    tl_reader_set_size(t->rd, to);
    tl_err e = TL_OK;
    while (e == TL_OK && tl_qindex_covered(t->qx) < to) {
        uint64_t first = tl_qindex_covered(t->qx);
        size_t n = 0;
        for (; n < CHUNK && first + n < to && e == TL_OK; n++) {
            e = tl_reader_entry(t->rd, first + n, &ents[n], &lens[n], d);
            if (e != TL_OK)
                break;
        }
        if (e == TL_OK)
            e = tl_qindex_put(t->qx, first, (const uint8_t *const *)ents, lens, n, &t->op_key,
                              t->schemas, d);
        for (size_t i = 0; i < n; i++)
            free(ents[i]);
    }
    return e;
}

/* Forgets the pending records of entries now in the query index: recs[0..n) (NULL ones are
 * skipped), as found by `integrated`. Only the integration thread (and close) frees records,
 * so the pointers it found are still valid here. */
static void release(tl_treaty *t, pend *const *recs, size_t n)
{
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < n; i++) {
        pend *p = recs[i];
        if (p) {
            pend_unlink(t, p);
            if (p->ho)
                t->nho--;
        }
    }
    t->gen++;
    pthread_mutex_unlock(&t->mu);
    for (size_t i = 0; i < n; i++)
        pend_free(recs[i]);
}

/* The sequencer's integration hook: the query index follows the log. */
static void integrated(void *ctx, uint64_t first, const uint8_t *const *entries, const size_t *lens,
                       size_t n)
{
    tl_treaty *t = ctx;
    tl_diag d;
    /* The pending records of these entries, by the leaf hash of each entry itself: their
     * hand-overs apply to exactly that entry (and the index checks the leaf again). */
    pend **recs = calloc(n ? n : 1, sizeof *recs);
    const tl_qindex_known **known = calloc(n ? n : 1, sizeof *known);
    if (recs && known) {
        uint8_t(*leaves)[TL_HASH_LEN] = malloc((n ? n : 1) * sizeof *leaves);
        if (leaves) {
            for (size_t i = 0; i < n; i++)
                tl_leaf_hash(leaves[i], entries[i], lens[i]);
            pthread_mutex_lock(&t->mu);
            for (size_t i = 0; i < n; i++) {
                recs[i] = find_leaf(t, leaves[i]);
                if (recs[i] && recs[i]->claimed)
                    recs[i] = NULL; /* the same entry twice in a batch: released once */
                else if (recs[i])
                    recs[i]->claimed = true;
                known[i] = recs[i] && recs[i]->ho ? &recs[i]->ho->k : NULL;
            }
            pthread_mutex_unlock(&t->mu);
            free(leaves);
        } else {
            free(recs);
            recs = NULL;
        }
    }
    pthread_mutex_lock(&t->qmu);
    tl_err e = TL_OK;
    if (!recs || !known)
        e = tl_fail(&d, TL_ERR_NOMEM, "integration of %zu entries", n);
    if (e == TL_OK && tl_qindex_covered(t->qx) < first)
        e = catch_up(t, first, &d);
    if (e == TL_OK)
        e = tl_qindex_put_known(t->qx, first, entries, lens, known, n, &t->op_key, t->schemas,
                                &d);
    pthread_mutex_unlock(&t->qmu);
    free(known);
    if (e != TL_OK) {
        /* The index lags (e.g. disk full); the next batch or restart catches up from the log.
         * Keep the pending records: they still answer refs and serial checks. */
        fprintf(stderr, "treatylog: query index: %s\n", d.msg);
        if (recs) {
            pthread_mutex_lock(&t->mu);
            for (size_t i = 0; i < n; i++)
                if (recs[i])
                    recs[i]->claimed = false;
            pthread_mutex_unlock(&t->mu);
        }
        free(recs);
        return;
    }
    release(t, recs, n);
    free(recs);
    if (t->next)
        t->next(t->next_ctx, first, entries, lens, n);
}

void tl_treaty_chain(tl_treaty *t, tl_integrated_fn next, void *ctx)
{
    t->next = next;
    t->next_ctx = ctx;
}

/* ---- open, close ---- */

/* The log's key, from its directory (the store reads the private area too). */
static tl_err read_vkey(tl_store *st, tl_vkey *k, tl_diag *d)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    tl_err e = st->ops->read(st, ".treatylog/log.vkey", &buf, &len, d);
    while (e == TL_OK && len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        len--;
    if (e == TL_OK)
        e = tl_vkey_parse(k, (const char *)buf, len, d);
    free(buf);
    return e;
}

/* Applies one logged registry entry to r. */
static tl_err apply_entry(tl_registry *r, const uint8_t *ent, size_t elen, const tl_vkey *op,
                          uint64_t index, tl_diag *d)
{
    uint64_t logged = 0;
    const uint8_t *sub = NULL;
    size_t sublen = 0;
    tl_err e = tl_entry_parse(ent, elen, &logged, &sub, &sublen, d);
    if (e == TL_OK)
        e = tl_registry_apply(r, (const char *)sub, sublen, op, index, d);
    return e;
}

typedef struct replay_ctx {
    tl_treaty *t;
    tl_err e;
    tl_diag *d;
    uint64_t from, to; /* the registry entries to apply: [from, to) */
} replay_ctx;

static bool replay_one(void *ctx, uint64_t index)
{
    replay_ctx *c = ctx;
    if (index < c->from)
        return true;
    if (index >= c->to)
        return false;
    uint8_t *ent = NULL;
    size_t elen = 0;
    c->e = tl_reader_entry(c->t->rd, index, &ent, &elen, c->d);
    if (c->e == TL_OK) {
        c->e = apply_entry(c->t->reg, ent, elen, &c->t->op_key, index, c->d);
        if (c->e != TL_OK)
            tl_diag_prefix(c->d, c->e, "registry entry %llu", (unsigned long long)index);
    }
    free(ent);
    if (c->e == TL_OK) {
        c->t->reg_seq = index;
        c->t->reg_from = index + 1;
    }
    return c->e == TL_OK;
}

/* Brings the query index and the registry up to t->sync_to: the entries the sequencer's
 * recovery integrated from its journal (acknowledged before a crash, published when it
 * reopened) reach neither the integration hook nor the pending table, yet their serials and
 * registry changes are in force. Caller holds no lock. */
static tl_err resync(tl_treaty *t, tl_diag *d)
{
    pthread_mutex_lock(&t->qmu);
    tl_err e = TL_OK;
    if (tl_qindex_covered(t->qx) < t->sync_to)
        e = catch_up(t, t->sync_to, d);
    if (e == TL_OK) {
        pthread_mutex_lock(&t->mu);
        if (t->reg_from < t->sync_to) {
            replay_ctx c = {t, TL_OK, d, t->reg_from, t->sync_to};
            e = tl_qindex_registry_entries(t->qx, replay_one, &c, d);
            if (e == TL_OK)
                e = c.e;
            if (e == TL_OK)
                t->reg_from = t->sync_to;
        }
        if (e == TL_OK && t->sync_to > 0) { /* logged never decreases, across restarts too */
            uint8_t *ent = NULL;
            size_t elen = 0;
            uint64_t logged = 0;
            const uint8_t *sub = NULL;
            size_t sublen = 0;
            if (tl_reader_entry(t->rd, t->sync_to - 1, &ent, &elen, NULL) == TL_OK &&
                tl_entry_parse(ent, elen, &logged, &sub, &sublen, NULL) == TL_OK &&
                logged > t->last_logged)
                t->last_logged = logged;
            free(ent);
        }
        pthread_mutex_unlock(&t->mu);
    }
    atomic_store(&t->behind, e != TL_OK);
    pthread_mutex_unlock(&t->qmu);
    return e;
}

bool tl_treaty_is_treaty_log(const char *dir)
{
    tl_store *st = NULL;
    tl_reader *rd = NULL;
    tl_vkey k;
    tl_checkpoint cp;
    bool yes = false;
    if (tl_store_posix_open(&st, dir, false, NULL, NULL) != TL_OK)
        return false;
    if (read_vkey(st, &k, NULL) == TL_OK &&
        tl_read_checkpoint(st, &k, &cp, NULL, NULL, NULL) == TL_OK && cp.size > 0 &&
        tl_reader_new(&rd, st, cp.size, NULL) == TL_OK) {
        uint8_t *ent = NULL;
        size_t elen = 0;
        uint64_t logged = 0;
        const uint8_t *sub = NULL;
        size_t sublen = 0;
        if (tl_reader_entry(rd, 0, &ent, &elen, NULL) == TL_OK &&
            tl_entry_parse(ent, elen, &logged, &sub, &sublen, NULL) == TL_OK)
            yes = sublen >= TL_REGISTRY_HEADER_LEN &&
                  memcmp(sub, TL_REGISTRY_HEADER, TL_REGISTRY_HEADER_LEN) == 0;
        free(ent);
        tl_reader_free(rd);
    }
    st->ops->close(st);
    return yes;
}

tl_err tl_treaty_open(tl_treaty **out, const char *dir, const tl_schemas *schemas, tl_diag *d)
{
    tl_treaty *t = calloc(1, sizeof *t);
    if (!t)
        return tl_fail(d, TL_ERR_NOMEM, "treaty");
    t->schemas = schemas;
    pthread_mutex_init(&t->mu, NULL);
    pthread_mutex_init(&t->qmu, NULL);
    t->reg = tl_registry_new();
    tl_err e = t->reg ? TL_OK : tl_fail(d, TL_ERR_NOMEM, "registry");
    tl_checkpoint cp;
    if (e == TL_OK)
        e = tl_store_posix_open(&t->st, dir, false, NULL, d);
    if (e == TL_OK)
        e = read_vkey(t->st, &t->op_key, d);
    if (e == TL_OK)
        e = tl_read_checkpoint(t->st, &t->op_key, &cp, NULL, NULL, d);
    if (e == TL_OK)
        e = tl_reader_new(&t->rd, t->st, cp.size, d);
    char path[4096];
    snprintf(path, sizeof path, "%s/.treatylog/query.db", dir);
    if (e == TL_OK)
        e = tl_qindex_open(&t->qx, path, false, d);
    if (e == TL_OK && tl_qindex_covered(t->qx) > cp.size)
        e = tl_fail(d, TL_ERR_CONFLICT,
                    "the query index covers %llu entries but the log has %llu: remove %s and "
                    "restart (or run `treatylog reindex`)",
                    (unsigned long long)tl_qindex_covered(t->qx), (unsigned long long)cp.size,
                    path);
    if (e == TL_OK)
        e = catch_up(t, cp.size, d);
    if (e == TL_OK) {
        replay_ctx c = {t, TL_OK, d, 0, UINT64_MAX};
        e = tl_qindex_registry_entries(t->qx, replay_one, &c, d);
        if (e == TL_OK)
            e = c.e;
        t->reg_from = cp.size;
        t->sync_to = cp.size;
    }
    if (e == TL_OK) { /* the submissions' serial checks answer from memory */
        tl_diag sd;
        if (tl_qindex_serials_load(t->qx, &sd) != TL_OK)
            fprintf(stderr, "treatylog: query index: %s (serial checks read the index)\n", sd.msg);
    }
    if (e == TL_OK && cp.size > 0) { /* logged never decreases, across restarts too */
        uint8_t *ent = NULL;
        size_t elen = 0;
        uint64_t logged = 0;
        const uint8_t *sub = NULL;
        size_t sublen = 0;
        if (tl_reader_entry(t->rd, cp.size - 1, &ent, &elen, NULL) == TL_OK &&
            tl_entry_parse(ent, elen, &logged, &sub, &sublen, NULL) == TL_OK)
            t->last_logged = logged;
        free(ent);
    }
    if (e == TL_OK && !t->reg->genesis)
        e = tl_fail(d, TL_ERR_FORMAT, "the log has no genesis registry: not a treaty log");
    if (e != TL_OK) {
        tl_diag_prefix(d, e, "treaty mode");
        tl_treaty_close(t);
        return e;
    }
    *out = t;
    return TL_OK;
}

void tl_treaty_seq_config(tl_treaty *t, tl_seq_config *cfg)
{
    cfg->split = tl_treaty_split;
    cfg->integrated = integrated;
    cfg->integrated_ctx = t;
    cfg->validate = NULL;
}

void tl_treaty_attach(tl_treaty *t, tl_seq *s)
{
    t->seq = s;
    pthread_mutex_lock(&t->qmu);
    t->sync_to = tl_seq_size(s);
    bool behind = t->sync_to > tl_qindex_covered(t->qx);
    pthread_mutex_unlock(&t->qmu);
    pthread_mutex_lock(&t->mu);
    behind = behind || t->sync_to > t->reg_from;
    pthread_mutex_unlock(&t->mu);
    tl_diag d;
    if (behind && resync(t, &d) != TL_OK)
        fprintf(stderr,
                "treatylog: treaty mode: %s (submissions are refused until the query index "
                "catches up with the log)\n",
                d.msg);
}

tl_qindex *tl_treaty_qindex(tl_treaty *t)
{
    return t->qx;
}

tl_registry *tl_treaty_registry(tl_treaty *t)
{
    pthread_mutex_lock(&t->mu);
    tl_registry *r = tl_registry_clone(t->reg);
    pthread_mutex_unlock(&t->mu);
    return r;
}

void tl_treaty_stats_get(tl_treaty *t, tl_treaty_stats *out)
{
    pthread_mutex_lock(&t->mu);
    *out = t->st_;
    pthread_mutex_unlock(&t->mu);
}

void tl_treaty_close(tl_treaty *t)
{
    if (!t)
        return;
    for (size_t b = 0; b < NBUCKETS; b++) {
        for (pend *p = t->by_leaf[b], *q; p; p = q) {
            q = p->by_leaf;
            pend_free(p);
        }
    }
    tl_qindex_close(t->qx);
    tl_reader_free(t->rd);
    if (t->st)
        t->st->ops->close(t->st);
    tl_registry_free(t->reg);
    pthread_mutex_destroy(&t->mu);
    pthread_mutex_destroy(&t->qmu);
    free(t);
}

/* ---- submissions ---- */

void tl_treaty_set_clock(tl_treaty *t, const tl_clock *c)
{
    t->clock = c;
}

static void b64_of(char out[static 45], const uint8_t h[TL_HASH_LEN])
{
    tl_b64_encode(out, h, TL_HASH_LEN);
    out[44] = '\0';
}

/* Checks a notification's sender, role and refs (not its serial). Holds no lock but reads the
 * registry under mu. */
static tl_err check_notification(tl_treaty *t, const tl_note *note, const tl_notification *n,
                                 handover *ho, tl_diag *d)
{
    pthread_mutex_lock(&t->mu);
    size_t nkeys = 0;
    const tl_vkey *keys = tl_registry_party_keys(t->reg, n->from, &nkeys);
    tl_err e = TL_OK;
    if (!keys) {
        e = tl_fail(d, TL_ERR_SIGNATURE, "from: %s is not a registered party", n->from);
    } else {
        tl_vkey mine[TL_REGISTRY_KEYS_MAX];
        memcpy(mine, keys, nkeys * sizeof *keys);
        const tl_msgtype *mt = tl_schemas_find(t->schemas, n->type);
        const char *role = mt ? mt->from_role : NULL;
        bool has_role = !role || tl_registry_has_role(t->reg, n->from, role);
        pthread_mutex_unlock(&t->mu);
        tl_diag vd;
        tl_sigcheck res[TL_REGISTRY_KEYS_MAX];
        if (tl_note_verify(note, mine, nkeys, res, &vd) != TL_OK)
            return tl_fail(d, TL_ERR_SIGNATURE, "signature: not signed by a current key of %s (%s)",
                           n->from, vd.msg);
        if (ho) { /* what the query index may take instead of verifying again */
            memcpy(ho->keys, mine, nkeys * sizeof *mine);
            memcpy(ho->res, res, nkeys * sizeof *res);
            ho->k.nkeys = nkeys;
            memcpy(ho->k.party, n->from, sizeof ho->k.party);
        }
        if (!has_role)
            return tl_fail(d, TL_ERR_SIGNATURE,
                           "from: %s does not hold the registry role "
                           "\"%s\" that %s requires",
                           n->from, role, n->type);
        /* refs: each an earlier entry, of a permitted type */
        for (size_t i = 0; i < n->nrefs; i++) {
            char type[TL_QINDEX_TYPE_MAX + 1] = "";
            bool found = false;
            pthread_mutex_lock(&t->mu);
            pend *p = find_leaf(t, n->refs[i]);
            if (p) {
                found = true;
                snprintf(type, sizeof type, "%s", p->type);
            }
            pthread_mutex_unlock(&t->mu);
            uint64_t idx = 0;
            if (!found) {
                tl_diag qd;
                tl_err qe = tl_qindex_leaf_type(t->qx, n->refs[i], &idx, type, &qd);
                if (qe == TL_OK)
                    found = true;
                else if (qe != TL_ERR_NOTFOUND)
                    return tl_fail(d, TL_ERR_IO, "refs[%zu]: %s", i, qd.msg);
            }
            char b64[45];
            b64_of(b64, n->refs[i]);
            if (!found)
                return tl_fail(d, TL_ERR_CONFLICT,
                               "refs[%zu]: no entry with leaf hash %s in the log", i, b64);
            if (mt && mt->nref_types > 0) {
                bool ok = false;
                for (size_t k = 0; k < mt->nref_types && !ok; k++)
                    ok = strcmp(type, mt->ref_types[k]) == 0;
                if (!ok)
                    return tl_fail(d, TL_ERR_CONFLICT,
                                   "refs[%zu]: entry %s is a %s, which a %s may not reference", i,
                                   b64, type[0] ? type : "raw entry", n->type);
            }
        }
        return TL_OK;
    }
    pthread_mutex_unlock(&t->mu);
    return e;
}

/* Looks the serial up in the query index: *used and the key that used it. */
static tl_err serial_lookup(tl_treaty *t, const char *party, uint64_t serial, bool *used,
                            uint8_t key[TL_HASH_LEN], tl_diag *d)
{
    tl_diag qd;
    tl_err e = tl_qindex_serial_used(t->qx, party, serial, key, &qd);
    *used = e == TL_OK;
    if (e == TL_OK || e == TL_ERR_NOTFOUND)
        return TL_OK;
    return tl_fail(d, TL_ERR_IO, "serial lookup: %s", qd.msg);
}

tl_err tl_treaty_submit(tl_treaty *t, const uint8_t *body, size_t len, bool wait, tl_answer_fn cb,
                        void *ctx, tl_diag *d)
{
    if (len == 0)
        return tl_fail(d, TL_ERR_FORMAT, "empty submission");
    if (len + TL_ENTRY_HEAD_MAX > TL_ENTRY_MAX)
        return tl_fail(d, TL_ERR_TOOBIG,
                       "submission of %zu bytes is over the %d-byte limit (less the entry header)",
                       len, TL_ENTRY_MAX - TL_ENTRY_HEAD_MAX);
    if (atomic_load(&t->behind) && resync(t, d) != TL_OK)
        return tl_diag_prefix(d, TL_ERR_IO, "treaty mode: catching up with the log");
    tl_note note;
    tl_err e = tl_note_parse(&note, (const char *)body, len, d);
    if (e != TL_OK) {
        tl_diag_prefix(d, TL_ERR_FORMAT, "submission is not a signed note");
        e = TL_ERR_FORMAT;
        goto refused;
    }
    bool is_reg = note.text_len >= TL_REGISTRY_HEADER_LEN &&
                  memcmp(note.text, TL_REGISTRY_HEADER, TL_REGISTRY_HEADER_LEN) == 0;
    tl_notification n;
    memset(&n, 0, sizeof n);
    uint8_t key[TL_HASH_LEN];
    tl_submission_key(key, body, len);
    pend *rec = calloc(1, sizeof *rec);
    if (!rec)
        return tl_fail(d, TL_ERR_NOMEM, "submission");
    /* Out of memory for a hand-over only means the index verifies again. */
    handover *ho = is_reg ? NULL : calloc(1, sizeof *ho);
    memcpy(rec->key, key, TL_HASH_LEN);
    bool dup = false;
    uint8_t used_key[TL_HASH_LEN];
    bool used = false;
    uint64_t gen0 = 0;
    if (!is_reg) {
        e = tl_notification_parse(&n, t->schemas, note.text, note.text_len, d);
        if (e == TL_ERR_TOOBIG || e == TL_ERR_FORMAT)
            e = TL_ERR_FORMAT;
        if (e == TL_OK)
            e = check_notification(t, &note, &n, ho, d);
        if (e == TL_OK) {
            memcpy(rec->party, n.from, TL_PARTY_LEN + 1);
            rec->serial = n.serial;
            snprintf(rec->type, sizeof rec->type, "%s", n.type);
            pthread_mutex_lock(&t->mu);
            gen0 = t->gen;
            pthread_mutex_unlock(&t->mu);
            e = serial_lookup(t, n.from, n.serial, &used, used_key, d);
        }
    } else {
        e = tl_registry_check_text(note.text, note.text_len, d);
        snprintf(rec->type, sizeof rec->type, "registry");
    }
    if (e != TL_OK) {
        tl_notification_free(&n);
        free(rec);
        free(ho);
        goto refused;
    }

    /* Under the lock: serial reservation or registry change, logged time, submission. */
    pthread_mutex_lock(&t->mu);
    tl_registry *undo = NULL;
    if (!is_reg) {
        if (t->gen != gen0) /* an entry moved from pending to the index meanwhile: look again */
            e = serial_lookup(t, n.from, n.serial, &used, used_key, d);
        pend *other = e == TL_OK ? find_serial(t, n.from, n.serial) : NULL;
        if (other) {
            used = true;
            memcpy(used_key, other->key, TL_HASH_LEN);
        }
        if (e == TL_OK && used) {
            if (memcmp(used_key, key, TL_HASH_LEN) == 0)
                dup = true; /* the same bytes again: the sequencer answers with the first */
            else
                e = tl_fail(d, TL_ERR_CONFLICT,
                            "serial: %s has already used serial %llu (a replayed or reused "
                            "serial; the next is yours to choose, without gaps)",
                            n.from, (unsigned long long)n.serial);
        }
    } else {
        uint64_t idx = 0;
        tl_diag ld;
        if (find_key(t, key) || (t->seq && tl_seq_lookup_leaf(t->seq, key, &idx, &ld) == TL_OK)) {
            dup = true;
        } else {
            undo = tl_registry_clone(t->reg);
            if (!undo)
                e = tl_fail(d, TL_ERR_NOMEM, "registry");
            else
                e = tl_registry_apply(t->reg, (const char *)body, len, &t->op_key, t->reg_seq + 1,
                                      d);
            if (e == TL_OK) {
                t->reg_seq++;
            } else { /* apply is atomic: nothing to undo */
                tl_registry_free(undo);
                undo = NULL;
            }
        }
    }
    uint8_t *entry = NULL;
    size_t elen = 0, hlen = 0;
    if (e == TL_OK) {
        uint64_t now = (uint64_t)tl_clock_now_ms(t->clock);
        if (now < t->last_logged)
            now = t->last_logged; /* logged never decreases along the log */
        char head[TL_ENTRY_HEAD_MAX];
        hlen = tl_entry_head(head, now);
        elen = hlen + len;
        entry = malloc(elen);
        if (!entry) {
            e = tl_fail(d, TL_ERR_NOMEM, "entry");
        } else {
            memcpy(entry, head, hlen);
            memcpy(entry + hlen, body, len);
            tl_leaf_hash(rec->leaf, entry, elen);
            e = t->seq ? tl_seq_submit_keyed(t->seq, entry, elen, key, hlen, wait, cb, ctx, d)
                       : tl_fail(d, TL_ERR_USAGE, "treaty mode has no sequencer");
            if (e == TL_OK) {
                t->last_logged = now;
                t->st_.accepted++;
                if (!dup) {
                    if (ho && ho->k.nkeys > 0 && t->nho < HANDOVER_MAX) {
                        ho->n = n; /* moved: the record owns it now */
                        memset(&n, 0, sizeof n);
                        ho->k.n = &ho->n;
                        ho->k.keys = ho->keys;
                        ho->k.results = ho->res;
                        memcpy(ho->k.leaf, rec->leaf, TL_HASH_LEN);
                        rec->ho = ho;
                        ho = NULL;
                        t->nho++;
                    }
                    pend_add(t, rec);
                    rec = NULL;
                }
            }
        }
    }
    if (e != TL_OK && undo) { /* not logged: the registry change never happened */
        tl_registry_free(t->reg);
        t->reg = undo;
        undo = NULL;
        t->reg_seq--;
    }
    pthread_mutex_unlock(&t->mu);
    tl_registry_free(undo);
    free(entry);
    free(rec);
    free(ho);
    tl_notification_free(&n);
    if (e == TL_OK || e == TL_ERR_PUSHBACK || e == TL_ERR_IO || e == TL_ERR_NOMEM ||
        e == TL_ERR_TOOBIG)
        return e;
refused:
    pthread_mutex_lock(&t->mu);
    if (e == TL_ERR_FORMAT)
        t->st_.refused_format++;
    else if (e == TL_ERR_SIGNATURE)
        t->st_.refused_signature++;
    else if (e == TL_ERR_CONFLICT)
        t->st_.refused_conflict++;
    pthread_mutex_unlock(&t->mu);
    return e;
}
