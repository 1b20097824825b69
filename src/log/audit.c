/* audit.c - the full audit of a C2SP tlog-tiles log: recompute every hash tile from the
 * entry bundles alone and compare byte for byte, then the root with the checkpoint.
 *
 * One pass, streaming: bundle N is read, its entries hashed into level-0 tile N, each
 * completed perfect subtree of height 8L appended to the tile being rebuilt at level L, and
 * each rebuilt tile compared with the stored one as soon as it is complete (or, for the right
 * edge, at the end). Where the store can list directories (posix), every other partial tile
 * and bundle still on disk (left by earlier checkpoints) is compared with the prefix of its
 * rebuilt tile too, and every archived checkpoint (checkpoints/<size>) with the root of its
 * prefix, so a flipped byte anywhere in the published log is found.
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
    char *name;
    uint8_t root[TL_HASH_LEN]; /* root at that size, captured during the walk */
    bool seen;
} archived;

typedef struct audit {
    tl_store *st;
    uint64_t size;
    bool can_list;
    level_buf *lvl[LEVELS];
    tl_audit_result *res;
    tl_err err;
    tl_diag diag;
} audit;

static int cmp_archived(const void *a, const void *b)
{
    const archived *x = a, *y = b;
    return x->size < y->size ? -1 : x->size > y->size;
}

/* Compares `want` (rebuilt content of object t, `len` bytes for its full rebuilt width) with
 * the stored object of t's width; and every other stored partial width with its prefix.
 * prefix_len(w) gives the byte length of the first w items. */
typedef size_t (*prefix_fn)(void *ctx, unsigned w);

static tl_err check_object(audit *a, const tl_tile *t, const uint8_t *want, size_t len,
                           prefix_fn pf, void *pctx)
{
    char path[TL_TILE_PATH_MAX];
    tl_tile_path(path, t);
    uint8_t *buf = NULL;
    size_t n = 0;
    tl_err e = a->st->ops->read(a->st, path, &buf, &n, &a->diag);
    if (e == TL_ERR_NOTFOUND && t->width < TL_TILE_WIDTH) {
        /* A partial object may be gone once the full one exists: compare the full one's
         * prefix then (it is checked in full when the walk gets there, if covered). */
        tl_tile full = *t;
        full.width = TL_TILE_WIDTH;
        char fpath[TL_TILE_PATH_MAX];
        tl_tile_path(fpath, &full);
        e = a->st->ops->read(a->st, fpath, &buf, &n, &a->diag);
        if (e == TL_OK) {
            bool ok = n >= len && memcmp(buf, want, len) == 0;
            free(buf);
            if (!ok)
                return tl_fail(&a->diag, TL_ERR_PROOF,
                               "%s (read for missing %s) does not match the entries", fpath,
                               path);
            buf = NULL;
        } else if (e == TL_ERR_NOTFOUND) {
            return tl_fail(&a->diag, e, "%s is missing", path);
        } else {
            return e;
        }
    } else if (e == TL_ERR_NOTFOUND) {
        return tl_fail(&a->diag, e, "%s is missing", path);
    } else if (e != TL_OK) {
        return e;
    } else {
        bool ok = n == len && memcmp(buf, want, len) == 0;
        free(buf);
        if (!ok)
            return tl_fail(&a->diag, TL_ERR_PROOF,
                           "%s does not match the entries (%zu bytes stored, %zu expected)",
                           path, n, len);
    }
    if (t->entries)
        a->res->bundles++;
    else
        a->res->tiles++;
    if (!a->can_list)
        return TL_OK;
    /* Other partial widths still on disk, e.g. tile/0/001.p/7 from an earlier checkpoint. */
    char pdir[TL_TILE_PATH_MAX + 4];
    tl_tile full = *t;
    full.width = TL_TILE_WIDTH;
    tl_tile_path(path, &full);
    int pn = snprintf(pdir, sizeof pdir, "%s.p", path);
    if (pn < 0 || (size_t)pn >= sizeof pdir)
        return tl_fail(&a->diag, TL_ERR_INTERNAL, "path");
    char **names = NULL;
    size_t nn = 0;
    e = a->st->ops->list(a->st, pdir, &names, &nn, &a->diag);
    if (e != TL_OK)
        return e;
    unsigned have = t->width;
    for (size_t i = 0; i < nn && e == TL_OK; i++) {
        uint64_t w = 0;
        if (tl_parse_u64(&w, names[i], strlen(names[i])) != TL_OK || w == 0 ||
            w >= TL_TILE_WIDTH) {
            e = tl_fail(&a->diag, TL_ERR_FORMAT, "%s/%s: not a tile width", pdir, names[i]);
            break;
        }
        if (w == have)
            continue; /* just checked */
        if (w > have)
            continue; /* wider than the audited size: not part of this tree */
        tl_tile pt = *t;
        pt.width = (uint16_t)w;
        char ppath[TL_TILE_PATH_MAX];
        tl_tile_path(ppath, &pt);
        size_t plen = pf(pctx, (unsigned)w);
        e = a->st->ops->read(a->st, ppath, &buf, &n, &a->diag);
        if (e == TL_OK) {
            bool ok = n == plen && memcmp(buf, want, plen) == 0;
            free(buf);
            if (!ok)
                e = tl_fail(&a->diag, TL_ERR_PROOF, "%s does not match the entries", ppath);
            else if (t->entries)
                a->res->bundles++;
            else
                a->res->tiles++;
        }
    }
    tl_store_free_list(names, nn);
    return e;
}

static size_t hash_prefix(void *ctx, unsigned w)
{
    (void)ctx;
    return (size_t)w * TL_HASH_LEN;
}

typedef struct bundle_ctx {
    size_t ends[TL_TILE_WIDTH + 1]; /* byte offset after the first w entries */
} bundle_ctx;

static tl_err flush_level(audit *a, unsigned level, uint64_t index)
{
    level_buf *b = a->lvl[level];
    tl_tile t = {.entries = false, .level = (uint8_t)level, .index = index,
                 .width = (uint16_t)b->n};
    return check_object(a, &t, &b->h[0][0], (size_t)b->n * TL_HASH_LEN, hash_prefix, NULL);
}

static void on_node(void *ctx, unsigned height, uint64_t index, const uint8_t hash[TL_HASH_LEN])
{
    audit *a = ctx;
    if (a->err != TL_OK || height % TL_TILE_HEIGHT != 0)
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
        a->err = flush_level(a, level, index / TL_TILE_WIDTH);
        b->n = 0;
    }
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
    if (!a)
        return tl_fail(d, TL_ERR_NOMEM, "audit");
    a->st = st;
    a->size = cp->size;
    a->res = res;
    /* Archived checkpoints (posix only). */
    char **names = NULL;
    size_t nn = 0;
    archived *arch = NULL;
    size_t narch = 0;
    tl_diag ld;
    a->can_list = st->ops->list(st, "checkpoints", &names, &nn, &ld) == TL_OK;
    if (nn) {
        arch = calloc(nn, sizeof *arch);
        if (!arch) {
            tl_store_free_list(names, nn);
            free(a);
            return tl_fail(d, TL_ERR_NOMEM, "audit");
        }
        for (size_t i = 0; i < nn; i++) {
            uint64_t s = 0;
            if (tl_parse_u64(&s, names[i], strlen(names[i])) != TL_OK)
                continue; /* not ours */
            if (s > cp->size)
                continue; /* newer than the audited checkpoint */
            arch[narch].size = s;
            arch[narch].name = names[i];
            names[i] = NULL;
            narch++;
        }
        qsort(arch, narch, sizeof *arch, cmp_archived);
    }
    tl_store_free_list(names, nn);

    tl_frontier f;
    tl_frontier_init(&f);
    uint8_t old_root[TL_HASH_LEN];
    bool old_seen = old && old->size == 0;
    if (old_seen)
        memcpy(old_root, TL_EMPTY_ROOT, TL_HASH_LEN);
    size_t next_arch = 0;
    while (next_arch < narch && arch[next_arch].size == 0) {
        memcpy(arch[next_arch].root, TL_EMPTY_ROOT, TL_HASH_LEN);
        arch[next_arch++].seen = true;
    }
    bundle_ctx *bc = calloc(1, sizeof *bc);
    uint8_t(*leaves)[TL_HASH_LEN] = calloc(TL_TILE_WIDTH, TL_HASH_LEN);
    tl_err e = (!bc || !leaves) ? tl_fail(&a->diag, TL_ERR_NOMEM, "audit") : TL_OK;
    uint64_t nbundles = (cp->size + TL_TILE_WIDTH - 1) / TL_TILE_WIDTH;
    for (uint64_t bi = 0; bi < nbundles && e == TL_OK; bi++) {
        tl_tile t;
        (void)tl_tile_for_size(&t, true, 0, bi, cp->size);
        char path[TL_TILE_PATH_MAX];
        tl_tile_path(path, &t);
        uint8_t *buf = NULL;
        size_t len = 0;
        bool truncate = false;
        e = st->ops->read(st, path, &buf, &len, &a->diag);
        if (e == TL_ERR_NOTFOUND && t.width < TL_TILE_WIDTH) {
            tl_tile full = t;
            full.width = TL_TILE_WIDTH;
            char fpath[TL_TILE_PATH_MAX];
            tl_tile_path(fpath, &full);
            e = st->ops->read(st, fpath, &buf, &len, &a->diag);
            truncate = e == TL_OK;
        }
        if (e == TL_ERR_NOTFOUND)
            e = tl_fail(&a->diag, e, "entry bundle %s is missing", path);
        if (e != TL_OK)
            break;
        size_t pos = 0;
        bc->ends[0] = 0;
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
            bc->ends[i + 1] = pos;
            res->entries++;
            res->bytes += elen;
        }
        if (e == TL_OK && !truncate && pos != len)
            e = tl_fail(&a->diag, TL_ERR_FORMAT,
                        "entry bundle %s: %zu bytes of trailing data after %u entries", path,
                        len - pos, t.width);
        if (e == TL_OK && !truncate)
            res->bundles++;
        /* Other partial bundles of this index still on disk. */
        if (e == TL_OK && a->can_list) {
            tl_tile full = t;
            full.width = TL_TILE_WIDTH;
            char fpath[TL_TILE_PATH_MAX], pdir[TL_TILE_PATH_MAX + 4];
            tl_tile_path(fpath, &full);
            int pn = snprintf(pdir, sizeof pdir, "%s.p", fpath);
            char **pn_names = NULL;
            size_t pnn = 0;
            if (pn > 0 && (size_t)pn < sizeof pdir)
                e = st->ops->list(st, pdir, &pn_names, &pnn, &a->diag);
            for (size_t i = 0; i < pnn && e == TL_OK; i++) {
                uint64_t w = 0;
                if (tl_parse_u64(&w, pn_names[i], strlen(pn_names[i])) != TL_OK || w == 0 ||
                    w >= TL_TILE_WIDTH) {
                    e = tl_fail(&a->diag, TL_ERR_FORMAT, "%s/%s: not a bundle width", pdir,
                                pn_names[i]);
                    break;
                }
                if (w >= t.width && !(truncate && w == t.width))
                    continue;
                if (w == t.width)
                    continue;
                tl_tile pt = t;
                pt.width = (uint16_t)w;
                char ppath[TL_TILE_PATH_MAX];
                tl_tile_path(ppath, &pt);
                uint8_t *pb = NULL;
                size_t pl = 0;
                e = st->ops->read(st, ppath, &pb, &pl, &a->diag);
                if (e == TL_OK) {
                    bool ok = pl == bc->ends[w] && memcmp(pb, buf, pl) == 0;
                    free(pb);
                    if (!ok)
                        e = tl_fail(&a->diag, TL_ERR_PROOF,
                                    "entry bundle %s does not match %s", ppath, path);
                    else
                        res->bundles++;
                }
            }
            tl_store_free_list(pn_names, pnn);
        }
        free(buf);
        /* Level 0 tile: the leaf hashes. */
        if (e == TL_OK) {
            tl_tile ht = {.entries = false, .level = 0, .index = bi, .width = t.width};
            e = check_object(a, &ht, &leaves[0][0], (size_t)t.width * TL_HASH_LEN, hash_prefix,
                             NULL);
        }
        for (unsigned i = 0; i < t.width && e == TL_OK; i++) {
            /* Level-0 nodes are checked above; the sink only takes heights 8, 16, ... */
            e = tl_frontier_append(&f, leaves[i], on_node, a);
            if (e == TL_OK)
                e = a->err;
            if (e != TL_OK)
                break;
            if (old && f.size == old->size) {
                tl_frontier_root(&f, old_root);
                old_seen = true;
            }
            while (next_arch < narch && arch[next_arch].size == f.size) {
                tl_frontier_root(&f, arch[next_arch].root);
                arch[next_arch++].seen = true;
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
        e = flush_level(a, level, cnt / TL_TILE_WIDTH);
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
    /* Archived checkpoints: signed by the log key, same origin, root of their prefix. */
    for (size_t i = 0; i < narch && e == TL_OK; i++) {
        char path[64];
        int pn = snprintf(path, sizeof path, "checkpoints/%s", arch[i].name);
        if (pn < 0 || (size_t)pn >= sizeof path)
            continue;
        uint8_t *buf = NULL;
        size_t len = 0;
        e = st->ops->read(st, path, &buf, &len, &a->diag);
        if (e != TL_OK)
            break;
        tl_checkpoint acp;
        e = tl_checkpoint_open(&acp, NULL, (const char *)buf, len, key, &a->diag);
        if (e == TL_OK && (acp.size != arch[i].size || strcmp(acp.origin, cp->origin) != 0 ||
                           memcmp(acp.root, arch[i].root, TL_HASH_LEN) != 0))
            e = tl_fail(&a->diag, TL_ERR_PROOF,
                        "archived checkpoint %s is not consistent with the log", path);
        else if (e != TL_OK)
            e = tl_diag_prefix(&a->diag, e, "%s", path);
        free(buf);
    }
    for (size_t i = 0; i < narch; i++)
        free(arch[i].name);
    free(arch);
    free(bc);
    free(leaves);
    for (unsigned i = 0; i < LEVELS; i++)
        free(a->lvl[i]);
    if (e != TL_OK && d)
        memcpy(d->msg, a->diag.msg, sizeof d->msg);
    free(a);
    return e;
}
