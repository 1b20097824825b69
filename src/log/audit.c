/* audit.c - the full audit of a C2SP tlog-tiles log: recompute every hash tile from the
 * entry bundles alone and compare byte for byte, then the root with the checkpoint.
 *
 * One pass, streaming: bundle N is read, its entries hashed into level-0 tile N, each
 * completed perfect subtree of height 8L appended to the tile being rebuilt at level L, and
 * each rebuilt tile compared with the stored one as soon as it is complete (or, for the right
 * edge, at the end). Where the store can list the checkpoint archive (posix), every archived
 * checkpoint (checkpoints/<size>) is verified and compared with the root of its prefix, and
 * the partial tiles and bundles of each archived size (which a log must keep serving) are
 * compared with the prefix of their rebuilt tile: a flipped byte anywhere in what the log
 * published is found. Partial objects of sizes never published (left by a crashed writer)
 * are not part of the log and are ignored.
 */
#include "treatylog/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "treatylog/text.h"
#include "treatylog/tile.h"

#define LEVELS 64

typedef struct level_buf {
    unsigned n;
    uint8_t h[TL_TILE_WIDTH][TL_HASH_LEN];
} level_buf;

typedef struct archived {
    uint64_t size;
    uint8_t root[TL_HASH_LEN]; /* root at that size, captured during the walk */
    bool seen;
} archived;

/* Partial objects (index, width) published at some archived size, per level, ascending. */
typedef struct partials {
    struct {
        uint64_t index;
        unsigned width;
    } *v;
    size_t n, cap, cur;
} partials;

typedef struct audit {
    tl_store *st;
    level_buf *lvl[LEVELS];
    partials part[LEVELS];
    tl_audit_result *res;
    tl_err err; /* first error inside the frontier sink */
    tl_diag diag;
} audit;

static int cmp_archived(const void *a, const void *b)
{
    const archived *x = a, *y = b;
    return x->size < y->size ? -1 : x->size > y->size;
}

static tl_err add_partial(audit *a, unsigned level, uint64_t index, unsigned width)
{
    partials *p = &a->part[level];
    if (p->n > 0 && p->v[p->n - 1].index == index && p->v[p->n - 1].width == width)
        return TL_OK;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        void *nv = realloc(p->v, cap * sizeof *p->v);
        if (!nv)
            return tl_fail(&a->diag, TL_ERR_NOMEM, "audit");
        p->v = nv;
        p->cap = cap;
    }
    p->v[p->n].index = index;
    p->v[p->n].width = width;
    p->n++;
    return TL_OK;
}

/* Reads object t and compares it with want[0..len). A missing partial object is read from
 * the full one's prefix when full_ok (tlog-tiles lets logs delete partials once full). */
static tl_err compare(audit *a, const tl_tile *t, const uint8_t *want, size_t len, bool full_ok)
{
    char path[TL_TILE_PATH_MAX];
    tl_tile_path(path, t);
    uint8_t *buf = NULL;
    size_t n = 0;
    tl_err e = a->st->ops->read(a->st, path, &buf, &n, &a->diag);
    if (e == TL_ERR_NOTFOUND && full_ok && t->width < TL_TILE_WIDTH)
        return TL_OK; /* the full object is checked in full */
    if (e == TL_ERR_NOTFOUND)
        return tl_fail(&a->diag, e, "%s is missing", path);
    if (e != TL_OK)
        return e;
    bool ok = n == len && memcmp(buf, want, len) == 0;
    free(buf);
    if (!ok)
        return tl_fail(&a->diag, TL_ERR_PROOF,
                       "%s does not match the entries (%zu bytes stored, %zu expected)", path, n,
                       len);
    if (t->entries)
        a->res->bundles++;
    else
        a->res->tiles++;
    return TL_OK;
}

/* Checks the published partials in p (cursor advancing in index order) of object t: each of
 * a smaller width than t's must be the prefix of want (prefix[w] = length of w items). */
static tl_err check_partials(audit *a, partials *p, const tl_tile *t, const uint8_t *want,
                             const size_t *prefix)
{
    tl_err e = TL_OK;
    while (p->cur < p->n && p->v[p->cur].index < t->index)
        p->cur++;
    for (; e == TL_OK && p->cur < p->n && p->v[p->cur].index == t->index; p->cur++) {
        unsigned w = p->v[p->cur].width;
        if (w >= t->width)
            continue; /* the object itself, checked by the caller */
        tl_tile pt = *t;
        pt.width = (uint16_t)w;
        e = compare(a, &pt, want, prefix[w], t->width == TL_TILE_WIDTH);
    }
    return e;
}

/* Checks hash tile t against want, then its published partials. */
static tl_err check_with_partials(audit *a, const tl_tile *t, const uint8_t *want,
                                  const size_t *prefix)
{
    tl_err e = compare(a, t, want, prefix[t->width], false);
    if (e == TL_OK)
        e = check_partials(a, &a->part[t->level], t, want, prefix);
    return e;
}

static tl_err flush_level(audit *a, unsigned level, uint64_t index, const size_t *hash_prefix)
{
    level_buf *b = a->lvl[level];
    tl_tile t = {.entries = false, .level = (uint8_t)level, .index = index,
                 .width = (uint16_t)b->n};
    return check_with_partials(a, &t, &b->h[0][0], hash_prefix);
}

typedef struct sink_ctx {
    audit *a;
    const size_t *hash_prefix;
} sink_ctx;

static void on_node(void *ctx, unsigned height, uint64_t index, const uint8_t hash[TL_HASH_LEN])
{
    sink_ctx *sc = ctx;
    audit *a = sc->a;
    if (a->err != TL_OK || height == 0 || height % TL_TILE_HEIGHT != 0)
        return;
    unsigned level = height / TL_TILE_HEIGHT;
    if (level >= LEVELS) {
        a->err = tl_fail(&a->diag, TL_ERR_INTERNAL, "level %u", level);
        return;
    }
    if (!a->lvl[level]) {
        a->lvl[level] = calloc(1, sizeof(level_buf));
        if (!a->lvl[level]) {
            a->err = tl_fail(&a->diag, TL_ERR_NOMEM, "audit buffers");
            return;
        }
    }
    level_buf *b = a->lvl[level];
    memcpy(b->h[b->n++], hash, TL_HASH_LEN);
    if (b->n == TL_TILE_WIDTH) {
        a->err = flush_level(a, level, index / TL_TILE_WIDTH, sc->hash_prefix);
        b->n = 0;
    }
}

/* Lists checkpoints/ (if the store can) into a sorted array of sizes <= max. */
static tl_err load_archive(tl_store *st, uint64_t max, archived **out, size_t *nout, tl_diag *d)
{
    char **names = NULL;
    size_t nn = 0;
    tl_diag ld;
    *out = NULL;
    *nout = 0;
    if (st->ops->list(st, "checkpoints", &names, &nn, &ld) != TL_OK || nn == 0)
        return TL_OK; /* no archive (HTTP, or a log that keeps none) */
    archived *arch = calloc(nn, sizeof *arch);
    if (!arch) {
        tl_store_free_list(names, nn);
        return tl_fail(d, TL_ERR_NOMEM, "audit");
    }
    size_t n = 0;
    for (size_t i = 0; i < nn; i++) {
        uint64_t s = 0;
        if (tl_parse_u64(&s, names[i], strlen(names[i])) == TL_OK && s <= max)
            arch[n++].size = s;
    }
    tl_store_free_list(names, nn);
    qsort(arch, n, sizeof *arch, cmp_archived);
    *out = arch;
    *nout = n;
    return TL_OK;
}

/* Each archived checkpoint: signed by key, same origin, root = root of its prefix. */
static tl_err check_archive(audit *a, const tl_vkey *key, const tl_checkpoint *cp,
                            const archived *arch, size_t narch)
{
    for (size_t i = 0; i < narch; i++) {
        char path[64];
        snprintf(path, sizeof path, "checkpoints/%llu", (unsigned long long)arch[i].size);
        uint8_t *buf = NULL;
        size_t len = 0;
        tl_err e = a->st->ops->read(a->st, path, &buf, &len, &a->diag);
        if (e != TL_OK)
            return e;
        tl_checkpoint acp;
        e = tl_checkpoint_open(&acp, NULL, (const char *)buf, len, key, &a->diag);
        free(buf);
        if (e != TL_OK)
            return tl_diag_prefix(&a->diag, e, "archived checkpoint %s", path);
        if (!arch[i].seen || acp.size != arch[i].size || strcmp(acp.origin, cp->origin) != 0 ||
            memcmp(acp.root, arch[i].root, TL_HASH_LEN) != 0)
            return tl_fail(&a->diag, TL_ERR_PROOF,
                           "archived checkpoint %s is not consistent with the log", path);
    }
    return TL_OK;
}

tl_err tl_audit(tl_store *st, const tl_vkey *key, const tl_checkpoint *cp,
                const tl_checkpoint *old, tl_audit_result *res, tl_diag *d)
{
    tl_audit_result dummy;
    if (!res)
        res = &dummy;
    memset(res, 0, sizeof *res);
    if (old && old->size > cp->size)
        return tl_fail(d, TL_ERR_CONFLICT,
                       "the older checkpoint (size %llu) is larger than the checkpoint (size "
                       "%llu)",
                       (unsigned long long)old->size, (unsigned long long)cp->size);
    audit *a = calloc(1, sizeof *a);
    size_t *hash_prefix = calloc(TL_TILE_WIDTH + 1, sizeof *hash_prefix);
    size_t *bundle_prefix = calloc(TL_TILE_WIDTH + 1, sizeof *bundle_prefix);
    uint8_t(*leaves)[TL_HASH_LEN] = calloc(TL_TILE_WIDTH, TL_HASH_LEN);
    archived *arch = NULL;
    size_t narch = 0;
    tl_err e = TL_OK;
    if (!a || !hash_prefix || !bundle_prefix || !leaves) {
        e = tl_fail(d, TL_ERR_NOMEM, "audit");
        goto out;
    }
    a->st = st;
    a->res = res;
    for (unsigned w = 0; w <= TL_TILE_WIDTH; w++)
        hash_prefix[w] = (size_t)w * TL_HASH_LEN;
    e = load_archive(st, cp->size, &arch, &narch, &a->diag);
    for (size_t i = 0; i < narch && e == TL_OK; i++) {
        for (unsigned level = 0; level < LEVELS && e == TL_OK; level++) {
            uint64_t cnt = tl_tile_level_count(arch[i].size, level);
            if (cnt == 0)
                break;
            if (cnt % TL_TILE_WIDTH)
                e = add_partial(a, level, cnt / TL_TILE_WIDTH, (unsigned)(cnt % TL_TILE_WIDTH));
        }
    }

    tl_frontier f;
    tl_frontier_init(&f);
    sink_ctx sc = {a, hash_prefix};
    uint8_t old_root[TL_HASH_LEN];
    bool old_seen = old && old->size == 0;
    if (old_seen)
        memcpy(old_root, TL_EMPTY_ROOT, TL_HASH_LEN);
    size_t next_arch = 0;
    for (; next_arch < narch && arch[next_arch].size == 0; next_arch++) {
        memcpy(arch[next_arch].root, TL_EMPTY_ROOT, TL_HASH_LEN);
        arch[next_arch].seen = true;
    }
    /* Bundles have the widths of the level-0 tiles: the same list, their own cursor. */
    partials bundle_parts = a->part[0];
    uint64_t nbundles = (cp->size + TL_TILE_WIDTH - 1) / TL_TILE_WIDTH;
    for (uint64_t bi = 0; bi < nbundles && e == TL_OK; bi++) {
        tl_tile t;
        (void)tl_tile_for_size(&t, true, 0, bi, cp->size);
        char path[TL_TILE_PATH_MAX];
        tl_tile_path(path, &t);
        uint8_t *buf = NULL;
        size_t len = 0;
        e = st->ops->read(st, path, &buf, &len, &a->diag);
        if (e == TL_ERR_NOTFOUND)
            e = tl_fail(&a->diag, e, "entry bundle %s is missing", path);
        if (e != TL_OK)
            break;
        size_t pos = 0;
        bundle_prefix[0] = 0;
        for (unsigned i = 0; i < t.width && e == TL_OK; i++) {
            const uint8_t *ent = NULL;
            size_t elen = 0;
            tl_err be = tl_bundle_next(buf, len, &pos, &ent, &elen);
            if (be != TL_OK) {
                e = tl_fail(&a->diag, TL_ERR_FORMAT,
                            "entry bundle %s: %s at entry %u (index %llu); it should hold %u",
                            path, be == TL_ERR_NOTFOUND ? "ends early" : "truncated entry", i,
                            (unsigned long long)(bi * TL_TILE_WIDTH + i), t.width);
                break;
            }
            tl_leaf_hash(leaves[i], ent, elen);
            bundle_prefix[i + 1] = pos;
            res->entries++;
            res->bytes += elen;
        }
        if (e == TL_OK && pos != len)
            e = tl_fail(&a->diag, TL_ERR_FORMAT,
                        "entry bundle %s: %zu bytes of trailing data after %u entries", path,
                        len - pos, t.width);
        if (e == TL_OK) {
            res->bundles++;
            e = check_partials(a, &bundle_parts, &t, buf, bundle_prefix);
        }
        free(buf);
        /* Level 0 tile: the leaf hashes. */
        if (e == TL_OK) {
            tl_tile ht = {.entries = false, .level = 0, .index = bi, .width = t.width};
            e = check_with_partials(a, &ht, &leaves[0][0], hash_prefix);
        }
        for (unsigned i = 0; i < t.width && e == TL_OK; i++) {
            e = tl_frontier_append(&f, leaves[i], on_node, &sc);
            if (e == TL_OK)
                e = a->err;
            if (old && f.size == old->size) {
                tl_frontier_root(&f, old_root);
                old_seen = true;
            }
            for (; next_arch < narch && arch[next_arch].size == f.size; next_arch++) {
                tl_frontier_root(&f, arch[next_arch].root);
                arch[next_arch].seen = true;
            }
        }
    }
    /* Right-edge tiles of the upper levels. */
    for (unsigned level = 1; level < LEVELS && e == TL_OK; level++) {
        uint64_t cnt = tl_tile_level_count(cp->size, level);
        if (cnt == 0)
            break;
        if (cnt % TL_TILE_WIDTH == 0)
            continue;
        if (!a->lvl[level] || a->lvl[level]->n != cnt % TL_TILE_WIDTH) {
            e = tl_fail(&a->diag, TL_ERR_INTERNAL, "level %u rebuilt out of step", level);
            break;
        }
        e = flush_level(a, level, cnt / TL_TILE_WIDTH, hash_prefix);
    }
    if (e == TL_OK) {
        uint8_t root[TL_HASH_LEN];
        tl_frontier_root(&f, root);
        if (memcmp(root, cp->root, TL_HASH_LEN) != 0)
            e = tl_fail(&a->diag, TL_ERR_PROOF,
                        "the root recomputed from the entries does not match the checkpoint "
                        "(size %llu)",
                        (unsigned long long)cp->size);
    }
    if (e == TL_OK && old && (!old_seen || memcmp(old_root, old->root, TL_HASH_LEN) != 0))
        e = tl_fail(&a->diag, TL_ERR_PROOF,
                    "the older checkpoint (size %llu) is not a prefix of this log: its root "
                    "differs from the root of the first %llu entries",
                    (unsigned long long)old->size, (unsigned long long)old->size);
    if (e == TL_OK)
        e = check_archive(a, key, cp, arch, narch);
    if (e != TL_OK && d)
        memcpy(d->msg, a->diag.msg, sizeof d->msg);
out:
    free(arch);
    free(hash_prefix);
    free(bundle_prefix);
    free(leaves);
    if (a) {
        for (unsigned i = 0; i < LEVELS; i++) {
            free(a->lvl[i]);
            free(a->part[i].v);
        }
    }
    free(a);
    return e;
}
