/* tile_test.c - tlog-tiles coordinates against test-vectors.md §4 (the 300-entry tree's tile
 * and bundle files) and §5 (path encodings, non-canonical paths, inventories), plus node
 * location checked against every perfect subtree of a 70000-leaf tree. */
#include "treatylog/tile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "treatylog/hash.h"
#include "treatylog/merkle.h"

static int setup(void **state)
{
    (void)state;
    return tl_init() == TL_OK ? 0 : -1;
}

static void roundtrip(const char *path, bool entries, unsigned level, uint64_t index,
                      unsigned width)
{
    tl_tile t = {.entries = entries, .level = (uint8_t)level, .index = index,
                 .width = (uint16_t)width};
    char buf[TL_TILE_PATH_MAX];
    size_t n = tl_tile_path(buf, &t);
    assert_string_equal(buf, path);
    assert_int_equal(n, strlen(path));

    tl_tile p;
    memset(&p, 0xee, sizeof p);
    tl_diag d = {{0}};
    assert_int_equal(tl_tile_path_parse(&p, path, strlen(path), &d), TL_OK);
    assert_int_equal(p.entries, entries);
    assert_int_equal(p.level, level);
    assert_int_equal(p.index, index);
    assert_int_equal(p.width, width);

    /* one leading slash is accepted (an HTTP request path) */
    char slash[TL_TILE_PATH_MAX + 1];
    slash[0] = '/';
    memcpy(slash + 1, path, n + 1);
    assert_int_equal(tl_tile_path_parse(&p, slash, n + 1, &d), TL_OK);
    assert_int_equal(p.index, index);
}

static void test_path_vectors(void **state)
{
    (void)state;
    static const struct {
        uint64_t n;
        const char *elem;
    } v[] = {
        {0, "000"},          {1, "001"},          {273, "273"},
        {999, "999"},        {1000, "x001/000"},  {999999, "x999/999"},
        {1000000, "x001/x000/000"}, {1234067, "x001/x234/067"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char want[64];
        int len = snprintf(want, sizeof want, "tile/0/%s", v[i].elem);
        assert_true(len > 0 && (size_t)len < sizeof want);
        roundtrip(want, false, 0, v[i].n, 256);
        len = snprintf(want, sizeof want, "tile/entries/%s.p/7", v[i].elem);
        assert_true(len > 0 && (size_t)len < sizeof want);
        roundtrip(want, true, 0, v[i].n, 7);
    }
    roundtrip("tile/0/x001/x234/067", false, 0, 1234067, 256);
    roundtrip("tile/0/273.p/112", false, 0, 273, 112);
    roundtrip("tile/entries/x001/000", true, 0, 1000, 256);
    /* Go sumdb paths, mapped: tile/8/0/x001/x234/067, tile/8/data/273.p/112, and the
     * tile.go doc example tile/3/4/x001/x234/067.p/1 (height 3 there, level 4). */
    roundtrip("tile/0/x001/x234/067", false, 0, 1234067, 256);
    roundtrip("tile/entries/273.p/112", true, 0, 273, 112);
    roundtrip("tile/4/x001/x234/067.p/1", false, 4, 1234067, 1);
    roundtrip("tile/63/000.p/255", false, 63, 0, 255);
    roundtrip("tile/10/x010/010", false, 10, 10010, 256);
    /* The longest path there is, and the 64-bit bound. */
    roundtrip("tile/entries/x018/x446/x744/x073/x709/x551/615.p/255", true, 0, UINT64_MAX, 255);
    roundtrip("tile/63/x018/x446/x744/x073/x709/x551/615", false, 63, UINT64_MAX, 256);
    assert_true(strlen("tile/entries/x018/x446/x744/x073/x709/x551/615.p/255") <
                TL_TILE_PATH_MAX);
}

static void test_path_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        /* the 404 list of test-vectors.md §5 */
        "tile/00/000", "tile/0/0", "tile/0/x000/001", "tile/0/000.p/0", "tile/0/000.p/256",
        "tile/0/000.p/07", "tile/64/000",
        /* Go sumdb forms are not C2SP paths */
        "tile/8/0/x001/x234/067", "tile/8/data/273.p/112",
        /* more non-canonical forms and junk */
        "", "/", "tile", "tile/", "tile/0", "tile/0/", "tile//000", "tile/0//000",
        "//tile/0/000", "tile/0/000/", "tile/0/000.p/", "tile/0/000.p/1x", "tile/0/000.p/-1",
        "tile/0/000.p/+1", "tile/0/000.p/ 1", "tile/0/000.p/1000", "tile/0/000.p/256.p/1",
        "tile/0/000p/1", "tile/0/000.q/1", "tile/0/000.p1", "tile/0/x001", "tile/0/x001/",
        "tile/0/x1/000", "tile/0/x0001/000", "tile/0/0000", "tile/0/00", "tile/0/00a",
        "tile/0/x001/x00/000", "tile/0/X001/000", "tile/0/x000/x001/000", "tile/0/x000/000",
        "tile/-1/000", "tile/+1/000", "tile/01/000", "tile/100/000",
        "tile/99999999999999999999999/000", "tile/a/000", "TILE/0/000", "tile/Entries/000",
        "tile/entries", "tile/entries/", "tile/entries/0", "tile/entriesx/000",
        "tile/data/000", "tile/0/000 ", " tile/0/000", "tile/0/000\n", "tile/0/000\r\n",
        "tile/0/+00", "tile/0/x018/x446/x744/x073/x709/x551/616",
        "tile/0/x001/x000/x000/x000/x000/x000/x000/000", "tile/entries/000.p/0",
        "./tile/0/000", "tile/./0/000", "tile/0/../000",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tl_tile t = {.entries = true, .level = 9, .index = 99, .width = 9};
        tl_diag d = {{0}};
        tl_err e = tl_tile_path_parse(&t, bad[i], strlen(bad[i]), &d);
        if (e != TL_ERR_FORMAT)
            fail_msg("accepted non-canonical path \"%s\"", bad[i]);
        assert_true(strncmp(d.msg, "tile path: ", 11) == 0);
        /* the output is untouched on error */
        assert_int_equal(t.level, 9);
        assert_int_equal(t.index, 99);
    }
    /* A NUL inside the length is junk, not a terminator. */
    tl_tile t;
    assert_int_equal(tl_tile_path_parse(&t, "tile/0/000\0", 11, NULL), TL_ERR_FORMAT);
    assert_int_equal(tl_tile_path_parse(&t, "tile/0/000.p/5\0", 15, NULL), TL_ERR_FORMAT);
    /* Only the given length is read. */
    assert_int_equal(tl_tile_path_parse(&t, "tile/0/000.p/5", 10, NULL), TL_OK);
    assert_int_equal(t.width, 256);
}

/* All tiles (hash tiles, or bundles with entries == true) of a tree size, as paths. */
static size_t inventory(char (*out)[TL_TILE_PATH_MAX], size_t cap, uint64_t size, bool entries)
{
    size_t n = 0;
    for (unsigned level = 0; level <= TL_TILE_LEVEL_MAX; level++) {
        uint64_t cnt = tl_tile_level_count(size, level);
        if (cnt == 0 || (entries && level > 0))
            break;
        for (uint64_t i = 0;; i++) {
            tl_tile t;
            if (!tl_tile_for_size(&t, entries, level, i, size))
                break;
            assert_true(n < cap);
            tl_tile_path(out[n++], &t);
        }
    }
    return n;
}

static void expect_inventory(uint64_t size, const char *const *want, size_t nwant)
{
    char got[8][TL_TILE_PATH_MAX];
    size_t n = inventory(got, 8, size, false);
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(got[i], want[i]);
}

static void test_inventory_small(void **state)
{
    (void)state;
    const char *s1[] = {"tile/0/000.p/1"};
    const char *s255[] = {"tile/0/000.p/255"};
    const char *s256[] = {"tile/0/000", "tile/1/000.p/1"};
    const char *s257[] = {"tile/0/000", "tile/0/001.p/1", "tile/1/000.p/1"};
    const char *s300[] = {"tile/0/000", "tile/0/001.p/44", "tile/1/000.p/1"};
    expect_inventory(0, NULL, 0);
    expect_inventory(1, s1, 1);
    expect_inventory(255, s255, 1);
    expect_inventory(256, s256, 2);
    expect_inventory(257, s257, 3);
    expect_inventory(300, s300, 3);

    char b[8][TL_TILE_PATH_MAX];
    assert_int_equal(inventory(b, 8, 1, true), 1);
    assert_string_equal(b[0], "tile/entries/000.p/1");
    assert_int_equal(inventory(b, 8, 255, true), 1);
    assert_string_equal(b[0], "tile/entries/000.p/255");
    assert_int_equal(inventory(b, 8, 256, true), 1);
    assert_string_equal(b[0], "tile/entries/000");
    assert_int_equal(inventory(b, 8, 257, true), 2);
    assert_string_equal(b[1], "tile/entries/001.p/1");
    assert_int_equal(inventory(b, 8, 300, true), 2);
    assert_string_equal(b[0], "tile/entries/000");
    assert_string_equal(b[1], "tile/entries/001.p/44");
}

static void test_inventory_large(void **state)
{
    (void)state;
    char(*p)[TL_TILE_PATH_MAX] = calloc(400, TL_TILE_PATH_MAX);
    assert_non_null(p);

    size_t n = inventory(p, 400, 65536, false);
    assert_int_equal(n, 258);
    for (unsigned i = 0; i < 256; i++) {
        char want[32];
        int len = snprintf(want, sizeof want, "tile/0/%03u", i);
        assert_true(len > 0);
        assert_string_equal(p[i], want);
    }
    assert_string_equal(p[256], "tile/1/000");
    assert_string_equal(p[257], "tile/2/000.p/1");
    n = inventory(p, 400, 65536, true);
    assert_int_equal(n, 256);
    assert_string_equal(p[255], "tile/entries/255");

    n = inventory(p, 400, 70000, false);
    assert_int_equal(n, 277);
    assert_string_equal(p[0], "tile/0/000");
    assert_string_equal(p[272], "tile/0/272");
    assert_string_equal(p[273], "tile/0/273.p/112");
    assert_string_equal(p[274], "tile/1/000");
    assert_string_equal(p[275], "tile/1/001.p/17");
    assert_string_equal(p[276], "tile/2/000.p/1");
    n = inventory(p, 400, 70000, true);
    assert_int_equal(n, 274);
    assert_string_equal(p[272], "tile/entries/272");
    assert_string_equal(p[273], "tile/entries/273.p/112");
    free(p);

    assert_int_equal(tl_tile_level_count(70000, 0), 70000);
    assert_int_equal(tl_tile_level_count(70000, 1), 273);
    assert_int_equal(tl_tile_level_count(70000, 2), 1);
    assert_int_equal(tl_tile_level_count(70000, 3), 0);
    assert_int_equal(tl_tile_level_count(UINT64_MAX, 7), 255);
    assert_int_equal(tl_tile_level_count(UINT64_MAX, 8), 0);
    assert_int_equal(tl_tile_level_count(UINT64_MAX, 63), 0);

    tl_tile t;
    assert_false(tl_tile_for_size(&t, false, 0, 274, 70000));
    assert_false(tl_tile_for_size(&t, false, 1, 2, 70000));
    assert_false(tl_tile_for_size(&t, false, 3, 0, 70000));
    assert_false(tl_tile_for_size(&t, true, 1, 0, 70000)); /* bundles are level 0 only */
    assert_false(tl_tile_for_size(&t, false, 64, 0, UINT64_MAX));
    assert_false(tl_tile_for_size(&t, false, 0, 0, 0));
    assert_false(tl_tile_for_size(&t, false, 0, 1, 256)); /* width 0: not served */
    assert_true(tl_tile_for_size(&t, false, 1, 1, 70000));
    assert_int_equal(t.width, 17);
    assert_int_equal(t.level, 1);
    assert_int_equal(t.index, 1);
    assert_false(t.entries);
    assert_true(tl_tile_for_size(&t, true, 0, 273, 70000));
    assert_true(t.entries);
    assert_int_equal(t.width, 112);
}

/* ---- the 300-entry tree (§4) and a 70000-leaf tree for node location -------------------- */

enum { BIG = 70000, LEVELS = 17 };

typedef struct big_tree {
    uint64_t n;
    uint8_t (*node[LEVELS])[TL_HASH_LEN];
} big_tree;

static big_tree *big_new(uint64_t n)
{
    big_tree *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->n = n;
    for (unsigned h = 0; h < LEVELS; h++) {
        uint64_t cnt = n >> h;
        t->node[h] = calloc(cnt + 1, TL_HASH_LEN);
        assert_non_null(t->node[h]);
        for (uint64_t k = 0; k < cnt; k++) {
            if (h == 0) {
                char rec[32];
                int len = snprintf(rec, sizeof rec, "record %llu", (unsigned long long)k);
                assert_true(len > 0);
                tl_leaf_hash(t->node[0][k], rec, (size_t)len);
            } else {
                tl_node_hash(t->node[h][k], t->node[h - 1][2 * k], t->node[h - 1][2 * k + 1]);
            }
        }
    }
    return t;
}

static void big_free(big_tree *t)
{
    for (unsigned h = 0; h < LEVELS; h++)
        free(t->node[h]);
    free(t);
}

/* Entry i of hash tile (level, index): node (8*level, index*256 + i). */
static const uint8_t *tile_entries(const big_tree *t, unsigned level, uint64_t index)
{
    return t->node[8 * level][index * TL_TILE_WIDTH];
}

/* A tl_hash_source that reads only tiles (as a client would), for a tree of `size`. */
typedef struct tile_src {
    const big_tree *t;
    uint64_t size;
} tile_src;

static tl_err from_tiles(void *ctx, unsigned height, uint64_t index, uint8_t out[TL_HASH_LEN])
{
    const tile_src *s = ctx;
    tl_tile loc, have;
    unsigned first = 0;
    tl_tile_locate(&loc, &first, height, index);
    if (!tl_tile_for_size(&have, false, loc.level, loc.index, s->size))
        return TL_ERR_NOTFOUND;
    unsigned count = 1u << (height % 8);
    assert_int_equal(loc.width, first + count);
    if (first + count > have.width)
        return TL_ERR_NOTFOUND;
    tl_tile_subtree_hash(out, tile_entries(s->t, loc.level, loc.index) + (size_t)first * 32,
                         count);
    return TL_OK;
}

static void test_tree300_tiles(void **state)
{
    (void)state;
    big_tree *t = big_new(300);
    uint8_t h[TL_HASH_LEN];

    tl_sha256(h, tile_entries(t, 0, 0), 256 * TL_HASH_LEN);
    assert_hash_hex(h, "66a1d43136a854a5776d5bce14bf101c925fc7d4b32f1be23b658f636ebfcddb");
    tl_sha256(h, tile_entries(t, 0, 1), 44 * TL_HASH_LEN);
    assert_hash_hex(h, "699f078d937f13343d71ad39321757de3ecf391e8d7a1b2015ad38bd36f5d60a");
    /* tile/1/000.p/1 is the one hash MTH(D[0:256]), computed from tile/0/000 */
    uint8_t l1[TL_HASH_LEN];
    tl_tile_subtree_hash(l1, tile_entries(t, 0, 0), 256);
    assert_hash_hex(l1, "dc9349f9787ed0086da6d97f679c51a5198f98e456e95b1d87fa3abc012fec31");
    tl_sha256(h, l1, TL_HASH_LEN);
    assert_hash_hex(h, "dcef9e571841bfe2defd16306f8a7d69f5054092fb8b7f983970c646f7f5fd85");
    /* count == 1 copies */
    tl_tile_subtree_hash(h, tile_entries(t, 0, 1), 1);
    assert_hash_hex(h, "ad4006d62dc11240e4cd6c8c8e0b9520cccf9bbf1b8a1f64a1d0c4570c50925b");
    tl_tile_subtree_hash(h, tile_entries(t, 0, 0) + 2 * 32, 2);
    assert_memory_equal(h, t->node[1][1], TL_HASH_LEN);

    /* root(300) = NODE(tile/1/000.p/1[0], MTH(tile/0/001.p/44)), through tiles only */
    tile_src s = {.t = t, .size = 300};
    assert_int_equal(tl_merkle_root(h, 300, from_tiles, &s), TL_OK);
    assert_hash_hex(h, "830df5c90aea65909c10e3ebcd7f9ba72de727a4209e04ca9fc1b59b48badae5");
    assert_int_equal(tl_merkle_range_hash(h, 256, 300, from_tiles, &s), TL_OK);
    assert_hash_hex(h, "bb069afc6106a85e0f334dc37fe19f288c99e7e7c706c2bdcb77f5b6a08cc9ff");
    uint8_t p[TL_PROOF_MAX][TL_HASH_LEN];
    size_t np = 0;
    assert_int_equal(tl_merkle_inclusion_proof(p, &np, 299, 300, from_tiles, &s), TL_OK);
    assert_int_equal(np, 5);
    assert_hash_hex(p[4], "dc9349f9787ed0086da6d97f679c51a5198f98e456e95b1d87fa3abc012fec31");
    big_free(t);
}

static void test_locate(void **state)
{
    (void)state;
    tl_tile t;
    unsigned first = 99;
    /* the root of size 256: (h=8, k=0) -> entry 0 of tile/1/000 */
    tl_tile_locate(&t, &first, 8, 0);
    assert_int_equal(t.level, 1);
    assert_int_equal(t.index, 0);
    assert_int_equal(first, 0);
    assert_int_equal(t.width, 1);
    assert_false(t.entries);
    /* leaf 299 -> tile/0/001 entry 43 */
    tl_tile_locate(&t, &first, 0, 299);
    assert_int_equal(t.level, 0);
    assert_int_equal(t.index, 1);
    assert_int_equal(first, 43);
    assert_int_equal(t.width, 44);
    /* (h=5, k=9): leaves [288, 320) -> tile/0/001 entries 32..63 */
    tl_tile_locate(&t, &first, 5, 9);
    assert_int_equal(t.index, 1);
    assert_int_equal(first, 32);
    assert_int_equal(t.width, 64);
    /* (h=63, k=0) -> level 7, tile 0, entries 0..127 */
    tl_tile_locate(&t, &first, 63, 0);
    assert_int_equal(t.level, 7);
    assert_int_equal(t.index, 0);
    assert_int_equal(first, 0);
    assert_int_equal(t.width, 128);
    tl_tile_locate(&t, &first, 0, UINT64_MAX);
    assert_int_equal(t.index, UINT64_MAX >> 8);
    assert_int_equal(first, 255);

    /* Every perfect subtree of a 70000-leaf tree is the subtree hash of its tile entries. */
    big_tree *bt = big_new(BIG);
    unsigned long checked = 0;
    for (unsigned h = 0; h < LEVELS; h++) {
        for (uint64_t k = 0; k < ((uint64_t)BIG >> h); k++) {
            tl_tile_locate(&t, &first, h, k);
            unsigned count = 1u << (h % 8);
            assert_int_equal(t.level, h / 8);
            assert_true(first + count <= 256);
            tl_tile have;
            assert_true(tl_tile_for_size(&have, false, t.level, t.index, BIG));
            assert_true(first + count <= have.width);
            uint8_t got[TL_HASH_LEN];
            tl_tile_subtree_hash(got, tile_entries(bt, t.level, t.index) + (size_t)first * 32,
                                 count);
            assert_memory_equal(got, bt->node[h][k], TL_HASH_LEN);
            checked++;
        }
    }
    assert_int_equal(checked, 139994); /* sum of floor(70000 / 2^h), h = 0..16 */
    /* and every root and proof of the tree through tiles only, at a few sizes */
    static const uint64_t sizes[] = {1, 255, 256, 257, 65535, 65536, 65537, 69999, 70000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        tile_src s = {.t = bt, .size = sizes[i]};
        uint8_t want[TL_HASH_LEN], got[TL_HASH_LEN];
        tl_frontier f;
        assert_int_equal(tl_frontier_load(&f, sizes[i], from_tiles, &s), TL_OK);
        tl_frontier_root(&f, want);
        assert_int_equal(tl_merkle_root(got, sizes[i], from_tiles, &s), TL_OK);
        assert_memory_equal(got, want, TL_HASH_LEN);
        uint8_t p[TL_PROOF_MAX][TL_HASH_LEN];
        size_t np = 0;
        uint64_t idx = sizes[i] / 3;
        assert_int_equal(tl_merkle_inclusion_proof(p, &np, idx, sizes[i], from_tiles, &s), TL_OK);
        assert_int_equal(tl_merkle_verify_inclusion(idx, sizes[i], bt->node[0][idx],
                                                    (const uint8_t(*)[TL_HASH_LEN])p, np, got),
                         TL_OK);
    }
    big_free(bt);
}

/* ---- entry bundles ---------------------------------------------------------------------- */

static size_t make_bundle(uint8_t *out, unsigned from, unsigned to)
{
    size_t len = 0;
    for (unsigned i = from; i < to; i++) {
        char rec[32];
        int n = snprintf(rec, sizeof rec, "record %u", i);
        assert_true(n > 0);
        size_t put = tl_bundle_put(out + len, (const uint8_t *)rec, (size_t)n);
        assert_int_equal(put, (size_t)n + 2);
        len += put;
    }
    return len;
}

static void test_bundles(void **state)
{
    (void)state;
    static uint8_t buf[4096];
    uint8_t h[TL_HASH_LEN];
    size_t len = make_bundle(buf, 0, 256);
    assert_int_equal(len, 2962);
    tl_sha256(h, buf, len);
    assert_hash_hex(h, "985287e65b66e7b12f16d01217b32858b6a0f9dae6d00c0431d0db350087f638");
    uint8_t head[20];
    tu_hex(head, "00087265636f7264203000087265636f72642031");
    assert_memory_equal(buf, head, 20);

    size_t pos = 0;
    unsigned count = 0;
    for (;;) {
        const uint8_t *ent = NULL;
        size_t elen = 0;
        tl_err e = tl_bundle_next(buf, len, &pos, &ent, &elen);
        if (e == TL_ERR_NOTFOUND)
            break;
        assert_int_equal(e, TL_OK);
        char want[32];
        int n = snprintf(want, sizeof want, "record %u", count);
        assert_int_equal(elen, (size_t)n);
        assert_memory_equal(ent, want, elen);
        count++;
    }
    assert_int_equal(count, 256);
    assert_int_equal(pos, len);

    len = make_bundle(buf, 256, 300);
    assert_int_equal(len, 528);
    tl_sha256(h, buf, len);
    assert_hash_hex(h, "9be4acd928d562c359a25b51bfa0d650869670d05861cd7f0da4af5cc5ae0689");
    tu_hex(head, "000a7265636f726420323536");
    assert_memory_equal(buf, head, 12);

    /* Every truncation: the walk ends cleanly exactly at entry boundaries. */
    for (size_t cut = 0; cut <= len; cut++) {
        size_t p = 0, boundary = 0;
        tl_err e;
        const uint8_t *ent;
        size_t elen;
        for (;;) {
            e = tl_bundle_next(buf, cut, &p, &ent, &elen);
            if (e != TL_OK)
                break;
            if (p == cut)
                boundary = 1;
        }
        if (cut == 0 || boundary)
            assert_int_equal(e, TL_ERR_NOTFOUND);
        else
            assert_int_equal(e, TL_ERR_FORMAT);
    }
    /* A failed step leaves its outputs alone; a position past the end is an error. */
    size_t p = 1;
    const uint8_t *ent = (const uint8_t *)"x";
    size_t elen = 77;
    assert_int_equal(tl_bundle_next(buf, 2, &p, &ent, &elen), TL_ERR_FORMAT);
    assert_int_equal(p, 1);
    assert_int_equal(elen, 77);
    p = 600;
    assert_int_equal(tl_bundle_next(buf, len, &p, &ent, &elen), TL_ERR_FORMAT);

    /* Zero-length and maximum-length entries. */
    uint8_t *big = calloc(1, TL_ENTRY_MAX + 3);
    uint8_t *src = malloc(TL_ENTRY_MAX + 1);
    assert_non_null(big);
    assert_non_null(src);
    memset(src, 0x5a, TL_ENTRY_MAX + 1);
    assert_int_equal(tl_bundle_put(big, src, TL_ENTRY_MAX + 1), 0);
    assert_int_equal(tl_bundle_put(big, src, TL_ENTRY_MAX), TL_ENTRY_MAX + 2);
    assert_int_equal(big[0], 0xff);
    assert_int_equal(big[1], 0xff);
    p = 0;
    assert_int_equal(tl_bundle_next(big, TL_ENTRY_MAX + 2, &p, &ent, &elen), TL_OK);
    assert_int_equal(elen, TL_ENTRY_MAX);
    assert_memory_equal(ent, src, TL_ENTRY_MAX);
    assert_int_equal(tl_bundle_next(big, TL_ENTRY_MAX + 2, &p, &ent, &elen), TL_ERR_NOTFOUND);
    assert_int_equal(tl_bundle_next(big, TL_ENTRY_MAX + 1, &(size_t){0}, &ent, &elen),
                     TL_ERR_FORMAT);
    assert_int_equal(tl_bundle_put(big, NULL, 0), 2);
    assert_int_equal(big[0], 0);
    assert_int_equal(big[1], 0);
    p = 0;
    assert_int_equal(tl_bundle_next(big, 2, &p, &ent, &elen), TL_OK);
    assert_int_equal(elen, 0);
    assert_int_equal(p, 2);
    free(big);
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_vectors),    cmocka_unit_test(test_path_rejects),
        cmocka_unit_test(test_inventory_small), cmocka_unit_test(test_inventory_large),
        cmocka_unit_test(test_tree300_tiles),   cmocka_unit_test(test_locate),
        cmocka_unit_test(test_bundles),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
