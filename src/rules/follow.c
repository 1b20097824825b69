/* follow.c - a rules engine fed from a treaty log (follow.h).
 *
 * Each entry goes through two stages. Decoding (the entry header, the signed note, the
 * notification against the schemas, its leaf hash and, with verify on, its signatures) reads
 * only the entry and read-only state; feeding (registry documents, the engine) must happen in
 * log order. For a call with many entries, decoding runs on two threads, the follower's
 * worker and the caller's, in batches claimed in order, while the caller feeds the engine
 * batch by batch in log order: the engine sees exactly the calls it would see one entry at a
 * time, so the findings are the same, byte for byte.
 *
 * Signatures are checked against a copy of the registry as of the first entry of the call
 * (vreg, generation vgen). A registry entry inside the call moves the generation on; the
 * notifications after it are then checked again, in order, against the registry itself.
 */
#include "treatylog/follow.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "treatylog/checkpoint.h"
#include "treatylog/entry.h"
#include "treatylog/note.h"
#include "treatylog/notification.h"
#include "treatylog/registry.h"

typedef struct pending_wit {
    uint64_t size;
    int64_t time;
    char *note; /* malloc'd copy */
    size_t len;
} pending_wit;

struct tl_follow {
    pthread_mutex_t mu;
    const tl_schemas *schemas;
    const tl_vkey *op_key;
    const tl_policy *policy;
    tl_engine *eng;
    tl_registry *reg;
    uint64_t size;  /* entries fed */
    uint64_t wsize; /* largest witnessed size applied */
    int64_t wtime;  /* its latest witness time */
    bool wapplied;  /* a witnessed checkpoint was applied */
    char *wnote;    /* the note applied last (malloc'd) */
    size_t wlen;
    pending_wit *wq; /* witnessed checkpoints past the entries fed, ascending */
    size_t nwq, capwq;
    bool verify;    /* check the sender's signature on each notification */
    uint64_t *regs; /* registry entry indexes */
    size_t nregs, capregs;
    uint64_t gen;      /* registry documents applied so far */
    tl_registry *vreg; /* a copy of reg as of generation vgen (for the decoders), or NULL */
    uint64_t vgen;
    /* The decoding worker (started by the first call with PAR_MIN entries or more). */
    pthread_t th;
    bool th_started;
    pthread_mutex_t jmu;
    pthread_cond_t jcv; /* a job was posted, or quit */
    pthread_cond_t dcv; /* a batch was decoded, or the worker left a job */
    struct job *job;    /* posted, not yet taken */
    bool quit;
    unsigned backoff;    /* calls left to decode on the caller's thread only (see feed) */
    struct dslot *slots; /* the decoded entries of a call, kept between calls: a large */
    atomic_int *done;    /* allocation each call would consolidate malloc's fast bins */
    size_t capslots, capdone;
};

enum {
    PAR_MIN = 32, /* fewer entries per call: decode on the caller's thread only */
    BATCH = 16,   /* entries per claim */
    BACKOFF = 16, /* calls on one thread after one where the caller mostly waited */
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* What decoding made of one entry. */
typedef enum { D_RAW, D_SKIP, D_REGISTRY, D_NOTIF } dkind;

struct dslot {
    dkind kind;
    uint64_t logged;
    const uint8_t *sub; /* D_REGISTRY: the submission, in the caller's entry */
    size_t sublen;
    bool signed_ok; /* D_NOTIF with verify: a current key of from signed it (as of vgen) */
    uint8_t leaf[TL_HASH_LEN];
    tl_notification n; /* D_NOTIF */
};
typedef struct dslot dslot;

/* One call's decoding work, shared by the caller and the worker. */
typedef struct job {
    const tl_follow *f;
    const uint8_t *const *entries;
    const size_t *lens;
    dslot *slots;
    size_t n, nbatches;
    bool verify;
    const tl_registry *vreg; /* read-only during the job */
    atomic_size_t next;      /* next batch to claim */
    atomic_int *done;        /* per batch: decoded */
    bool taken, left;        /* the worker took it / is done with it (under jmu) */
    double waited;           /* seconds the caller waited for the worker (caller only) */
} job;

tl_err tl_follow_new(tl_follow **out, const tl_ruleset *rs, const tl_schemas *schemas,
                     const tl_vkey *op_key, const tl_policy *policy, tl_diag *d)
{
    tl_follow *f = calloc(1, sizeof *f);
    if (!f)
        return tl_fail(d, TL_ERR_NOMEM, "follower");
    f->schemas = schemas;
    f->op_key = op_key;
    f->policy = policy;
    f->eng = tl_engine_new(rs);
    f->reg = tl_registry_new();
    if (!f->eng || !f->reg) {
        tl_engine_free(f->eng);
        tl_registry_free(f->reg);
        free(f);
        return tl_fail(d, TL_ERR_NOMEM, "follower");
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_mutex_init(&f->jmu, NULL);
    pthread_cond_init(&f->jcv, NULL);
    pthread_cond_init(&f->dcv, NULL);
    *out = f;
    return TL_OK;
}

void tl_follow_set_verify(tl_follow *f, bool verify)
{
    pthread_mutex_lock(&f->mu);
    f->verify = verify;
    pthread_mutex_unlock(&f->mu);
}

void tl_follow_free(tl_follow *f)
{
    if (!f)
        return;
    if (f->th_started) {
        pthread_mutex_lock(&f->jmu);
        f->quit = true;
        pthread_cond_broadcast(&f->jcv);
        pthread_mutex_unlock(&f->jmu);
        pthread_join(f->th, NULL);
    }
    pthread_cond_destroy(&f->jcv);
    pthread_cond_destroy(&f->dcv);
    pthread_mutex_destroy(&f->jmu);
    tl_engine_free(f->eng);
    tl_registry_free(f->reg);
    tl_registry_free(f->vreg);
    free(f->slots);
    free(f->done);
    for (size_t i = 0; i < f->nwq; i++)
        free(f->wq[i].note);
    free(f->wq);
    free(f->wnote);
    free(f->regs);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* Applies the queued witnessed checkpoints that the entries fed now cover. Holds mu. */
static tl_err flush_witnessed(tl_follow *f, tl_diag *d)
{
    size_t i = 0;
    tl_err e = TL_OK;
    for (; i < f->nwq && f->wq[i].size <= f->size && e == TL_OK; i++) {
        e = tl_engine_witnessed(f->eng, f->wq[i].size, f->wq[i].time, d);
        if (e == TL_OK) {
            f->wsize = f->wq[i].size;
            f->wtime = f->wq[i].time;
            f->wapplied = true;
            free(f->wnote);
            f->wnote = f->wq[i].note;
            f->wlen = f->wq[i].len;
            f->wq[i].note = NULL;
        }
    }
    if (i > 0) { /* (wq is NULL until the first checkpoint is queued) */
        memmove(f->wq, f->wq + i, (f->nwq - i) * sizeof *f->wq);
        f->nwq -= i;
    }
    return e;
}

/* Whether a current key of from (in reg) signed the note. */
static bool signed_by(const tl_registry *reg, const char *from, const tl_note *note)
{
    size_t nkeys = 0;
    const tl_vkey *keys = tl_registry_party_keys(reg, from, &nkeys);
    return keys && tl_note_verify(note, keys, nkeys, NULL, NULL) == TL_OK;
}

/* Decodes entries[i] into *slot. Reads only the entry, the schemas and j->vreg: any thread. */
static void decode_one(const job *j, size_t i, dslot *slot)
{
    const uint8_t *ent = j->entries[i];
    size_t len = j->lens[i];
    slot->kind = D_RAW;
    slot->logged = 0;
    const uint8_t *sub = NULL;
    size_t sublen = 0;
    if (tl_entry_parse(ent, len, &slot->logged, &sub, &sublen, NULL) != TL_OK)
        return; /* a raw entry: nothing for the rules */
    slot->kind = D_SKIP;
    tl_note note;
    if (tl_note_parse(&note, (const char *)sub, sublen, NULL) != TL_OK)
        return;
    if (note.text_len >= TL_REGISTRY_HEADER_LEN &&
        memcmp(note.text, TL_REGISTRY_HEADER, TL_REGISTRY_HEADER_LEN) == 0) {
        slot->kind = D_REGISTRY;
        slot->sub = sub;
        slot->sublen = sublen;
        return;
    }
    if (tl_notification_parse_ex(&slot->n, j->f->schemas, note.text, note.text_len,
                                 TL_NOTIFICATION_NO_DOC, NULL) != TL_OK)
        return;
    slot->kind = D_NOTIF;
    slot->signed_ok = j->verify && j->vreg && signed_by(j->vreg, slot->n.from, &note);
    tl_leaf_hash(slot->leaf, ent, len);
}

static void decode_batch(job *j, size_t b)
{
    size_t lo = b * BATCH, hi = lo + BATCH < j->n ? lo + BATCH : j->n;
    for (size_t i = lo; i < hi; i++)
        decode_one(j, i, &j->slots[i]);
}

/* Claims and decodes batches until none is left; true if it decoded any. */
static bool claim_some(job *j, tl_follow *f, bool one)
{
    bool any = false;
    for (;;) {
        size_t b = atomic_fetch_add(&j->next, 1);
        if (b >= j->nbatches)
            return any;
        decode_batch(j, b);
        atomic_store_explicit(&j->done[b], 1, memory_order_release);
        if (f) { /* the worker: wake the caller if it waits for this batch */
            pthread_mutex_lock(&f->jmu);
            pthread_cond_broadcast(&f->dcv);
            pthread_mutex_unlock(&f->jmu);
        }
        any = true;
        if (one)
            return any;
    }
}

/* Frees the notifications of the batches decoded (those fed are freed already). */
static void free_decoded(job *j)
{
    for (size_t b = 0; b < j->nbatches; b++) {
        if (!atomic_load_explicit(&j->done[b], memory_order_acquire))
            continue; /* never claimed: nothing was decoded */
        size_t lo = b * BATCH, hi = lo + BATCH < j->n ? lo + BATCH : j->n;
        for (size_t k = lo; k < hi; k++)
            tl_notification_free(&j->slots[k].n);
    }
}

static void *worker(void *arg)
{
    tl_follow *f = arg;
    pthread_mutex_lock(&f->jmu);
    for (;;) {
        while (!f->quit && !f->job)
            pthread_cond_wait(&f->jcv, &f->jmu);
        if (f->quit)
            break;
        job *j = f->job;
        f->job = NULL;
        j->taken = true;
        pthread_mutex_unlock(&f->jmu);
        claim_some(j, f, false);
        pthread_mutex_lock(&f->jmu);
        j->left = true;
        pthread_cond_broadcast(&f->dcv);
    }
    pthread_mutex_unlock(&f->jmu);
    return NULL;
}

/* Feeds one decoded entry to the engine, in log order. Holds mu. */
static tl_err feed_one(tl_follow *f, const job *j, size_t i, uint64_t index, dslot *slot,
                       tl_diag *d)
{
    switch (slot->kind) {
    case D_RAW:
        return tl_engine_skip(f->eng, index, 0);
    case D_SKIP:
        return tl_engine_skip(f->eng, index, slot->logged);
    case D_REGISTRY:
        if (f->op_key && tl_registry_apply(f->reg, (const char *)slot->sub, slot->sublen,
                                           f->op_key, index, NULL) == TL_OK) {
            f->gen++;
            tl_err e = tl_engine_set_registry(f->eng, f->reg);
            if (e != TL_OK)
                return tl_fail(d, e, "rules: registry");
            if (f->nregs == f->capregs) {
                size_t cap = f->capregs ? 2 * f->capregs : 16;
                uint64_t *nr = realloc(f->regs, cap * sizeof *nr);
                if (!nr)
                    return tl_fail(d, TL_ERR_NOMEM, "rules: registry");
                f->regs = nr;
                f->capregs = cap;
            }
            f->regs[f->nregs++] = index;
        }
        return tl_engine_skip(f->eng, index, slot->logged);
    case D_NOTIF:
        break;
    }
    if (j->verify) { /* signed by a current key of its sender, as of this index */
        bool ok = slot->signed_ok;
        if (!j->vreg || f->gen != f->vgen) { /* the registry moved on: check again */
            const uint8_t *sub = NULL;
            size_t sublen = 0;
            uint64_t logged = 0;
            tl_note note;
            ok = tl_entry_parse(j->entries[i], j->lens[i], &logged, &sub, &sublen, NULL) ==
                     TL_OK &&
                 tl_note_parse(&note, (const char *)sub, sublen, NULL) == TL_OK &&
                 signed_by(f->reg, slot->n.from, &note);
        }
        if (!ok)
            return tl_engine_skip(f->eng, index, slot->logged);
    }
    return tl_engine_add(f->eng, index, slot->logged, slot->leaf, &slot->n, d);
}

/* Waits until batch b is decoded, decoding batches itself meanwhile. */
static void await_batch(tl_follow *f, job *j, size_t b)
{
    while (!atomic_load_explicit(&j->done[b], memory_order_acquire)) {
        if (claim_some(j, NULL, true))
            continue;
        /* Every batch is claimed: b is the worker's. */
        double w0 = mono_now();
        pthread_mutex_lock(&f->jmu);
        while (!atomic_load_explicit(&j->done[b], memory_order_acquire))
            pthread_cond_wait(&f->dcv, &f->jmu);
        pthread_mutex_unlock(&f->jmu);
        j->waited += mono_now() - w0;
    }
}

/* Entries first..first+n-1 (all new). Holds mu. */
static tl_err feed(tl_follow *f, uint64_t first, const uint8_t *const *entries,
                   const size_t *lens, size_t n, tl_diag *d)
{
    if (f->verify && (!f->vreg || f->vgen != f->gen)) { /* the decoders' registry */
        tl_registry *c = tl_registry_clone(f->reg);
        if (c) {
            tl_registry_free(f->vreg);
            f->vreg = c;
            f->vgen = f->gen;
        }
    }
    job j = {.f = f,
             .entries = entries,
             .lens = lens,
             .n = n,
             .nbatches = (n + BATCH - 1) / BATCH,
             .verify = f->verify,
             .vreg = f->vreg && f->vgen == f->gen ? f->vreg : NULL};
    if (n > f->capslots) {
        dslot *ns = realloc(f->slots, n * sizeof *ns);
        if (!ns)
            return tl_fail(d, TL_ERR_NOMEM, "rules: entries");
        f->slots = ns;
        f->capslots = n;
    }
    if (j.nbatches > f->capdone) {
        atomic_int *nd = realloc(f->done, j.nbatches * sizeof *nd);
        if (!nd)
            return tl_fail(d, TL_ERR_NOMEM, "rules: entries");
        f->done = nd;
        f->capdone = j.nbatches;
    }
    j.slots = f->slots;
    j.done = f->done;
    memset(j.slots, 0, n * sizeof *j.slots);
    atomic_init(&j.next, 0);
    for (size_t b = 0; b < j.nbatches; b++)
        atomic_init(&j.done[b], 0);
    /* On a machine busy with other work the worker may not get a core: then the caller,
     * which must wait for it at the end of each call (the entries are the caller's), is
     * better off alone for a while. Timing decides only who decodes, never what is fed. */
    bool par = n >= PAR_MIN && f->backoff == 0;
    if (f->backoff > 0 && n >= PAR_MIN)
        f->backoff--;
    if (par && !f->th_started)
        f->th_started = pthread_create(&f->th, NULL, worker, f) == 0;
    par = par && f->th_started;
    double t0 = par ? mono_now() : 0;
    if (par) {
        pthread_mutex_lock(&f->jmu);
        f->job = &j;
        pthread_cond_signal(&f->jcv);
        pthread_mutex_unlock(&f->jmu);
    }
    tl_err e = TL_OK;
    size_t i = 0;
    for (size_t b = 0; b < j.nbatches && e == TL_OK; b++) {
        await_batch(f, &j, b);
        size_t hi = (b + 1) * BATCH < n ? (b + 1) * BATCH : n;
        for (; i < hi && e == TL_OK; i++) {
            e = feed_one(f, &j, i, first + i, &j.slots[i], d);
            tl_notification_free(&j.slots[i].n); /* while it is still in the cache */
            if (e == TL_OK)
                f->size = first + i + 1;
        }
    }
    /* The worker must be done with j before it goes; then free what was decoded and not fed
     * (after an error). */
    if (par) {
        double w0 = mono_now();
        pthread_mutex_lock(&f->jmu);
        if (f->job == &j)
            f->job = NULL; /* never taken */
        else
            while (!j.left)
                pthread_cond_wait(&f->dcv, &f->jmu);
        pthread_mutex_unlock(&f->jmu);
        double w1 = mono_now();
        if (w1 - w0 + j.waited > (w1 - t0) / 4)
            f->backoff = BACKOFF;
    }
    free_decoded(&j);
    return e;
}

tl_err tl_follow_entries(tl_follow *f, uint64_t first, const uint8_t *const *entries,
                         const size_t *lens, size_t n, tl_diag *d)
{
    pthread_mutex_lock(&f->mu);
    tl_err e = TL_OK;
    if (first > f->size)
        e = tl_fail(d, TL_ERR_RANGE, "rules: entry %llu given before entry %llu",
                    (unsigned long long)first, (unsigned long long)f->size);
    if (e == TL_OK && first + n > f->size) {
        size_t skip = (size_t)(f->size - first); /* entries already fed */
        e = feed(f, f->size, entries + skip, lens + skip, n - skip, d);
    }
    if (e == TL_OK)
        e = flush_witnessed(f, d);
    pthread_mutex_unlock(&f->mu);
    return e;
}

tl_err tl_follow_skip(tl_follow *f, uint64_t index, tl_diag *d)
{
    pthread_mutex_lock(&f->mu);
    tl_err e = index == f->size ? tl_engine_skip(f->eng, index, 0)
                                : tl_fail(d, TL_ERR_RANGE, "rules: skip of %llu at size %llu",
                                          (unsigned long long)index, (unsigned long long)f->size);
    if (e == TL_OK) {
        f->size = index + 1;
        e = flush_witnessed(f, d);
    }
    pthread_mutex_unlock(&f->mu);
    return e;
}

tl_err tl_follow_witnessed(tl_follow *f, uint64_t size, const char *note, size_t len, tl_diag *d)
{
    if (!f->policy)
        return TL_OK;
    uint64_t times[TL_POLICY_WITNESSES_MAX];
    tl_checkpoint cp;
    tl_err e = tl_policy_check(f->policy, note, len, &cp, times, d);
    if (e != TL_OK)
        return e;
    if (cp.size != size)
        return tl_fail(d, TL_ERR_FORMAT, "witnessed checkpoint of size %llu filed as %llu",
                       (unsigned long long)cp.size, (unsigned long long)size);
    uint64_t t = 0;
    for (size_t i = 0; i < f->policy->nwitnesses; i++)
        if (times[i] > t)
            t = times[i];
    pthread_mutex_lock(&f->mu);
    /* A larger size, or the same size re-cosigned later: time moves on a quiet log too. */
    uint64_t last = f->nwq ? f->wq[f->nwq - 1].size : f->wsize;
    int64_t last_t = f->nwq ? f->wq[f->nwq - 1].time : f->wtime;
    if (size > last || (size == last && (int64_t)t > last_t && (f->nwq || f->wapplied))) {
        if (f->nwq == f->capwq) {
            size_t cap = f->capwq ? 2 * f->capwq : 16;
            pending_wit *nq = realloc(f->wq, cap * sizeof *nq);
            if (!nq) {
                pthread_mutex_unlock(&f->mu);
                return tl_fail(d, TL_ERR_NOMEM, "rules: witnessed");
            }
            f->wq = nq;
            f->capwq = cap;
        }
        char *copy = malloc(len + 1);
        if (!copy) {
            pthread_mutex_unlock(&f->mu);
            return tl_fail(d, TL_ERR_NOMEM, "rules: witnessed");
        }
        memcpy(copy, note, len);
        copy[len] = '\0';
        f->wq[f->nwq++] = (pending_wit){size, (int64_t)t, copy, len};
        e = flush_witnessed(f, d);
    }
    pthread_mutex_unlock(&f->mu);
    return e;
}

uint64_t tl_follow_size(tl_follow *f)
{
    pthread_mutex_lock(&f->mu);
    uint64_t n = f->size;
    pthread_mutex_unlock(&f->mu);
    return n;
}

uint64_t tl_follow_witnessed_size(tl_follow *f)
{
    pthread_mutex_lock(&f->mu);
    uint64_t n = f->wsize;
    pthread_mutex_unlock(&f->mu);
    return n;
}

uint64_t tl_follow_size_at(tl_follow *f, int64_t time_s)
{
    pthread_mutex_lock(&f->mu);
    uint64_t n = tl_engine_size_at(f->eng, time_s);
    pthread_mutex_unlock(&f->mu);
    return n;
}

tl_err tl_follow_findings_text(tl_follow *f, uint64_t size, char **out, size_t *len)
{
    pthread_mutex_lock(&f->mu);
    tl_err e = tl_engine_findings_text(f->eng, size ? size : f->wsize, out, len);
    pthread_mutex_unlock(&f->mu);
    return e;
}

tl_err tl_follow_findings(tl_follow *f, uint64_t size, tl_finding_fn fn, void *ctx)
{
    return tl_follow_findings_pick(f, size, NULL, fn, ctx);
}

tl_err tl_follow_findings_pick(tl_follow *f, uint64_t size, tl_finding_fn pick, tl_finding_fn fn,
                               void *ctx)
{
    pthread_mutex_lock(&f->mu);
    tl_err e = tl_engine_findings_pick(f->eng, size ? size : f->wsize, pick, fn, ctx);
    pthread_mutex_unlock(&f->mu);
    return e;
}

tl_err tl_follow_registry_entries(tl_follow *f, uint64_t **out, size_t *n)
{
    pthread_mutex_lock(&f->mu);
    *out = malloc((f->nregs ? f->nregs : 1) * sizeof **out);
    tl_err e = *out ? TL_OK : TL_ERR_NOMEM;
    if (e == TL_OK) {
        memcpy(*out, f->regs, f->nregs * sizeof **out);
        *n = f->nregs;
    }
    pthread_mutex_unlock(&f->mu);
    return e;
}

tl_err tl_follow_witnessed_note(tl_follow *f, uint64_t *size, char **note, size_t *len)
{
    pthread_mutex_lock(&f->mu);
    tl_err e = f->wnote ? TL_OK : TL_ERR_NOTFOUND;
    if (e == TL_OK) {
        *note = malloc(f->wlen + 1);
        if (!*note) {
            e = TL_ERR_NOMEM;
        } else {
            memcpy(*note, f->wnote, f->wlen + 1);
            *len = f->wlen;
            *size = f->wsize;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return e;
}

int64_t tl_follow_witnessed_time(tl_follow *f)
{
    pthread_mutex_lock(&f->mu);
    int64_t t = f->wapplied ? f->wtime : 0;
    pthread_mutex_unlock(&f->mu);
    return t;
}
