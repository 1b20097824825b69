/* follow.c - a rules engine fed from a treaty log (follow.h). */
#include "treatylog/follow.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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
};

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
    tl_engine_free(f->eng);
    tl_registry_free(f->reg);
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

static tl_err one_entry(tl_follow *f, uint64_t index, const uint8_t *ent, size_t len, tl_diag *d)
{
    uint64_t logged = 0;
    const uint8_t *sub = NULL;
    size_t sublen = 0;
    if (tl_entry_parse(ent, len, &logged, &sub, &sublen, NULL) != TL_OK)
        return tl_engine_skip(f->eng, index, 0); /* a raw entry: nothing for the rules */
    tl_note note;
    if (tl_note_parse(&note, (const char *)sub, sublen, NULL) != TL_OK)
        return tl_engine_skip(f->eng, index, logged);
    if (note.text_len >= TL_REGISTRY_HEADER_LEN &&
        memcmp(note.text, TL_REGISTRY_HEADER, TL_REGISTRY_HEADER_LEN) == 0) {
        if (f->op_key &&
            tl_registry_apply(f->reg, (const char *)sub, sublen, f->op_key, index, NULL) == TL_OK) {
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
        return tl_engine_skip(f->eng, index, logged);
    }
    tl_notification n;
    if (tl_notification_parse(&n, f->schemas, note.text, note.text_len, NULL) != TL_OK)
        return tl_engine_skip(f->eng, index, logged);
    if (f->verify) { /* signed by a current key of its sender, as of this index */
        size_t nkeys = 0;
        const tl_vkey *keys = tl_registry_party_keys(f->reg, n.from, &nkeys);
        if (!keys || tl_note_verify(&note, keys, nkeys, NULL, NULL) != TL_OK) {
            tl_notification_free(&n);
            return tl_engine_skip(f->eng, index, logged);
        }
    }
    uint8_t leaf[TL_HASH_LEN];
    tl_leaf_hash(leaf, ent, len);
    tl_err e = tl_engine_add(f->eng, index, logged, leaf, &n, d);
    tl_notification_free(&n);
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
    for (size_t i = 0; i < n && e == TL_OK; i++) {
        uint64_t index = first + i;
        if (index < f->size)
            continue;
        e = one_entry(f, index, entries[i], lens[i], d);
        if (e == TL_OK)
            f->size = index + 1;
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
    pthread_mutex_lock(&f->mu);
    tl_err e = tl_engine_findings(f->eng, size ? size : f->wsize, fn, ctx);
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
