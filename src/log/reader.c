/* reader.c - reads a tree of a given size from any store's tiles (C2SP tlog-tiles v0.1.0):
 * perfect-subtree hashes for proofs, entries checked against their leaf hashes, the root.
 *
 * A tile is read "as it stands for the size": full if the size covers it, else the partial
 * tile of the size's width; if that partial file is missing (logs MAY delete partial tiles
 * once the full tile exists, and a size the log never published has none), the full tile
 * is read and truncated, as tlog-tiles allows.
 *
 * Where a node comes from (node (h, k) lives in the tile at level h/8, r = h%8 rows up):
 *
 *   full level-0 tiles     the bulk of a large log (39,063 tiles at 10M entries): too many to
 *                          keep. Kept instead, per tile once read whole, its 16 nodes of height
 *                          4 (the "summary", 512 bytes; in a tl_sumcache, shared by the readers
 *                          of a pool). A node of height 4..7 is then at most 7 node hashes
 *                          over the summary; one of height 0..3 needs the 16 leaf hashes of its
 *                          group, one 512-byte read_at() (at most 7 node hashes over them).
 *   other tiles            levels >= 1 and partial tiles (153 + 1 + the right edge at 10M):
 *                          expanded when read (every node of rows 1..7 computed once, 254 node
 *                          hashes for a full tile) into a set-associative cache indexed by
 *                          (level, index), so each node is a lookup.
 *
 * A random inclusion proof at 10M entries, warm, thus costs one 512-byte read and about 22
 * node hashes (before: 1.9 whole-tile reads and ~250 node hashes). A tile is checked for its
 * exact length whenever it is read whole, which is always the first time a reader (or a
 * pool) uses it; the 512-byte reads come only after that.
 *
 * Perfect subtrees never change, so everything cached stays valid when the size moves;
 * entries of the expanded cache carry the width they were read at.
 */
#include "treatylog/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/reader_shared.h"
#include "treatylog/tile.h"

#define SUM_NODES      16         /* height-4 nodes of a full tile */
#define GROUP          16         /* leaves under one height-4 node */
#define SUM_SLOTS      (1u << 16) /* summary slots, power of two */
#define SUM_STRIPES    64         /* mutexes of a shared summary cache, power of two */
#define XSETS          128        /* expanded-tile cache: sets (power of two) ... */
#define XWAYS          4          /* ... of this many tiles each: 512 tiles, 8 MiB at most */
#define XNODES         510        /* rows 0..7 of an expanded tile: 256 + 128 + ... + 2 */
#define TILE_BYTES     (TL_TILE_WIDTH * TL_HASH_LEN)
#define ENTRY_BUF_KEEP (1u << 20)  /* bundle buffer kept between calls */
#define ENTRY_STEP     (16u << 10) /* bundle bytes read at a time, at first */
#define OBJECT_MAX     (64u << 20) /* as the posix store: larger than any log object */

/* Offset of row r (nodes of height 8L + r) in an expanded tile: 512 - 512/2^r. */
static unsigned row_off(unsigned r)
{
    return 2u * TL_TILE_WIDTH - ((2u * TL_TILE_WIDTH) >> r);
}

/* ---- the summary cache ---- */

typedef struct sumslot {
    uint64_t key; /* tile index + 1; 0 = empty */
    uint8_t h4[SUM_NODES][TL_HASH_LEN];
} sumslot;

struct tl_sumcache {
    sumslot *slot; /* SUM_SLOTS, calloc'd: pages are taken as slots are written */
    bool shared;
    _Atomic size_t used; /* slots written at least once */
    pthread_mutex_t mu[SUM_STRIPES];
};

tl_err tl_sumcache_new(tl_sumcache **out, bool shared, tl_diag *d)
{
    tl_sumcache *c = calloc(1, sizeof *c);
    if (c)
        c->slot = calloc(SUM_SLOTS, sizeof *c->slot);
    if (!c || !c->slot) {
        free(c);
        return tl_fail(d, TL_ERR_NOMEM, "allocating a tile summary cache");
    }
    c->shared = shared;
    for (size_t i = 0; i < SUM_STRIPES; i++)
        pthread_mutex_init(&c->mu[i], NULL);
    *out = c;
    return TL_OK;
}

size_t tl_sumcache_bytes(const tl_sumcache *c)
{
    return atomic_load(&c->used) * sizeof(sumslot);
}

void tl_sumcache_free(tl_sumcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < SUM_STRIPES; i++)
        pthread_mutex_destroy(&c->mu[i]);
    free(c->slot);
    free(c);
}

/* Copies the summary of level-0 tile n into out; false if the cache does not hold it. */
static bool sum_get(tl_sumcache *c, uint64_t n, uint8_t out[SUM_NODES][TL_HASH_LEN])
{
    size_t i = (size_t)(n & (SUM_SLOTS - 1));
    pthread_mutex_t *mu = &c->mu[i & (SUM_STRIPES - 1)];
    if (c->shared)
        pthread_mutex_lock(mu);
    bool hit = c->slot[i].key == n + 1;
    if (hit)
        memcpy(out, c->slot[i].h4, sizeof c->slot[i].h4);
    if (c->shared)
        pthread_mutex_unlock(mu);
    return hit;
}

static void sum_put(tl_sumcache *c, uint64_t n, const uint8_t h4[SUM_NODES][TL_HASH_LEN])
{
    size_t i = (size_t)(n & (SUM_SLOTS - 1));
    pthread_mutex_t *mu = &c->mu[i & (SUM_STRIPES - 1)];
    if (c->shared)
        pthread_mutex_lock(mu);
    if (c->slot[i].key == 0)
        atomic_fetch_add(&c->used, 1);
    c->slot[i].key = n + 1;
    memcpy(c->slot[i].h4, h4, sizeof c->slot[i].h4);
    if (c->shared)
        pthread_mutex_unlock(mu);
}

/* ---- the reader ---- */

typedef struct xtile {
    uint8_t (*node)[TL_HASH_LEN]; /* XNODES hashes; NULL until the slot is first used */
    uint64_t index;
    uint64_t stamp;
    uint16_t width; /* 0: empty */
    uint8_t level;
} xtile;

struct tl_reader {
    tl_store *st;
    uint64_t size;
    tl_sumcache *sc;
    bool own_sc;
    uint64_t clock;
    /* The level-0 full tile last read whole, its summary, and the last group of 16 leaves
     * read on its own: the working set of one proof. */
    bool whole_ok, sum_ok, grp_ok;
    uint64_t whole_n, sum_n, grp_n;
    unsigned grp_g;
    uint8_t whole[TL_TILE_WIDTH][TL_HASH_LEN];
    uint8_t sum[SUM_NODES][TL_HASH_LEN];
    uint8_t grp[GROUP][TL_HASH_LEN];
    xtile x[XSETS * XWAYS];
    uint8_t io[TILE_BYTES + 1]; /* one tile as read, plus a byte to see a longer file */
    uint8_t *ebuf;              /* entry bundle being read */
    size_t ecap;
    tl_diag err; /* last error of a hash-source call */
};

tl_err tl_reader_new_shared(tl_reader **out, tl_store *st, uint64_t size, tl_sumcache *sc,
                            tl_diag *d)
{
    tl_reader *r = calloc(1, sizeof *r);
    if (!r)
        return tl_fail(d, TL_ERR_NOMEM, "allocating a reader");
    if (!sc) {
        tl_err e = tl_sumcache_new(&sc, false, d);
        if (e != TL_OK) {
            free(r);
            return e;
        }
        r->own_sc = true;
    }
    r->sc = sc;
    r->st = st;
    r->size = size;
    *out = r;
    return TL_OK;
}

tl_err tl_reader_new(tl_reader **out, tl_store *st, uint64_t size, tl_diag *d)
{
    return tl_reader_new_shared(out, st, size, NULL, d);
}

void tl_reader_free(tl_reader *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < XSETS * XWAYS; i++)
        free(r->x[i].node);
    if (r->own_sc)
        tl_sumcache_free(r->sc);
    free(r->ebuf);
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

/* Up to cap bytes of object `path` from offset off into buf: read_at() where the store has
 * it, else a whole read(). *len is the object's exact length when known (a whole read, or
 * a read_at that ended early), else UINT64_MAX. */
static tl_err fetch(tl_reader *r, const char *path, uint64_t off, uint8_t *buf, size_t cap,
                    size_t *got, uint64_t *len, tl_diag *d)
{
    tl_store *st = r->st;
    *got = 0;
    if (st->ops->read_at) {
        tl_err e = st->ops->read_at(st, path, off, buf, cap, got, d);
        *len = e == TL_OK && *got < cap ? off + *got : UINT64_MAX;
        return e;
    }
    uint8_t *all = NULL;
    size_t n = 0;
    tl_err e = st->ops->read(st, path, &all, &n, d);
    if (e != TL_OK)
        return e;
    if (off < n) {
        *got = n - (size_t)off < cap ? n - (size_t)off : cap;
        memcpy(buf, all + off, *got);
    }
    free(all);
    *len = n;
    return TL_OK;
}

/* The exact length of an object that fetch() found longer than expected, for the message. */
static size_t object_len(tl_reader *r, const char *path, uint64_t len)
{
    if (len != UINT64_MAX)
        return (size_t)len;
    uint8_t *all = NULL;
    size_t n = 0;
    tl_diag d;
    if (r->st->ops->read(r->st, path, &all, &n, &d) != TL_OK)
        return TILE_BYTES + 1;
    free(all);
    return n;
}

/* Reads hash tile t (as it stands for the reader's size) into r->io: t->width hashes, from
 * the partial tile, or from the full one when the partial is missing. Checks the length. */
static tl_err read_tile(tl_reader *r, const tl_tile *t, tl_diag *d)
{
    char path[TL_TILE_PATH_MAX], fpath[TL_TILE_PATH_MAX];
    tl_tile_path(path, t);
    size_t want = (size_t)t->width * TL_HASH_LEN, got = 0;
    uint64_t len = 0;
    bool fell_back = false;
    tl_err e = fetch(r, path, 0, r->io, want + 1, &got, &len, d);
    if (e == TL_ERR_NOTFOUND && t->width != TL_TILE_WIDTH) {
        tl_tile full = *t;
        full.width = TL_TILE_WIDTH;
        tl_tile_path(fpath, &full);
        tl_diag d2;
        e = fetch(r, fpath, 0, r->io, TILE_BYTES + 1, &got, &len, &d2);
        if (e == TL_OK) {
            fell_back = true;
            want = TILE_BYTES;
        } else if (e != TL_ERR_NOTFOUND) {
            e = tl_fail(d, e, "%s", d2.msg);
        }
    }
    if (e == TL_ERR_NOTFOUND)
        return tl_fail(d, e, "tile %s is missing (needed for tree size %llu)", path,
                       (unsigned long long)r->size);
    if (e != TL_OK)
        return e;
    if (got != want)
        return tl_fail(d, TL_ERR_FORMAT, "tile %s%s has %zu bytes, want %zu", path,
                       fell_back ? " (full tile read as fallback)" : "",
                       object_len(r, fell_back ? fpath : path, len), want);
    return TL_OK;
}

/* The expanded tile (level, index) of width t->width, from the cache or read and expanded. */
static tl_err get_xtile(tl_reader *r, const tl_tile *t, const xtile **out, tl_diag *d)
{
    xtile *set = &r->x[(size_t)((t->index + (uint64_t)t->level * 61u) & (XSETS - 1)) * XWAYS];
    xtile *victim = &set[0];
    for (size_t i = 0; i < XWAYS; i++) {
        xtile *x = &set[i];
        if (x->width == t->width && x->level == t->level && x->index == t->index) {
            x->stamp = ++r->clock;
            *out = x;
            return TL_OK;
        }
        if (x->width == 0 || (victim->width != 0 && x->stamp < victim->stamp))
            victim = x;
    }
    tl_err e = read_tile(r, t, d);
    if (e != TL_OK)
        return e;
    if (!victim->node) {
        victim->node = malloc(XNODES * TL_HASH_LEN);
        if (!victim->node)
            return tl_fail(d, TL_ERR_NOMEM, "tile cache");
    }
    unsigned w = t->width;
    memcpy(victim->node, r->io, (size_t)w * TL_HASH_LEN);
    for (unsigned row = 1; row < TL_TILE_HEIGHT; row++) {
        uint8_t(*below)[TL_HASH_LEN] = victim->node + row_off(row - 1);
        uint8_t(*here)[TL_HASH_LEN] = victim->node + row_off(row);
        for (unsigned j = 0; j < (w >> row); j++)
            tl_node_hash(here[j], below[2 * j], below[2 * j + 1]);
    }
    victim->width = t->width;
    victim->level = t->level;
    victim->index = t->index;
    victim->stamp = ++r->clock;
    *out = victim;
    return TL_OK;
}

/* Full level-0 tile n read whole into r->whole (length checked). */
static tl_err read_whole(tl_reader *r, const tl_tile *t, tl_diag *d)
{
    if (r->whole_ok && r->whole_n == t->index)
        return TL_OK;
    r->whole_ok = false;
    tl_err e = read_tile(r, t, d);
    if (e != TL_OK)
        return e;
    memcpy(r->whole, r->io, TILE_BYTES);
    r->whole_n = t->index;
    r->whole_ok = true;
    return TL_OK;
}

/* The summary of full level-0 tile t into r->sum: from the reader, the cache, or computed
 * from the tile read whole (240 node hashes) and then cached. */
static tl_err get_sum(tl_reader *r, const tl_tile *t, tl_diag *d)
{
    if (r->sum_ok && r->sum_n == t->index)
        return TL_OK;
    r->sum_ok = false;
    if (!sum_get(r->sc, t->index, r->sum)) {
        tl_err e = read_whole(r, t, d);
        if (e != TL_OK)
            return e;
        for (unsigned j = 0; j < SUM_NODES; j++)
            tl_tile_subtree_hash(r->sum[j], r->whole[j * GROUP], GROUP);
        sum_put(r->sc, t->index, (const uint8_t(*)[TL_HASH_LEN])r->sum);
    }
    r->sum_n = t->index;
    r->sum_ok = true;
    return TL_OK;
}

/* The leaf hashes of full level-0 tile t around position pos: *leaves points at the group of
 * 16 holding pos (or at the whole tile), *base is the position of its first leaf. */
static tl_err get_leaves(tl_reader *r, const tl_tile *t, unsigned pos, const uint8_t **leaves,
                         unsigned *base, tl_diag *d)
{
    unsigned g = pos / GROUP;
    if (r->whole_ok && r->whole_n == t->index) {
        *leaves = &r->whole[0][0];
        *base = 0;
        return TL_OK;
    }
    if (r->grp_ok && r->grp_n == t->index && r->grp_g == g) {
        *leaves = &r->grp[0][0];
        *base = g * GROUP;
        return TL_OK;
    }
    /* One group on its own only for a tile whose length was checked (it has a summary) and
     * when not walking through the tile (a second group of the same tile reads it whole). */
    bool summarised = (r->sum_ok && r->sum_n == t->index) || sum_get(r->sc, t->index, r->sum);
    if (summarised) {
        r->sum_n = t->index;
        r->sum_ok = true;
    }
    if (summarised && !(r->grp_ok && r->grp_n == t->index)) {
        char path[TL_TILE_PATH_MAX];
        tl_tile_path(path, t);
        size_t got = 0;
        uint64_t len = 0;
        tl_diag d2;
        r->grp_ok = false;
        if (fetch(r, path, (uint64_t)g * GROUP * TL_HASH_LEN, &r->grp[0][0], sizeof r->grp, &got,
                  &len, &d2) == TL_OK &&
            got == sizeof r->grp) {
            r->grp_ok = true;
            r->grp_n = t->index;
            r->grp_g = g;
            *leaves = &r->grp[0][0];
            *base = g * GROUP;
            return TL_OK;
        }
        /* Anything odd: read it whole, which reports the error as it always did. */
    }
    tl_err e = read_whole(r, t, d);
    if (e != TL_OK)
        return e;
    *leaves = &r->whole[0][0];
    *base = 0;
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
    tl_tile t;
    unsigned first = 0;
    tl_tile_locate(&t, &first, height, index);
    unsigned row = height % TL_TILE_HEIGHT, count = 1u << row;
    if (!tl_tile_for_size(&t, false, t.level, t.index, r->size))
        return tl_fail(&r->err, TL_ERR_RANGE, "tile %u/%llu is beyond tree size %llu", t.level,
                       (unsigned long long)t.index, (unsigned long long)r->size);
    if (first + count > t.width)
        return tl_fail(&r->err, TL_ERR_INTERNAL, "node (height %u, index %llu) past tile width",
                       height, (unsigned long long)index);
    if (t.level == 0 && t.width == TL_TILE_WIDTH) {
        if (row >= 4) {
            tl_err e = get_sum(r, &t, &r->err);
            if (e != TL_OK)
                return e;
            tl_tile_subtree_hash(out, r->sum[first / GROUP], count / GROUP);
            return TL_OK;
        }
        const uint8_t *leaves = NULL;
        unsigned base = 0;
        tl_err e = get_leaves(r, &t, first, &leaves, &base, &r->err);
        if (e != TL_OK)
            return e;
        tl_tile_subtree_hash(out, leaves + (size_t)(first - base) * TL_HASH_LEN, count);
        return TL_OK;
    }
    const xtile *x = NULL;
    tl_err e = get_xtile(r, &t, &x, &r->err);
    if (e != TL_OK)
        return e;
    memcpy(out, x->node[row_off(row) + (first >> row)], TL_HASH_LEN);
    return TL_OK;
}

tl_err tl_reader_warm_until(tl_reader *r, uint64_t *tiles, const _Atomic bool *stop, tl_diag *d)
{
    uint64_t full = r->size / TL_TILE_WIDTH, done = 0;
    uint8_t probe[SUM_NODES][TL_HASH_LEN];
    tl_err e = TL_OK;
    for (uint64_t n = 0; n < full && e == TL_OK; n++) {
        if (stop && (n & 63) == 0 && atomic_load_explicit(stop, memory_order_relaxed))
            break;
        if (sum_get(r->sc, n, probe))
            continue;
        tl_tile t = {.entries = false, .level = 0, .index = n, .width = TL_TILE_WIDTH};
        e = get_sum(r, &t, d);
        done++;
    }
    for (unsigned level = 1; level <= TL_TILE_LEVEL_MAX && e == TL_OK; level++) {
        uint64_t cnt = tl_tile_level_count(r->size, level);
        if (cnt == 0)
            break;
        for (uint64_t n = 0; n * TL_TILE_WIDTH < cnt && e == TL_OK; n++) {
            tl_tile t;
            const xtile *x = NULL;
            (void)tl_tile_for_size(&t, false, level, n, r->size);
            e = get_xtile(r, &t, &x, d);
        }
    }
    if (tiles)
        *tiles = done;
    return e;
}

tl_err tl_reader_warm(tl_reader *r, uint64_t *tiles, tl_diag *d)
{
    return tl_reader_warm_until(r, tiles, NULL, d);
}

tl_err tl_reader_root(tl_reader *r, uint8_t out[static TL_HASH_LEN], tl_diag *d)
{
    tl_err e = tl_merkle_root(out, r->size, tl_reader_hash, r);
    if (e != TL_OK)
        return tl_fail(d, e, "%s", r->err.msg);
    return TL_OK;
}

/* Reads the bundle at `path` into r->ebuf until entry `want` is complete or the object ends:
 * the entry in *ent and *elen, or in *berr the tl_bundle_next error at entry *at. */
static tl_err read_bundle_to(tl_reader *r, const char *path, uint64_t want, const uint8_t **ent,
                             size_t *elen, tl_err *berr, uint64_t *at, tl_diag *d)
{
    size_t have = 0, pos = 0;
    bool eof = false;
    uint64_t i = 0;
    *berr = TL_OK;
    if (!r->st->ops->read_at) { /* e.g. HTTP: one request for the whole bundle */
        uint8_t *all = NULL;
        tl_err e = r->st->ops->read(r->st, path, &all, &have, d);
        if (e != TL_OK)
            return e;
        free(r->ebuf);
        r->ebuf = all;
        r->ecap = have;
        eof = true;
    }
    for (;;) {
        while (i <= want) {
            tl_err be = tl_bundle_next(r->ebuf, have, &pos, ent, elen);
            if (be == TL_OK) {
                i++;
                continue;
            }
            if (eof) {
                *berr = be;
                *at = i;
                return TL_OK;
            }
            break; /* need more bytes */
        }
        if (i > want)
            return TL_OK;
        if (have == r->ecap) {
            size_t cap = r->ecap ? 2 * r->ecap : 65536;
            if (cap > OBJECT_MAX)
                return tl_fail(d, TL_ERR_TOOBIG, "%s: larger than any log object", path);
            uint8_t *nb = realloc(r->ebuf, cap);
            if (!nb)
                return tl_fail(d, TL_ERR_NOMEM, "reading %s", path);
            r->ebuf = nb;
            r->ecap = cap;
        }
        /* Steps of 16 KB: an entry half-way through a 66 KB bundle of 256-byte entries costs
         * 48 KB of copying, not 66 (the copy from the page cache dominates this call). */
        size_t step = r->ecap - have < ENTRY_STEP ? r->ecap - have : ENTRY_STEP;
        if (have >= 4 * ENTRY_STEP)
            step = r->ecap - have;
        size_t got = 0;
        uint64_t len = 0;
        tl_err e = fetch(r, path, have, r->ebuf + have, step, &got, &len, d);
        if (e != TL_OK)
            return e;
        have += got;
        eof = len != UINT64_MAX;
    }
}

tl_err tl_reader_entry(tl_reader *r, uint64_t index, uint8_t **out, size_t *outlen, tl_diag *d)
{
    if (index >= r->size)
        return tl_fail(d, TL_ERR_RANGE, "entry %llu is beyond tree size %llu",
                       (unsigned long long)index, (unsigned long long)r->size);
    tl_tile t;
    if (!tl_tile_for_size(&t, true, 0, index / TL_TILE_WIDTH, r->size))
        return tl_fail(d, TL_ERR_INTERNAL, "no bundle for entry %llu", (unsigned long long)index);
    char path[TL_TILE_PATH_MAX];
    tl_tile_path(path, &t);
    uint64_t want = index % TL_TILE_WIDTH, at = 0;
    const uint8_t *ent = NULL;
    size_t elen = 0;
    tl_err berr = TL_OK;
    tl_err e = read_bundle_to(r, path, want, &ent, &elen, &berr, &at, d);
    if (e == TL_ERR_NOTFOUND && t.width != TL_TILE_WIDTH) {
        tl_tile full = t;
        full.width = TL_TILE_WIDTH;
        char fpath[TL_TILE_PATH_MAX];
        tl_tile_path(fpath, &full);
        tl_diag d2;
        e = read_bundle_to(r, fpath, want, &ent, &elen, &berr, &at, &d2);
        if (e != TL_OK && e != TL_ERR_NOTFOUND)
            e = tl_fail(d, e, "%s", d2.msg);
    }
    if (e == TL_ERR_NOTFOUND)
        e = tl_fail(d, e, "entry bundle %s is missing", path);
    if (e == TL_OK && berr != TL_OK)
        e = tl_fail(d, TL_ERR_FORMAT, "entry bundle %s: %s at entry %llu", path,
                    berr == TL_ERR_NOTFOUND ? "ends early" : "truncated", (unsigned long long)at);
    uint8_t leaf[TL_HASH_LEN], stored[TL_HASH_LEN];
    if (e == TL_OK) {
        tl_leaf_hash(leaf, ent, elen);
        e = tl_reader_hash(r, 0, index, stored);
        if (e != TL_OK)
            e = tl_fail(d, e, "%s", r->err.msg);
    }
    if (e == TL_OK && memcmp(leaf, stored, TL_HASH_LEN) != 0)
        e = tl_fail(d, TL_ERR_PROOF,
                    "entry %llu in bundle %s does not match its leaf hash in the tiles",
                    (unsigned long long)index, path);
    uint8_t *copy = NULL;
    if (e == TL_OK) {
        copy = malloc(elen ? elen : 1);
        if (!copy)
            e = tl_fail(d, TL_ERR_NOMEM, "reading entry %llu", (unsigned long long)index);
    }
    if (copy) {
        memcpy(copy, ent, elen);
        *out = copy;
        *outlen = elen;
    }
    if (r->ecap > ENTRY_BUF_KEEP) {
        free(r->ebuf);
        r->ebuf = NULL;
        r->ecap = 0;
    }
    return e;
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
