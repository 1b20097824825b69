/* writer.c - the log writer: stages entries into C2SP tlog-tiles (hash tiles and entry
 * bundles), then publishes a signed C2SP tlog-checkpoint as the commit point.
 *
 * State (owned by the one writer thread): the Merkle frontier of the staged tree, the
 * right-edge (partial) tile of each level and the partial entry bundle. Full tiles are
 * staged as soon as they complete; the partial ones at publish. Publishing order, which is
 * what makes a crash at any moment safe (docs/decisions/0001-checkpoint-is-the-commit-point.md):
 *   1. stage every tile and bundle of the new size   (not yet durable, not referenced)
 *   2. store sync                                     (all of them durable)
 *   3. sign, commit "checkpoint"                      (the commit point)
 *   4. stage checkpoints/<size>                       (archive; repaired at open if lost)
 * Opening reads only the checkpoint and the right edge of the tiles: its cost does not grow
 * with the log. If a pending marker names a size past the published one, the partial tiles
 * that unpublished size left are removed first: otherwise a later, larger checkpoint would
 * make a stale partial of the same index and a smaller width look published. (Full tiles
 * need no cleanup: one is always rewritten before any checkpoint covers it.) The marker is
 * left in place after a commit (it then names the published size, which needs no cleanup)
 * and rewritten in place by the next publish; open removes it.
 */
#include "treatylog/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "treatylog/note.h"
#include "treatylog/text.h"
#include "treatylog/tile.h"

#define KEY_PATH ".treatylog/log.key"
#define PENDING_PATH ".treatylog/pending"
#define VKEY_PATH ".treatylog/log.vkey"
#define LEVELS 64

typedef struct edge {
    unsigned n; /* hashes in the right-edge tile of this level */
    uint8_t h[TL_TILE_WIDTH][TL_HASH_LEN];
} edge;

struct tl_log {
    tl_store *st;
    tl_skey key;
    char origin[TL_ORIGIN_MAX + 1];
    /* published */
    uint64_t pub_size;
    char *cp_note;
    size_t cp_len;
    /* staged (== published after open, publish or rollback) */
    tl_frontier front;
    edge *lvl[LEVELS];   /* lazily allocated */
    uint8_t *bundle;     /* encoded entries of the partial bundle */
    size_t bundle_len, bundle_cap;
    unsigned bundle_n;
    tl_err sink_err;     /* first error inside the frontier sink */
    tl_diag sink_diag;
    bool broken;         /* the commit point failed: refuse writes until reopened */
};

static tl_err stage_tile(tl_log *l, bool entries, unsigned level, uint64_t index,
                         unsigned width, const uint8_t *data, size_t len, tl_diag *d)
{
    tl_tile t = {.entries = entries, .level = (uint8_t)level, .index = index,
                 .width = (uint16_t)width};
    char path[TL_TILE_PATH_MAX];
    tl_tile_path(path, &t);
    return l->st->ops->stage(l->st, path, data, len, d);
}

static tl_err get_edge(tl_log *l, unsigned level, edge **out, tl_diag *d)
{
    if (level >= LEVELS)
        return tl_fail(d, TL_ERR_INTERNAL, "tile level %u", level);
    if (!l->lvl[level]) {
        l->lvl[level] = calloc(1, sizeof(edge));
        if (!l->lvl[level])
            return tl_fail(d, TL_ERR_NOMEM, "tile buffer");
    }
    *out = l->lvl[level];
    return TL_OK;
}

/* Frontier sink: every completed node of height 8L is the next hash of level L's tile. */
static void on_node(void *ctx, unsigned height, uint64_t index, const uint8_t hash[TL_HASH_LEN])
{
    tl_log *l = ctx;
    if (height % TL_TILE_HEIGHT != 0 || l->sink_err != TL_OK)
        return;
    unsigned level = height / TL_TILE_HEIGHT;
    edge *e = NULL;
    tl_err err = get_edge(l, level, &e, &l->sink_diag);
    if (err == TL_OK && e->n != index % TL_TILE_WIDTH)
        err = tl_fail(&l->sink_diag, TL_ERR_INTERNAL, "level %u tile out of step", level);
    if (err != TL_OK) {
        l->sink_err = err;
        return;
    }
    memcpy(e->h[e->n++], hash, TL_HASH_LEN);
    if (e->n == TL_TILE_WIDTH) {
        err = stage_tile(l, false, level, index / TL_TILE_WIDTH, TL_TILE_WIDTH, &e->h[0][0],
                         sizeof e->h, &l->sink_diag);
        if (err != TL_OK)
            l->sink_err = err;
        e->n = 0;
    }
}

static void reset_staged(tl_log *l)
{
    for (unsigned i = 0; i < LEVELS; i++) {
        if (l->lvl[i])
            l->lvl[i]->n = 0;
    }
    l->bundle_len = 0;
    l->bundle_n = 0;
    l->sink_err = TL_OK;
}

/* Loads the published state: checkpoint, right-edge tiles, partial bundle, frontier. */
static tl_err load_state(tl_log *l, tl_diag *d)
{
    reset_staged(l);
    tl_checkpoint cp;
    char *note = NULL;
    size_t nlen = 0;
    tl_err e = tl_read_checkpoint(l->st, &l->key.vkey, &cp, &note, &nlen, d);
    if (e != TL_OK)
        return e;
    free(l->cp_note);
    l->cp_note = note;
    l->cp_len = nlen;
    l->pub_size = cp.size;
    memcpy(l->origin, cp.origin, cp.origin_len + 1);

    tl_reader *r = NULL;
    e = tl_reader_new(&r, l->st, cp.size, d);
    if (e != TL_OK)
        return e;
    /* Right-edge hash tiles. */
    for (unsigned level = 0; level < LEVELS && e == TL_OK; level++) {
        uint64_t cnt = tl_tile_level_count(cp.size, level);
        if (cnt == 0)
            break;
        unsigned w = (unsigned)(cnt % TL_TILE_WIDTH);
        if (w == 0)
            continue;
        edge *ed = NULL;
        e = get_edge(l, level, &ed, d);
        for (unsigned i = 0; i < w && e == TL_OK; i++) {
            uint64_t k = cnt - w + i;
            if (tl_reader_hash(r, level * TL_TILE_HEIGHT, k, ed->h[i]) != TL_OK)
                e = tl_fail(d, TL_ERR_NOTFOUND, "%s", tl_reader_error(r));
        }
        if (e == TL_OK)
            ed->n = w;
    }
    /* Partial bundle, re-encoded from its entries (each checked against its leaf hash). */
    uint64_t w0 = cp.size % TL_TILE_WIDTH;
    for (uint64_t i = cp.size - w0; i < cp.size && e == TL_OK; i++) {
        uint8_t *ent = NULL;
        size_t elen = 0;
        e = tl_reader_entry(r, i, &ent, &elen, d);
        if (e != TL_OK)
            break;
        if (l->bundle_len + 2 + elen > l->bundle_cap) {
            size_t cap = l->bundle_cap ? l->bundle_cap : 65536;
            while (cap < l->bundle_len + 2 + elen)
                cap *= 2;
            uint8_t *nb = realloc(l->bundle, cap);
            if (!nb) {
                free(ent);
                e = tl_fail(d, TL_ERR_NOMEM, "bundle buffer");
                break;
            }
            l->bundle = nb;
            l->bundle_cap = cap;
        }
        l->bundle_len += tl_bundle_put(l->bundle + l->bundle_len, ent, elen);
        l->bundle_n++;
        free(ent);
    }
    if (e == TL_OK) {
        e = tl_frontier_load(&l->front, cp.size, tl_reader_hash, r);
        if (e != TL_OK)
            e = tl_fail(d, e, "%s", tl_reader_error(r));
    }
    tl_reader_free(r);
    if (e != TL_OK)
        return tl_diag_prefix(d, e, "loading the log state at size %llu",
                              (unsigned long long)cp.size);
    uint8_t root[TL_HASH_LEN];
    tl_frontier_root(&l->front, root);
    if (memcmp(root, cp.root, TL_HASH_LEN) != 0)
        return tl_fail(d, TL_ERR_PROOF,
                       "the tiles do not match the checkpoint (size %llu): the log is corrupt; "
                       "run 'treatylog audit' to find the bad tile",
                       (unsigned long long)cp.size);
    return TL_OK;
}

/* Makes sure checkpoints/<size> holds the published checkpoint (lost if a crash came
 * between the commit and the archive write). */
static tl_err repair_archive(tl_log *l, tl_diag *d)
{
    char path[64];
    int n = snprintf(path, sizeof path, "checkpoints/%llu", (unsigned long long)l->pub_size);
    if (n < 0 || (size_t)n >= sizeof path)
        return tl_fail(d, TL_ERR_INTERNAL, "archive path");
    uint8_t *buf = NULL;
    size_t len = 0;
    tl_err e = l->st->ops->read(l->st, path, &buf, &len, d);
    if (e == TL_OK) {
        bool same = len == l->cp_len && memcmp(buf, l->cp_note, len) == 0;
        free(buf);
        if (same)
            return TL_OK;
    } else if (e != TL_ERR_NOTFOUND) {
        return e;
    }
    return l->st->ops->stage(l->st, path, (const uint8_t *)l->cp_note, l->cp_len, d);
}

/* The partial objects a tree of `size` has (per level: index, width), for cleanup. */
static tl_err remove_partials_of(tl_log *l, uint64_t size, uint64_t keep_size, tl_diag *d)
{
    tl_err e = TL_OK;
    for (unsigned level = 0; level < LEVELS && e == TL_OK; level++) {
        uint64_t cnt = tl_tile_level_count(size, level);
        if (cnt == 0)
            break;
        uint64_t kcnt = tl_tile_level_count(keep_size, level);
        if (cnt % TL_TILE_WIDTH == 0 || cnt == kcnt)
            continue; /* no partial, or the same one the kept size has */
        tl_tile t = {.entries = false, .level = (uint8_t)level, .index = cnt / TL_TILE_WIDTH,
                     .width = (uint16_t)(cnt % TL_TILE_WIDTH)};
        char path[TL_TILE_PATH_MAX];
        tl_tile_path(path, &t);
        e = l->st->ops->remove(l->st, path, d);
        if (e == TL_OK && level == 0) {
            t.entries = true;
            tl_tile_path(path, &t);
            e = l->st->ops->remove(l->st, path, d);
        }
    }
    return e;
}

/* After a crash between "pending" and the commit: remove what the unpublished size left. */
static tl_err clean_pending(tl_log *l, tl_diag *d)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    tl_err e = l->st->ops->read(l->st, PENDING_PATH, &buf, &len, d);
    if (e == TL_ERR_NOTFOUND)
        return TL_OK;
    if (e != TL_OK)
        return e;
    uint64_t q = 0;
    bool valid = len > 9 && memcmp(buf, "pending ", 8) == 0 && buf[len - 1] == '\n' &&
                 tl_parse_u64(&q, (const char *)buf + 8, len - 9) == TL_OK;
    free(buf);
    /* A torn marker was never fsynced, so nothing was staged after it. */
    if (valid && q > l->pub_size) {
        e = remove_partials_of(l, q, l->pub_size, d);
        if (e == TL_OK)
            e = l->st->ops->sync(l->st, d);
    }
    if (e == TL_OK)
        e = l->st->ops->remove(l->st, PENDING_PATH, d);
    return e;
}

static tl_err read_key(tl_store *st, tl_skey *key, tl_diag *d)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    tl_err e = st->ops->read(st, KEY_PATH, &buf, &len, d);
    if (e == TL_ERR_NOTFOUND)
        return tl_fail(d, TL_ERR_NOTFOUND,
                       "no signing key in the log directory (" KEY_PATH
                       "): not a treatylog log, or created elsewhere");
    if (e != TL_OK)
        return e;
    while (len > 0 && buf[len - 1] == '\n')
        len--;
    e = tl_skey_parse(key, (const char *)buf, len, d);
    sodium_memzero(buf, len);
    free(buf);
    if (e != TL_OK)
        return tl_diag_prefix(d, e, KEY_PATH);
    if (key->vkey.type != TL_KEY_ED25519)
        return tl_fail(d, TL_ERR_FORMAT, KEY_PATH ": not an Ed25519 (type 0x01) log key");
    return TL_OK;
}

tl_err tl_log_open(tl_log **out, const char *dir, const tl_sys *sys, tl_diag *d)
{
    tl_log *l = calloc(1, sizeof *l);
    if (!l)
        return tl_fail(d, TL_ERR_NOMEM, "opening %s", dir);
    tl_err e = tl_store_posix_open(&l->st, dir, true, sys, d);
    if (e == TL_OK)
        e = read_key(l->st, &l->key, d);
    if (e == TL_OK)
        e = load_state(l, d);
    if (e == TL_OK)
        e = clean_pending(l, d);
    if (e == TL_OK)
        e = repair_archive(l, d);
    if (e != TL_OK) {
        tl_log_close(l);
        return e;
    }
    *out = l;
    return TL_OK;
}

tl_err tl_log_create(const char *dir, const char *origin, const tl_skey *key, tl_diag *d)
{
    if (key->vkey.type != TL_KEY_ED25519)
        return tl_fail(d, TL_ERR_USAGE, "a log key must be an Ed25519 (type 0x01) key");
    tl_checkpoint cp = {0};
    const char *o = origin ? origin : key->vkey.name;
    size_t olen = strlen(o);
    if (olen == 0 || olen > TL_ORIGIN_MAX)
        return tl_fail(d, TL_ERR_USAGE, "origin must be 1 to %d bytes", TL_ORIGIN_MAX);
    memcpy(cp.origin, o, olen + 1);
    cp.origin_len = olen;
    cp.size = 0;
    memcpy(cp.root, TL_EMPTY_ROOT, TL_HASH_LEN);
    char text[TL_CHECKPOINT_TEXT_MAX];
    size_t tlen = tl_checkpoint_format(text, &cp);
    tl_checkpoint check;
    tl_err e = tl_checkpoint_parse(&check, text, tlen, d);
    if (e != TL_OK)
        return tl_diag_prefix(d, TL_ERR_USAGE, "origin %s", o);

    tl_store *st = NULL;
    e = tl_store_posix_create(&st, dir, NULL, d);
    if (e != TL_OK)
        return e;
    char skey[TL_SKEY_TEXT_MAX + 1], vkey[TL_VKEY_TEXT_MAX + 1];
    size_t sn = tl_skey_format(skey, key);
    skey[sn++] = '\n';
    size_t vn = tl_vkey_format(vkey, &key->vkey);
    vkey[vn++] = '\n';
    /* The secret key file is created 0600 directly, never through a world-readable temp. */
    char kpath[4096];
    int pn = snprintf(kpath, sizeof kpath, "%s/" KEY_PATH, dir);
    if (pn < 0 || (size_t)pn >= sizeof kpath) {
        st->ops->close(st);
        return tl_fail(d, TL_ERR_TOOBIG, "path too long: %s", dir);
    }
    int fd = open(kpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        e = tl_fail(d, TL_ERR_IO, "create %s: %s", kpath, strerror(errno));
    } else {
        ssize_t w = write(fd, skey, sn);
        if (w != (ssize_t)sn || fsync(fd) != 0)
            e = tl_fail(d, TL_ERR_IO, "write %s: %s", kpath, strerror(errno));
        if (close(fd) != 0 && e == TL_OK)
            e = tl_fail(d, TL_ERR_IO, "close %s: %s", kpath, strerror(errno));
    }
    sodium_memzero(skey, sizeof skey);
    if (e == TL_OK)
        e = st->ops->stage(st, VKEY_PATH, (const uint8_t *)vkey, vn, d);
    char *note = NULL;
    size_t nlen = 0;
    if (e == TL_OK)
        e = tl_note_sign(&note, &nlen, text, tlen, key, d);
    if (e == TL_OK)
        e = st->ops->stage(st, "checkpoints/0", (const uint8_t *)note, nlen, d);
    if (e == TL_OK)
        e = st->ops->sync(st, d);
    if (e == TL_OK)
        e = st->ops->commit(st, (const uint8_t *)note, nlen, d);
    free(note);
    st->ops->close(st);
    return e;
}

tl_err tl_log_add(tl_log *l, const uint8_t *entry, size_t len, uint64_t *index, tl_diag *d)
{
    if (l->broken)
        return tl_fail(d, TL_ERR_IO, "the log stopped after a failed commit; reopen it");
    if (len > TL_ENTRY_MAX)
        return tl_fail(d, TL_ERR_TOOBIG, "entry of %zu bytes is over the %d-byte limit", len,
                       TL_ENTRY_MAX);
    if (l->bundle_len + 2 + len > l->bundle_cap) {
        size_t cap = l->bundle_cap ? l->bundle_cap : 65536;
        while (cap < l->bundle_len + 2 + len)
            cap *= 2;
        uint8_t *nb = realloc(l->bundle, cap);
        if (!nb)
            return tl_fail(d, TL_ERR_NOMEM, "bundle buffer");
        l->bundle = nb;
        l->bundle_cap = cap;
    }
    uint64_t idx = l->front.size;
    uint8_t leaf[TL_HASH_LEN];
    tl_leaf_hash(leaf, entry, len);
    l->bundle_len += tl_bundle_put(l->bundle + l->bundle_len, entry, len);
    l->bundle_n++;
    tl_err e = TL_OK;
    if (l->bundle_n == TL_TILE_WIDTH) {
        e = stage_tile(l, true, 0, idx / TL_TILE_WIDTH, TL_TILE_WIDTH, l->bundle, l->bundle_len,
                       d);
        l->bundle_len = 0;
        l->bundle_n = 0;
    }
    if (e == TL_OK) {
        e = tl_frontier_append(&l->front, leaf, on_node, l);
        if (e == TL_OK && l->sink_err != TL_OK)
            e = tl_fail(d, l->sink_err, "%s", l->sink_diag.msg);
    }
    if (e != TL_OK) {
        tl_diag d2;
        if (tl_log_rollback(l, &d2) != TL_OK)
            l->broken = true;
        return e;
    }
    if (index)
        *index = idx;
    return TL_OK;
}

tl_err tl_log_publish(tl_log *l, tl_diag *d)
{
    if (l->broken)
        return tl_fail(d, TL_ERR_IO, "the log stopped after a failed commit; reopen it");
    uint64_t size = l->front.size;
    if (size == l->pub_size)
        return TL_OK;
    /* 0. The marker that lets a later open clean up after a crash before the commit. */
    char marker[40];
    int mn = snprintf(marker, sizeof marker, "pending %llu\n", (unsigned long long)size);
    tl_err e = mn > 0 && (size_t)mn < sizeof marker
                   ? l->st->ops->put_sync(l->st, PENDING_PATH, (const uint8_t *)marker,
                                          (size_t)mn, d)
                   : tl_fail(d, TL_ERR_INTERNAL, "marker");
    /* 1. Partial tiles and bundle of the new size. */
    for (unsigned level = 0; level < LEVELS && e == TL_OK; level++) {
        uint64_t cnt = tl_tile_level_count(size, level);
        if (cnt == 0)
            break;
        unsigned w = (unsigned)(cnt % TL_TILE_WIDTH);
        if (w == 0)
            continue;
        if (!l->lvl[level] || l->lvl[level]->n != w) {
            e = tl_fail(d, TL_ERR_INTERNAL, "level %u edge has %u hashes, want %u", level,
                        l->lvl[level] ? l->lvl[level]->n : 0, w);
            break;
        }
        e = stage_tile(l, false, level, cnt / TL_TILE_WIDTH, w, &l->lvl[level]->h[0][0],
                       (size_t)w * TL_HASH_LEN, d);
    }
    if (e == TL_OK && l->bundle_n > 0)
        e = stage_tile(l, true, 0, size / TL_TILE_WIDTH, l->bundle_n, l->bundle, l->bundle_len,
                       d);
    /* 2. Durable. */
    if (e == TL_OK)
        e = l->st->ops->sync(l->st, d);
    /* 3. Sign and commit. */
    tl_checkpoint cp = {0};
    memcpy(cp.origin, l->origin, strlen(l->origin) + 1);
    cp.origin_len = strlen(l->origin);
    cp.size = size;
    tl_frontier_root(&l->front, cp.root);
    char text[TL_CHECKPOINT_TEXT_MAX];
    size_t tlen = tl_checkpoint_format(text, &cp);
    char *note = NULL;
    size_t nlen = 0;
    if (e == TL_OK)
        e = tl_note_sign(&note, &nlen, text, tlen, &l->key, d);
    if (e != TL_OK) {
        tl_diag d2;
        if (tl_log_rollback(l, &d2) != TL_OK)
            l->broken = true;
        free(note);
        return e;
    }
    e = l->st->ops->commit(l->st, (const uint8_t *)note, nlen, d);
    if (e != TL_OK) {
        /* Unknown outcome at the commit point: stop; reopening recovers from the disk. */
        l->broken = true;
        free(note);
        return tl_diag_prefix(d, e, "publishing checkpoint %llu", (unsigned long long)size);
    }
    free(l->cp_note);
    l->cp_note = note;
    l->cp_len = nlen;
    l->pub_size = size;
    /* The marker stays: naming a size <= the published one, it is harmless (clean_pending
     * ignores it), and the next publish rewrites the same file in place instead of creating
     * a new inode (ext4 without a journal scans recently deleted inodes on every create). */
    /* 4. Archive (made durable by the next sync; repaired at open if lost). The checkpoint is
     * already published, so a failure here must not be reported as a failed publish. */
    tl_diag d2;
    (void)repair_archive(l, &d2);
    return TL_OK;
}

tl_err tl_log_rollback(tl_log *l, tl_diag *d)
{
    if (l->front.size == l->pub_size && l->sink_err == TL_OK)
        return TL_OK;
    tl_err e = load_state(l, d);
    if (e != TL_OK)
        l->broken = true;
    return e;
}

uint64_t tl_log_size(const tl_log *l)
{
    return l->pub_size;
}

uint64_t tl_log_staged_size(const tl_log *l)
{
    return l->front.size;
}

const char *tl_log_checkpoint(const tl_log *l, size_t *len)
{
    if (len)
        *len = l->cp_len;
    return l->cp_note;
}

const tl_vkey *tl_log_vkey(const tl_log *l)
{
    return &l->key.vkey;
}

const char *tl_log_origin(const tl_log *l)
{
    return l->origin;
}

tl_err tl_log_sign(const tl_log *l, const char *text, size_t len, char **out, size_t *outlen,
                   tl_diag *d)
{
    return tl_note_sign(out, outlen, text, len, &l->key, d);
}

void tl_log_close(tl_log *l)
{
    if (!l)
        return;
    if (l->st)
        l->st->ops->close(l->st);
    for (unsigned i = 0; i < LEVELS; i++)
        free(l->lvl[i]);
    free(l->bundle);
    free(l->cp_note);
    tl_skey_wipe(&l->key);
    free(l);
}
