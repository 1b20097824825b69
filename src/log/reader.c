/* reader.c - reads a tree of a given size from any store's tiles (C2SP tlog-tiles v0.1.0):
 * perfect-subtree hashes for proofs, entries checked against their leaf hashes, the root.
 *
 * A tile is read "as it stands for the size": full if the size covers it, else the partial
 * tile of the size's width; if that partial file is missing (logs MAY delete partial tiles
 * once the full tile exists, and a size the log never published has none), the full tile
 * is read and truncated, as tlog-tiles allows. Tiles are cached (a small LRU), so a proof
 * reads about log256(size) tiles.
 */
#include "treatylog/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "treatylog/tile.h"

#define CACHE_SLOTS 64
#define MEMO_SLOTS 16384 /* power of two */

typedef struct slot {
    uint8_t *data; /* width * 32 bytes; NULL if unused */
    unsigned width;
    uint8_t level;
    bool entries;
    uint64_t index;
    uint64_t stamp;
} slot;

/* A node computed inside a tile (height not a multiple of 8). Perfect subtrees never change,
 * so entries stay valid when the reader moves to a larger size. */
typedef struct memo {
    uint64_t index;
    uint8_t height; /* 0 = empty slot (height-0 nodes are never memoised) */
    uint8_t hash[TL_HASH_LEN];
} memo;

struct tl_reader {
    tl_store *st;
    memo *memo; /* MEMO_SLOTS entries */
    uint64_t size;
    uint64_t clock;
    slot slots[CACHE_SLOTS];
    tl_diag err; /* last error of a hash-source call */
};

tl_err tl_reader_new(tl_reader **out, tl_store *st, uint64_t size, tl_diag *d)
{
    tl_reader *r = calloc(1, sizeof *r);
    if (r)
        r->memo = calloc(MEMO_SLOTS, sizeof *r->memo);
    if (!r || !r->memo) {
        free(r);
        return tl_fail(d, TL_ERR_NOMEM, "allocating a reader");
    }
    r->st = st;
    r->size = size;
    *out = r;
    return TL_OK;
}

void tl_reader_free(tl_reader *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        free(r->slots[i].data);
    free(r->memo);
    free(r);
}

void tl_reader_set_size(tl_reader *r, uint64_t size)
{
    r->size = size;
}

uint64_t tl_reader_size(const tl_reader *r)
{
    return r->size;
}

const char *tl_reader_error(const tl_reader *r)
{
    return r->err.msg;
}

/* Reads object `t` (bundle or tile); falls back from a missing partial to the full one.
 * *trunc is set when the returned buffer is a full object to be cut to t->width. */
static tl_err read_object(tl_reader *r, const tl_tile *t, uint8_t **buf, size_t *len,
                          bool *fell_back, tl_diag *d)
{
    char path[TL_TILE_PATH_MAX];
    tl_tile_path(path, t);
    *fell_back = false;
    tl_err e = r->st->ops->read(r->st, path, buf, len, d);
    if (e != TL_ERR_NOTFOUND || t->width == TL_TILE_WIDTH)
        return e;
    tl_tile full = *t;
    full.width = TL_TILE_WIDTH;
    tl_tile_path(path, &full);
    tl_diag d2;
    e = r->st->ops->read(r->st, path, buf, len, &d2);
    if (e == TL_OK) {
        *fell_back = true;
        return TL_OK;
    }
    return e == TL_ERR_NOTFOUND ? TL_ERR_NOTFOUND : tl_fail(d, e, "%s", d2.msg);
}

/* The hash tile (level, index) as it stands for the reader's size, from cache or store. */
static tl_err get_tile(tl_reader *r, unsigned level, uint64_t index, const uint8_t **data,
                       unsigned *width, tl_diag *d)
{
    tl_tile t;
    if (!tl_tile_for_size(&t, false, level, index, r->size))
        return tl_fail(d, TL_ERR_RANGE, "tile %u/%llu is beyond tree size %llu", level,
                       (unsigned long long)index, (unsigned long long)r->size);
    slot *victim = &r->slots[0];
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        slot *s = &r->slots[i];
        if (s->data && s->level == level && s->index == index && s->width == t.width) {
            s->stamp = ++r->clock;
            *data = s->data;
            *width = s->width;
            return TL_OK;
        }
        if (!s->data || s->stamp < victim->stamp)
            victim = s;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    bool fell_back = false;
    tl_err e = read_object(r, &t, &buf, &len, &fell_back, d);
    if (e == TL_ERR_NOTFOUND) {
        char path[TL_TILE_PATH_MAX];
        tl_tile_path(path, &t);
        return tl_fail(d, e, "tile %s is missing (needed for tree size %llu)", path,
                       (unsigned long long)r->size);
    }
    if (e != TL_OK)
        return e;
    size_t want = (size_t)(fell_back ? TL_TILE_WIDTH : t.width) * TL_HASH_LEN;
    if (len != want) {
        char path[TL_TILE_PATH_MAX];
        tl_tile_path(path, &t);
        free(buf);
        return tl_fail(d, TL_ERR_FORMAT, "tile %s%s has %zu bytes, want %zu", path,
                       fell_back ? " (full tile read as fallback)" : "", len, want);
    }
    free(victim->data);
    victim->data = buf;
    victim->width = t.width;
    victim->level = (uint8_t)level;
    victim->index = index;
    victim->entries = false;
    victim->stamp = ++r->clock;
    *data = buf;
    *width = t.width;
    return TL_OK;
}

tl_err tl_reader_hash(void *reader, unsigned height, uint64_t index, uint8_t out[TL_HASH_LEN])
{
    tl_reader *r = reader;
    if (height > 63 || (height > 0 && index > (UINT64_MAX >> height)) ||
        ((index + 1) << height) > r->size)
        return tl_fail(&r->err, TL_ERR_RANGE,
                       "node (height %u, index %llu) is not in a tree of size %llu", height,
                       (unsigned long long)index, (unsigned long long)r->size);
    memo *m = NULL;
    if (height % TL_TILE_HEIGHT != 0) {
        uint64_t k = (index * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)height << 56);
        m = &r->memo[(k >> 40) & (MEMO_SLOTS - 1)];
        if (m->height == height && m->index == index) {
            memcpy(out, m->hash, TL_HASH_LEN);
            return TL_OK;
        }
    }
    tl_tile t;
    unsigned first = 0;
    tl_tile_locate(&t, &first, height, index);
    const uint8_t *data = NULL;
    unsigned width = 0;
    tl_err e = get_tile(r, t.level, t.index, &data, &width, &r->err);
    if (e != TL_OK)
        return e;
    unsigned count = 1u << (height % TL_TILE_HEIGHT);
    if (first + count > width)
        return tl_fail(&r->err, TL_ERR_INTERNAL, "node (height %u, index %llu) past tile width",
                       height, (unsigned long long)index);
    tl_tile_subtree_hash(out, data + (size_t)first * TL_HASH_LEN, count);
    if (m) {
        m->height = (uint8_t)height;
        m->index = index;
        memcpy(m->hash, out, TL_HASH_LEN);
    }
    return TL_OK;
}

tl_err tl_reader_root(tl_reader *r, uint8_t out[static TL_HASH_LEN], tl_diag *d)
{
    tl_err e = tl_merkle_root(out, r->size, tl_reader_hash, r);
    if (e != TL_OK)
        return tl_fail(d, e, "%s", r->err.msg);
    return TL_OK;
}

tl_err tl_reader_entry(tl_reader *r, uint64_t index, uint8_t **out, size_t *outlen, tl_diag *d)
{
    if (index >= r->size)
        return tl_fail(d, TL_ERR_RANGE, "entry %llu is beyond tree size %llu",
                       (unsigned long long)index, (unsigned long long)r->size);
    tl_tile t;
    if (!tl_tile_for_size(&t, true, 0, index / TL_TILE_WIDTH, r->size))
        return tl_fail(d, TL_ERR_INTERNAL, "no bundle for entry %llu", (unsigned long long)index);
    uint8_t *buf = NULL;
    size_t len = 0;
    bool fell_back = false;
    tl_err e = read_object(r, &t, &buf, &len, &fell_back, d);
    char path[TL_TILE_PATH_MAX];
    tl_tile_path(path, &t);
    if (e == TL_ERR_NOTFOUND)
        return tl_fail(d, e, "entry bundle %s is missing", path);
    if (e != TL_OK)
        return e;
    size_t pos = 0;
    const uint8_t *ent = NULL;
    size_t elen = 0;
    uint64_t want = index % TL_TILE_WIDTH;
    for (uint64_t i = 0; i <= want; i++) {
        e = tl_bundle_next(buf, len, &pos, &ent, &elen);
        if (e != TL_OK) {
            free(buf);
            return tl_fail(d, TL_ERR_FORMAT, "entry bundle %s: %s at entry %llu", path,
                           e == TL_ERR_NOTFOUND ? "ends early" : "truncated",
                           (unsigned long long)i);
        }
    }
    uint8_t leaf[TL_HASH_LEN], stored[TL_HASH_LEN];
    tl_leaf_hash(leaf, ent, elen);
    e = tl_reader_hash(r, 0, index, stored);
    if (e != TL_OK) {
        free(buf);
        return tl_fail(d, e, "%s", r->err.msg);
    }
    if (memcmp(leaf, stored, TL_HASH_LEN) != 0) {
        free(buf);
        return tl_fail(d, TL_ERR_PROOF,
                       "entry %llu in bundle %s does not match its leaf hash in the tiles",
                       (unsigned long long)index, path);
    }
    uint8_t *copy = malloc(elen ? elen : 1);
    if (!copy) {
        free(buf);
        return tl_fail(d, TL_ERR_NOMEM, "reading entry %llu", (unsigned long long)index);
    }
    memcpy(copy, ent, elen);
    free(buf);
    *out = copy;
    *outlen = elen;
    return TL_OK;
}

tl_err tl_read_checkpoint(tl_store *st, const tl_vkey *key, tl_checkpoint *cp, char **note,
                          size_t *len, tl_diag *d)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    tl_err e = st->ops->read(st, "checkpoint", &buf, &n, d);
    if (e != TL_OK)
        return e;
    e = tl_checkpoint_open(cp, NULL, (const char *)buf, n, key, d);
    if (e != TL_OK) {
        free(buf);
        return tl_diag_prefix(d, e, "checkpoint");
    }
    if (note) {
        char *s = realloc(buf, n + 1);
        if (!s) {
            free(buf);
            return tl_fail(d, TL_ERR_NOMEM, "reading checkpoint");
        }
        s[n] = '\0';
        *note = s;
        if (len)
            *len = n;
    } else {
        free(buf);
    }
    return TL_OK;
}
