/* merkle_test.c - RFC 6962 / RFC 9162 Merkle math against test-vectors.md §1 (the 8-leaf
 * tree) and §4 (the 300-entry "record i" tree), plus an exhaustive cross-check of every
 * proof of every tree up to 300 leaves and of the append frontier. */
#include "treatylog/merkle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "treatylog/hash.h"

#define LEVELS 10 /* perfect subtrees up to 512 leaves */

/* An in-memory tree: every perfect-subtree hash precomputed, plus call accounting. */
typedef struct tree {
    uint64_t n;
    uint8_t (*node[LEVELS])[TL_HASH_LEN]; /* node[h][k], k < n >> h */
    unsigned calls;
    tl_err fail_with; /* if not TL_OK, the source returns this */
} tree;

static tree *tree_new(const uint8_t (*leaves)[TL_HASH_LEN], uint64_t n)
{
    tree *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->n = n;
    for (unsigned h = 0; h < LEVELS; h++) {
        uint64_t cnt = n >> h;
        t->node[h] = calloc(cnt + 1, TL_HASH_LEN);
        assert_non_null(t->node[h]);
        for (uint64_t k = 0; k < cnt; k++) {
            if (h == 0)
                memcpy(t->node[0][k], leaves[k], TL_HASH_LEN);
            else
                tl_node_hash(t->node[h][k], t->node[h - 1][2 * k], t->node[h - 1][2 * k + 1]);
        }
    }
    return t;
}

static void tree_free(tree *t)
{
    for (unsigned h = 0; h < LEVELS; h++)
        free(t->node[h]);
    free(t);
}

/* tl_hash_source over a tree; asking for a node outside the tree is a test failure. */
static tl_err tree_source(void *ctx, unsigned height, uint64_t index, uint8_t out[TL_HASH_LEN])
{
    tree *t = ctx;
    t->calls++;
    if (t->fail_with != TL_OK)
        return t->fail_with;
    if (height >= LEVELS || index >= (t->n >> height)) {
        fail_msg("source asked for (%u, %llu) beyond %llu leaves", height,
                 (unsigned long long)index, (unsigned long long)t->n);
    }
    memcpy(out, t->node[height][index], TL_HASH_LEN);
    return TL_OK;
}

/* Independent reference MTH by the RFC 6962 recursion straight from the leaf hashes. */
static void ref_mth(uint8_t out[TL_HASH_LEN], const uint8_t (*leaves)[TL_HASH_LEN],
                    uint64_t begin, uint64_t end)
{
    uint64_t n = end - begin;
    if (n == 0) {
        tl_sha256(out, "", 0);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves[begin], TL_HASH_LEN);
        return;
    }
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t l[TL_HASH_LEN], r[TL_HASH_LEN];
    ref_mth(l, leaves, begin, begin + k);
    ref_mth(r, leaves, begin + k, end);
    tl_node_hash(out, l, r);
}

/* ---- §1: the 8-leaf tree ---------------------------------------------------------------- */

static const char *const leaf_in8[8] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};
static const char *const leaf_hash8[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
};
static const char *const root8[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static void leaves8(uint8_t out[8][TL_HASH_LEN])
{
    for (int i = 0; i < 8; i++) {
        uint8_t in[32];
        size_t len = tu_hex(in, leaf_in8[i]);
        tl_leaf_hash(out[i], in, len);
    }
}

static int setup(void **state)
{
    (void)state;
    return tl_init() == TL_OK ? 0 : -1;
}

static void test_hasher_vectors(void **state)
{
    (void)state;
    uint8_t h[TL_HASH_LEN];
    tl_sha256(h, "", 0);
    assert_hash_hex(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_memory_equal(h, TL_EMPTY_ROOT, TL_HASH_LEN);
    tl_leaf_hash(h, "", 0);
    assert_hash_hex(h, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    tl_leaf_hash(h, "L123456", 7);
    assert_hash_hex(h, "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56");
    const uint8_t raw[9] = {0x01, 'N', '1', '2', '3', 'N', '4', '5', '6'};
    tl_sha256(h, raw, sizeof raw);
    assert_hash_hex(h, "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb");
    tl_leaf_hash(h, "hello world", 11); /* b64 TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0= */
    assert_hash_hex(h, "4eccf34608d31bac5c7becf6006df59005d828181056d092084e341e6bb005bd");
}

static void test_leaves_and_nodes_8(void **state)
{
    (void)state;
    uint8_t lv[8][TL_HASH_LEN];
    leaves8(lv);
    for (int i = 0; i < 8; i++)
        assert_hash_hex(lv[i], leaf_hash8[i]);
    tree *t = tree_new((const uint8_t(*)[TL_HASH_LEN])lv, 8);
    static const struct {
        unsigned b, e;
        const char *hex;
    } nodes[] = {
        {0, 2, "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"},
        {2, 4, "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"},
        {4, 6, "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"},
        {6, 8, "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"},
        {0, 4, "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
        {4, 8, "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
        {0, 8, "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"},
        /* MTH of [4,7): the third hash of the derived (3, 7) inclusion proof */
        {4, 7, "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e"},
    };
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        uint8_t h[TL_HASH_LEN];
        assert_int_equal(tl_merkle_range_hash(h, nodes[i].b, nodes[i].e, tree_source, t), TL_OK);
        assert_hash_hex(h, nodes[i].hex);
    }
    tree_free(t);
}

static void test_roots_8(void **state)
{
    (void)state;
    uint8_t lv[8][TL_HASH_LEN];
    leaves8(lv);
    tree *t = tree_new((const uint8_t(*)[TL_HASH_LEN])lv, 8);
    tl_frontier f;
    tl_frontier_init(&f);
    for (uint64_t n = 0; n <= 8; n++) {
        uint8_t h[TL_HASH_LEN];
        t->n = n; /* the source may not read past the tree being asked about */
        assert_int_equal(tl_merkle_root(h, n, tree_source, t), TL_OK);
        assert_hash_hex(h, root8[n]);
        tl_frontier_root(&f, h);
        assert_hash_hex(h, root8[n]);
        if (n < 8)
            assert_int_equal(tl_frontier_append(&f, lv[n], NULL, NULL), TL_OK);
    }
    tree_free(t);
}

/* A proof given as a list of hex hashes, NULL-terminated. */
typedef struct vec_proof {
    uint64_t a, n; /* (index, size) or (m, n) */
    const char *hex[10];
} vec_proof;

static const vec_proof incl8[] = {
    {0, 1, {NULL}},
    {0, 8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4", NULL}},
    {5, 8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7", NULL}},
    {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125", NULL}},
    {1, 5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", NULL}},
    {3, 7,
     {"0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e", NULL}},
    {6, 7,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7", NULL}},
};

static const vec_proof cons8[] = {
    {1, 1, {NULL}},
    {1, 8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4", NULL}},
    {6, 8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7", NULL}},
    {2, 5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", NULL}},
    {6, 7,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7", NULL}},
    {3, 7,
     {"0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
      "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e", NULL}},
    {4, 8, {"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4", NULL}},
};

static size_t load_proof(uint8_t out[TL_PROOF_MAX][TL_HASH_LEN], const vec_proof *v)
{
    size_t n = 0;
    while (v->hex[n]) {
        assert_int_equal(tu_hex(out[n], v->hex[n]), TL_HASH_LEN);
        n++;
    }
    return n;
}

static void test_inclusion_vectors_8(void **state)
{
    (void)state;
    uint8_t lv[8][TL_HASH_LEN];
    leaves8(lv);
    tree *t = tree_new((const uint8_t(*)[TL_HASH_LEN])lv, 8);
    for (size_t i = 0; i < sizeof incl8 / sizeof incl8[0]; i++) {
        const vec_proof *v = &incl8[i];
        uint8_t want[TL_PROOF_MAX][TL_HASH_LEN], got[TL_PROOF_MAX][TL_HASH_LEN];
        size_t nw = load_proof(want, v), ng = 99;
        t->n = v->n;
        assert_int_equal(tl_merkle_inclusion_proof(got, &ng, v->a, v->n, tree_source, t), TL_OK);
        assert_int_equal(ng, nw);
        if (nw)
            assert_memory_equal(got, want, nw * TL_HASH_LEN);
        uint8_t root[TL_HASH_LEN];
        tu_hex(root, root8[v->n]);
        assert_int_equal(tl_merkle_verify_inclusion(v->a, v->n, lv[v->a],
                                                    (const uint8_t(*)[TL_HASH_LEN])want, nw,
                                                    root),
                         TL_OK);
    }
    tree_free(t);
}

static void test_consistency_vectors_8(void **state)
{
    (void)state;
    uint8_t lv[8][TL_HASH_LEN];
    leaves8(lv);
    tree *t = tree_new((const uint8_t(*)[TL_HASH_LEN])lv, 8);
    for (size_t i = 0; i < sizeof cons8 / sizeof cons8[0]; i++) {
        const vec_proof *v = &cons8[i];
        uint8_t want[TL_PROOF_MAX][TL_HASH_LEN], got[TL_PROOF_MAX][TL_HASH_LEN];
        size_t nw = load_proof(want, v), ng = 99;
        t->n = v->n;
        assert_int_equal(tl_merkle_consistency_proof(got, &ng, v->a, v->n, tree_source, t),
                         TL_OK);
        assert_int_equal(ng, nw);
        if (nw)
            assert_memory_equal(got, want, nw * TL_HASH_LEN);
        uint8_t rm[TL_HASH_LEN], rn[TL_HASH_LEN];
        tu_hex(rm, root8[v->a]);
        tu_hex(rn, root8[v->n]);
        assert_int_equal(tl_merkle_verify_consistency(v->a, v->n, rm, rn,
                                                      (const uint8_t(*)[TL_HASH_LEN])want, nw),
                         TL_OK);
    }
    /* consistency(1 -> 8) == inclusion(0, 8) */
    uint8_t a[TL_PROOF_MAX][TL_HASH_LEN], b[TL_PROOF_MAX][TL_HASH_LEN];
    size_t na = 0, nb = 0;
    assert_int_equal(tl_merkle_consistency_proof(a, &na, 1, 8, tree_source, t), TL_OK);
    assert_int_equal(tl_merkle_inclusion_proof(b, &nb, 0, 8, tree_source, t), TL_OK);
    assert_int_equal(na, 3);
    assert_int_equal(nb, 3);
    assert_memory_equal(a, b, 3 * TL_HASH_LEN);
    tree_free(t);
}

static void flip(uint8_t *p, unsigned bit)
{
    p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

/* The named negative cases of transparency-dev/merkle's corpus, on the 8-leaf tree. */
static void test_negatives_8(void **state)
{
    (void)state;
    uint8_t lv[8][TL_HASH_LEN];
    leaves8(lv);
    uint8_t r[9][TL_HASH_LEN];
    for (int i = 0; i <= 8; i++)
        tu_hex(r[i], root8[i]);
    uint8_t p[TL_PROOF_MAX][TL_HASH_LEN];
    const uint8_t(*cp)[TL_HASH_LEN] = (const uint8_t(*)[TL_HASH_LEN])p;

    /* Inclusion (5, 8). */
    size_t n = load_proof(p, &incl8[2]);
    assert_int_equal(tl_merkle_verify_inclusion(5, 8, lv[5], cp, n, r[8]), TL_OK);
    assert_int_equal(tl_merkle_verify_inclusion(5, 8, lv[5], cp, n - 1, r[8]), TL_ERR_PROOF);
    memcpy(p[n], p[0], TL_HASH_LEN);
    assert_int_equal(tl_merkle_verify_inclusion(5, 8, lv[5], cp, n + 1, r[8]), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_inclusion(5, 8, lv[5], cp + 1, n - 1, r[8]),
                     TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_inclusion(4, 8, lv[5], cp, n, r[8]), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_inclusion(6, 8, lv[5], cp, n, r[8]), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_inclusion(5, 16, lv[5], cp, n, r[8]), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_inclusion(5, 4, lv[5], cp, n, r[8]), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_inclusion(8, 8, lv[5], cp, n, r[8]), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_inclusion(5, 8, lv[4], cp, n, r[8]), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_inclusion(5, 8, lv[5], cp, n, r[7]), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_inclusion(5, 8, lv[5], cp, 0, r[8]), TL_ERR_PROOF);
    for (unsigned i = 0; i < n; i++) {
        flip(p[i], 77);
        assert_int_equal(tl_merkle_verify_inclusion(5, 8, lv[5], cp, n, r[8]), TL_ERR_PROOF);
        flip(p[i], 77);
    }
    /* Swapped roots, size 0, and the single-entry tree. */
    assert_int_equal(tl_merkle_verify_inclusion(0, 0, lv[0], cp, 0, r[0]), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_inclusion(0, 1, lv[0], cp, 0, r[1]), TL_OK);
    assert_int_equal(tl_merkle_verify_inclusion(0, 1, lv[0], cp, 1, r[1]), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_inclusion(0, 1, lv[1], cp, 0, r[1]), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_inclusion(1, 1, lv[0], cp, 0, r[1]), TL_ERR_PROOF);

    /* Consistency (6, 8). */
    n = load_proof(p, &cons8[2]);
    assert_int_equal(tl_merkle_verify_consistency(6, 8, r[6], r[8], cp, n), TL_OK);
    assert_int_equal(tl_merkle_verify_consistency(6, 8, r[8], r[6], cp, n), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_consistency(6, 8, r[6], r[8], cp, n - 1), TL_ERR_PROOF);
    memcpy(p[n], p[1], TL_HASH_LEN);
    assert_int_equal(tl_merkle_verify_consistency(6, 8, r[6], r[8], cp, n + 1), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_consistency(6, 8, r[6], r[8], cp + 1, n - 1),
                     TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_consistency(5, 8, r[5], r[8], cp, n), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_consistency(6, 7, r[6], r[7], cp, n), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_consistency(6, 8, r[6], r[8], cp, 0), TL_ERR_PROOF);
    for (unsigned i = 0; i < n; i++) {
        flip(p[i], 3);
        assert_int_equal(tl_merkle_verify_consistency(6, 8, r[6], r[8], cp, n), TL_ERR_PROOF);
        flip(p[i], 3);
    }
    /* m > n, m == n, m == 0. */
    assert_int_equal(tl_merkle_verify_consistency(8, 6, r[8], r[6], cp, n), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_consistency(9, 8, r[8], r[8], cp, 0), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_consistency(8, 8, r[8], r[8], cp, 0), TL_OK);
    assert_int_equal(tl_merkle_verify_consistency(8, 8, r[8], r[8], cp, 1), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_consistency(8, 8, r[7], r[8], cp, 0), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_consistency(1, 1, r[1], r[1], cp, 0), TL_OK);
    assert_int_equal(tl_merkle_verify_consistency(0, 8, r[0], r[8], cp, 0), TL_OK);
    assert_int_equal(tl_merkle_verify_consistency(0, 0, r[0], r[0], cp, 0), TL_OK);
    assert_int_equal(tl_merkle_verify_consistency(0, 8, r[0], r[8], cp, 1), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_consistency(0, 8, r[1], r[8], cp, 0), TL_ERR_PROOF);
    /* m == n is checked before m == 0 (c2sp-formats.md §2.4): 0 -> 0 only compares the roots;
     * a size-0 checkpoint with another root is rejected by the checkpoint parser. */
    assert_int_equal(tl_merkle_verify_consistency(0, 0, r[1], r[1], cp, 0), TL_OK);
    assert_int_equal(tl_merkle_verify_consistency(0, 0, r[0], r[1], cp, 0), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_consistency(0, 5, r[0], r[1], cp, 0), TL_OK);
    /* 4 -> 8: root(4) is implied; a proof that also carries it is too long. */
    n = load_proof(p, &cons8[6]);
    assert_int_equal(tl_merkle_verify_consistency(4, 8, r[4], r[8], cp, n), TL_OK);
    memcpy(p[1], p[0], TL_HASH_LEN);
    memcpy(p[0], r[4], TL_HASH_LEN);
    assert_int_equal(tl_merkle_verify_consistency(4, 8, r[4], r[8], cp, 2), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_verify_consistency(4, 8, r[5], r[8], cp + 1, 1), TL_ERR_PROOF);

    /* Generation bounds. */
    tree *t = tree_new((const uint8_t(*)[TL_HASH_LEN])lv, 8);
    size_t cnt = 77;
    assert_int_equal(tl_merkle_inclusion_proof(p, &cnt, 8, 8, tree_source, t), TL_ERR_RANGE);
    assert_int_equal(tl_merkle_inclusion_proof(p, &cnt, 0, 0, tree_source, t), TL_ERR_RANGE);
    assert_int_equal(tl_merkle_consistency_proof(p, &cnt, 9, 8, tree_source, t), TL_ERR_RANGE);
    assert_int_equal(cnt, 77);
    assert_int_equal(tl_merkle_consistency_proof(p, &cnt, 0, 8, tree_source, t), TL_OK);
    assert_int_equal(cnt, 0);
    cnt = 77;
    assert_int_equal(tl_merkle_consistency_proof(p, &cnt, 8, 8, tree_source, t), TL_OK);
    assert_int_equal(cnt, 0);
    assert_int_equal(tl_merkle_inclusion_proof(p, &cnt, 0, UINT64_C(1) << 63, tree_source, t),
                     TL_ERR_RANGE);
    uint8_t h[TL_HASH_LEN];
    assert_int_equal(tl_merkle_range_hash(h, 3, 3, tree_source, t), TL_ERR_RANGE);
    assert_int_equal(tl_merkle_range_hash(h, 4, 3, tree_source, t), TL_ERR_RANGE);
    /* Source errors pass through unchanged. */
    t->fail_with = TL_ERR_IO;
    assert_int_equal(tl_merkle_root(h, 5, tree_source, t), TL_ERR_IO);
    assert_int_equal(tl_merkle_inclusion_proof(p, &cnt, 1, 5, tree_source, t), TL_ERR_IO);
    assert_int_equal(tl_merkle_consistency_proof(p, &cnt, 3, 5, tree_source, t), TL_ERR_IO);
    assert_int_equal(tl_merkle_range_hash(h, 1, 6, tree_source, t), TL_ERR_IO);
    tree_free(t);
}

/* ---- §4: the 300-entry tree ------------------------------------------------------------- */

static tree *tree300(uint8_t lv[512][TL_HASH_LEN], uint64_t n)
{
    for (int i = 0; i < 512; i++) {
        char rec[32];
        int len = snprintf(rec, sizeof rec, "record %d", i);
        assert_true(len > 0);
        tl_leaf_hash(lv[i], rec, (size_t)len);
    }
    return tree_new((const uint8_t(*)[TL_HASH_LEN])lv, n);
}

static void test_tree300_vectors(void **state)
{
    (void)state;
    static uint8_t lv[512][TL_HASH_LEN];
    tree *t = tree300(lv, 300);
    assert_hash_hex(lv[0], "3b367d6db7bc51726d918b18e9a79e0fce53f867fbe38671f609e6bb59d46035");
    assert_hash_hex(lv[255], "d30a573485c1691d01b138b60452d43b93baae15bde7708431726c8e6623873b");
    assert_hash_hex(lv[256], "ad4006d62dc11240e4cd6c8c8e0b9520cccf9bbf1b8a1f64a1d0c4570c50925b");
    assert_hash_hex(lv[299], "edeb971e38746b9b9dce8b6487fb0116d64ef7704fffb31fda427c7fd81c48da");

    static const struct {
        uint64_t n;
        const char *hex;
    } roots[] = {
        {1, "3b367d6db7bc51726d918b18e9a79e0fce53f867fbe38671f609e6bb59d46035"},
        {2, "5c34a11205877ecf2c4f28e25495d08301b33dbfb862419f7946fa6fdf8124ef"},
        {200, "dd86c6482f9aa4db5ffca5ac8fbbefc521d54e4a4d59b7b8463bc25b58a52718"},
        {255, "12d20e0393b2b10464b55a5269dd066f0b836ea9512a34f13e3ad5c72575f43b"},
        {256, "dc9349f9787ed0086da6d97f679c51a5198f98e456e95b1d87fa3abc012fec31"},
        {257, "7bc95338d9eb756fddd6fcde386a6cd7692116c13bf5abef15dfb7e5358e68ae"},
        {299, "42dff25d019b87a770eab9395dec1b99b62bed6f6342bc4ae10540a3f8841f80"},
        {300, "830df5c90aea65909c10e3ebcd7f9ba72de727a4209e04ca9fc1b59b48badae5"},
    };
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        uint8_t h[TL_HASH_LEN];
        assert_int_equal(tl_merkle_root(h, roots[i].n, tree_source, t), TL_OK);
        assert_hash_hex(h, roots[i].hex);
    }
    /* root(300) = NODE(P256, NODE(P32, NODE(P8, P4))): one source read per set bit. */
    uint8_t h[TL_HASH_LEN];
    t->calls = 0;
    assert_int_equal(tl_merkle_root(h, 300, tree_source, t), TL_OK);
    assert_int_equal(t->calls, 4);
    assert_int_equal(tl_merkle_range_hash(h, 256, 300, tree_source, t), TL_OK);
    assert_hash_hex(h, "bb069afc6106a85e0f334dc37fe19f288c99e7e7c706c2bdcb77f5b6a08cc9ff");

    static const vec_proof v300[] = {
        /* consistency 256 -> 300 */
        {256, 300, {"bb069afc6106a85e0f334dc37fe19f288c99e7e7c706c2bdcb77f5b6a08cc9ff", NULL}},
        /* consistency 200 -> 300 */
        {200,
         300,
         {"4f1309b1e42b2c6ed5c233072f399492e061c70f881e8cfacd3a26ecefe09b51",
          "6aaa6481ae3723fd3d3b110919ade099195b98b07fbb3ab157ca44c3b3db6234",
          "4462a8bdb290c911deb54fade0fcae0a4403f457ac3c5fe37ff114ac315529d8",
          "22c87497dc38c906676fd571e57737063c2c9793951c5d7af97172b993e24776",
          "13ca52d1e84863369949bfc52af26cb20e7f92248dc85e48b5fa77eacf0a39ff",
          "f48fa5666235c8c7a2a503965dbf055f73ae3982cf17e7448857b1744ff6ac96",
          "bb069afc6106a85e0f334dc37fe19f288c99e7e7c706c2bdcb77f5b6a08cc9ff", NULL}},
        /* inclusion of 123 in 300 */
        {123,
         300,
         {"d71c646ed6608add44712cdc19e5b38a89e06eac617bfb6085f53e20d069fe8b",
          "938045b3cf85f21385fadf89f50c67c8f83995dbae896dad477bc2741e610f31",
          "9498175d6f958d0360ce0b6aad1cdc8d9f1f15a47206de265cd041889a50fe72",
          "2c48f11f1bc6481b8ff0d3dc1fc9c92714e64cdcfd2bc9bbab60560775e5b46f",
          "cbc20d3b87eb9e2d1f1347c23e54f855ccacd0580d8f2b2108c85400ebaea229",
          "b6427d654243ca76a2be757461e584d19af4fe4bb8e1a14de4344e2a16b15022",
          "b4d988ed743857c664c26c4d4a60a7ecd3e44fcc724cd5f32f52f79afaa88dc8",
          "c8b1b59e7fdecb0636f9a23edbe85865614b2a4995137d03655093ba60aa99b6",
          "bb069afc6106a85e0f334dc37fe19f288c99e7e7c706c2bdcb77f5b6a08cc9ff", NULL}},
        /* inclusion of 299 in 300 */
        {299,
         300,
         {"a0978213811c6670f74e084cda1c557c000bc05e659549019fa7a5920800f658",
          "1b879e57a90554ffc4dd60e94d2d7763c325b8039213896687fea0cc7f8b2976",
          "070025d6591f1f516ef912cee71482710737d8055345a5eb0e406d08018647d8",
          "33de8e00a80d2ad274d230db50ddf10ae28fde75506324a874b2e6c91df380ad",
          "dc9349f9787ed0086da6d97f679c51a5198f98e456e95b1d87fa3abc012fec31", NULL}},
    };
    uint8_t r300[TL_HASH_LEN], r256[TL_HASH_LEN], r200[TL_HASH_LEN];
    assert_int_equal(tl_merkle_root(r300, 300, tree_source, t), TL_OK);
    assert_int_equal(tl_merkle_root(r256, 256, tree_source, t), TL_OK);
    assert_int_equal(tl_merkle_root(r200, 200, tree_source, t), TL_OK);
    for (size_t i = 0; i < 4; i++) {
        const vec_proof *v = &v300[i];
        uint8_t want[TL_PROOF_MAX][TL_HASH_LEN], got[TL_PROOF_MAX][TL_HASH_LEN];
        size_t nw = load_proof(want, v), ng = 0;
        const uint8_t(*cw)[TL_HASH_LEN] = (const uint8_t(*)[TL_HASH_LEN])want;
        if (i < 2) {
            assert_int_equal(tl_merkle_consistency_proof(got, &ng, v->a, 300, tree_source, t),
                             TL_OK);
            assert_int_equal(tl_merkle_verify_consistency(v->a, 300, i == 0 ? r256 : r200, r300,
                                                          cw, nw),
                             TL_OK);
        } else {
            assert_int_equal(tl_merkle_inclusion_proof(got, &ng, v->a, 300, tree_source, t),
                             TL_OK);
            assert_int_equal(tl_merkle_verify_inclusion(v->a, 300, lv[v->a], cw, nw, r300),
                             TL_OK);
            assert_int_equal(tl_merkle_verify_inclusion(v->a + 1 == 300 ? v->a - 1 : v->a + 1,
                                                        300, lv[v->a], cw, nw, r300),
                             TL_ERR_PROOF);
        }
        assert_int_equal(ng, nw);
        assert_memory_equal(got, want, nw * TL_HASH_LEN);
    }
    tree_free(t);
}

/* Unaligned ranges fall back to the RFC recursion and still match the reference. */
static void test_range_hash_any(void **state)
{
    (void)state;
    static uint8_t lv[512][TL_HASH_LEN];
    tree *t = tree300(lv, 300);
    for (uint64_t b = 0; b < 300; b += 7) {
        for (uint64_t e = b + 1; e <= 300; e += 13) {
            uint8_t got[TL_HASH_LEN], want[TL_HASH_LEN];
            assert_int_equal(tl_merkle_range_hash(got, b, e, tree_source, t), TL_OK);
            ref_mth(want, (const uint8_t(*)[TL_HASH_LEN])lv, b, e);
            assert_memory_equal(got, want, TL_HASH_LEN);
        }
    }
    tree_free(t);
}

/* ---- exhaustive: every proof of every tree up to 300 leaves ----------------------------- */

typedef struct sink_log {
    tree *t;
    uint64_t calls;
    unsigned last_height;
} sink_log;

static void check_sink(void *ctx, unsigned height, uint64_t index, const uint8_t hash[TL_HASH_LEN])
{
    sink_log *s = ctx;
    s->calls++;
    assert_true(height < LEVELS);
    assert_true(index < (s->t->n >> height));
    assert_memory_equal(hash, s->t->node[height][index], TL_HASH_LEN);
    /* bottom-up within one append: a leaf first, then strictly increasing heights */
    if (height != 0)
        assert_int_equal(height, s->last_height + 1);
    s->last_height = height;
}

static bool proofs_equal(const uint8_t (*a)[TL_HASH_LEN], size_t na,
                         const uint8_t (*b)[TL_HASH_LEN], size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * TL_HASH_LEN) == 0);
}

/* Sizes near x (x-2 .. x+2, 2x, x/2, and the bounds) inside [lo, hi], other than x. */
static size_t alternatives(uint64_t out[8], uint64_t x, uint64_t lo, uint64_t hi)
{
    const uint64_t cand[8] = {x - 2, x - 1, x + 1, x + 2, 2 * x, x / 2, lo, hi};
    size_t n = 0;
    for (size_t i = 0; i < 8; i++) {
        uint64_t c = cand[i];
        bool dup = c == x || c < lo || c > hi; /* x - 2 wraps above hi for x < 2 */
        for (size_t j = 0; j < n && !dup; j++)
            dup = out[j] == c;
        if (!dup)
            out[n++] = c;
    }
    return n;
}

static void test_exhaustive_300(void **state)
{
    (void)state;
    enum { N = 300 };
    static uint8_t lv[512][TL_HASH_LEN];
    tree *t = tree300(lv, N);
    static uint8_t roots[N + 2][TL_HASH_LEN];
    for (uint64_t n = 0; n <= N + 1; n++)
        ref_mth(roots[n], (const uint8_t(*)[TL_HASH_LEN])lv, 0, n);

    /* Proofs for every (i, n) and (m, n), kept to compare mutations against the truth. */
    typedef struct pf {
        size_t n;
        uint8_t h[10][TL_HASH_LEN]; /* ceil(log2 300) + 1 */
    } pf;
    pf *incl = calloc((size_t)(N + 1) * (N + 1), sizeof *incl);
    pf *cons = calloc((size_t)(N + 1) * (N + 1), sizeof *cons);
    assert_non_null(incl);
    assert_non_null(cons);
#define INCL(i, n) (&incl[(size_t)(n) * (N + 1) + (size_t)(i)])
#define CONS(m, n) (&cons[(size_t)(n) * (N + 1) + (size_t)(m)])
    for (uint64_t n = 1; n <= N; n++) {
        t->n = n;
        uint8_t h[TL_HASH_LEN];
        assert_int_equal(tl_merkle_root(h, n, tree_source, t), TL_OK);
        assert_memory_equal(h, roots[n], TL_HASH_LEN);
        uint8_t tmp[TL_PROOF_MAX][TL_HASH_LEN];
        size_t k = 0;
        for (uint64_t i = 0; i < n; i++) {
            assert_int_equal(tl_merkle_inclusion_proof(tmp, &k, i, n, tree_source, t), TL_OK);
            assert_true(k <= 9);
            INCL(i, n)->n = k;
            memcpy(INCL(i, n)->h, tmp, k * TL_HASH_LEN);
        }
        for (uint64_t m = 0; m <= n; m++) {
            assert_int_equal(tl_merkle_consistency_proof(tmp, &k, m, n, tree_source, t), TL_OK);
            assert_true(k <= 10);
            CONS(m, n)->n = k;
            memcpy(CONS(m, n)->h, tmp, k * TL_HASH_LEN);
        }
    }
    t->n = N;

    uint8_t p[TL_PROOF_MAX + 1][TL_HASH_LEN];
    const uint8_t(*cp)[TL_HASH_LEN] = (const uint8_t(*)[TL_HASH_LEN])p;
    unsigned long checks = 0;
    for (uint64_t n = 1; n <= N; n++) {
        for (uint64_t i = 0; i < n; i++) {
            const pf *g = INCL(i, n);
            size_t k = g->n;
            memcpy(p, g->h, sizeof g->h);
            assert_true(k <= 9);
            assert_int_equal(tl_merkle_verify_inclusion(i, n, lv[i], cp, k, roots[n]), TL_OK);
            for (size_t j = 0; j < k; j++) {
                unsigned bit = (unsigned)((i + j * 37) % 256);
                flip(p[j], bit);
                assert_int_equal(tl_merkle_verify_inclusion(i, n, lv[i], cp, k, roots[n]),
                                 TL_ERR_PROOF);
                flip(p[j], bit);
                checks++;
            }
            if (k > 0) {
                assert_int_equal(tl_merkle_verify_inclusion(i, n, lv[i], cp, k - 1, roots[n]),
                                 TL_ERR_PROOF);
                assert_int_equal(tl_merkle_verify_inclusion(i, n, lv[i], cp + 1, k - 1, roots[n]),
                                 TL_ERR_PROOF);
            }
            memcpy(p[k], lv[(i + 1) % n], TL_HASH_LEN);
            assert_int_equal(tl_merkle_verify_inclusion(i, n, lv[i], cp, k + 1, roots[n]),
                             TL_ERR_PROOF);
            assert_int_equal(tl_merkle_verify_inclusion(i, n, lv[n], cp, k, roots[n]),
                             TL_ERR_PROOF);
            assert_int_equal(tl_merkle_verify_inclusion(i, n, lv[i], cp, k, roots[n + 1]),
                             TL_ERR_PROOF);
            assert_int_equal(tl_merkle_verify_inclusion(n, n, lv[i], cp, k, roots[n]),
                             TL_ERR_PROOF);
            /* Another index: the leaf is not there (neighbours cover every orientation). */
            for (uint64_t i2 = i > 3 ? i - 3 : 0; i2 < n && i2 <= i + 3; i2++) {
                if (i2 != i)
                    assert_int_equal(tl_merkle_verify_inclusion(i2, n, lv[i], cp, k, roots[n]),
                                     TL_ERR_PROOF);
            }
            /* Another size with that size's root: valid exactly when the proofs coincide. */
            uint64_t alt[8];
            size_t na = alternatives(alt, n, i + 1, N);
            for (size_t a = 0; a < na; a++) {
                const pf *g2 = INCL(i, alt[a]);
                bool same = proofs_equal(cp, k, (const uint8_t(*)[TL_HASH_LEN])g2->h, g2->n);
                assert_int_equal(tl_merkle_verify_inclusion(i, alt[a], lv[i], cp, k, roots[alt[a]]),
                                 same ? TL_OK : TL_ERR_PROOF);
            }
        }
        for (uint64_t m = 0; m <= n; m++) {
            const pf *g = CONS(m, n);
            size_t k = g->n;
            memcpy(p, g->h, sizeof g->h);
            assert_true(k <= 10);
            assert_int_equal(tl_merkle_verify_consistency(m, n, roots[m], roots[n], cp, k),
                             TL_OK);
            for (size_t j = 0; j < k; j++) {
                unsigned bit = (unsigned)((m + j * 37) % 256);
                flip(p[j], bit);
                assert_int_equal(tl_merkle_verify_consistency(m, n, roots[m], roots[n], cp, k),
                                 TL_ERR_PROOF);
                flip(p[j], bit);
                checks++;
            }
            if (k > 0) {
                assert_int_equal(tl_merkle_verify_consistency(m, n, roots[m], roots[n], cp, k - 1),
                                 TL_ERR_PROOF);
                assert_int_equal(
                    tl_merkle_verify_consistency(m, n, roots[m], roots[n], cp + 1, k - 1),
                    TL_ERR_PROOF);
            }
            memcpy(p[k], lv[m % n], TL_HASH_LEN);
            assert_int_equal(tl_merkle_verify_consistency(m, n, roots[m], roots[n], cp, k + 1),
                             TL_ERR_PROOF);
            /* Wrong roots, unless both sizes name the same tree (m == n); from m == 0 any
             * new root is consistent, so only the old one can be wrong. */
            if (m != n) {
                assert_int_equal(
                    tl_merkle_verify_consistency(m, n, roots[m + 1], roots[n], cp, k),
                    TL_ERR_PROOF);
                assert_int_equal(
                    tl_merkle_verify_consistency(m, n, roots[m], roots[n + 1], cp, k),
                    m == 0 ? TL_OK : TL_ERR_PROOF);
                assert_int_equal(tl_merkle_verify_consistency(n, m, roots[n], roots[m], cp, k),
                                 TL_ERR_PROOF);
            }
            /* Other sizes with their true roots: valid exactly when the proofs coincide. */
            uint64_t alt[8];
            size_t na = alternatives(alt, m, 0, n);
            for (size_t a = 0; a < na; a++) {
                const pf *g2 = CONS(alt[a], n);
                bool same = proofs_equal(cp, k, (const uint8_t(*)[TL_HASH_LEN])g2->h, g2->n);
                assert_int_equal(
                    tl_merkle_verify_consistency(alt[a], n, roots[alt[a]], roots[n], cp, k),
                    same ? TL_OK : TL_ERR_PROOF);
            }
            na = alternatives(alt, n, m > 0 ? m : 1, N);
            for (size_t a = 0; a < na; a++) {
                const pf *g2 = CONS(m, alt[a]);
                bool same = proofs_equal(cp, k, (const uint8_t(*)[TL_HASH_LEN])g2->h, g2->n);
                assert_int_equal(
                    tl_merkle_verify_consistency(m, alt[a], roots[m], roots[alt[a]], cp, k),
                    same ? TL_OK : TL_ERR_PROOF);
            }
        }
    }
    assert_true(checks > 100000);
#undef INCL
#undef CONS
    free(incl);
    free(cons);
    tree_free(t);
}

/* The frontier: root after every append, completed nodes reported, and load == append. */
static void test_frontier(void **state)
{
    (void)state;
    static uint8_t lv[512][TL_HASH_LEN];
    tree *t = tree300(lv, 512);
    tl_frontier f;
    tl_frontier_init(&f);
    sink_log s = {.t = t};
    for (uint64_t n = 0; n <= 300; n++) {
        uint8_t want[TL_HASH_LEN], got[TL_HASH_LEN];
        ref_mth(want, (const uint8_t(*)[TL_HASH_LEN])lv, 0, n);
        tl_frontier_root(&f, got);
        assert_memory_equal(got, want, TL_HASH_LEN);
        assert_int_equal(f.size, n);
        /* every node completed so far: 2n - popcount(n) */
        assert_int_equal(s.calls, 2 * n - (uint64_t)__builtin_popcountll(n));

        tl_frontier g;
        memset(&g, 0xa5, sizeof g);
        assert_int_equal(tl_frontier_load(&g, n, tree_source, t), TL_OK);
        assert_int_equal(g.size, n);
        for (unsigned b = 0; b < 64; b++)
            if ((n >> b) & 1)
                assert_memory_equal(g.h[b], f.h[b], TL_HASH_LEN);
        tl_frontier_root(&g, got);
        assert_memory_equal(got, want, TL_HASH_LEN);

        if (n < 300) {
            s.last_height = 0;
            assert_int_equal(tl_frontier_append(&f, lv[n], check_sink, &s), TL_OK);
        }
    }
    /* A failed load leaves the frontier untouched. */
    tl_frontier before = f;
    t->fail_with = TL_ERR_IO;
    assert_int_equal(tl_frontier_load(&f, 100, tree_source, t), TL_ERR_IO);
    assert_memory_equal(&f, &before, sizeof f);
    t->fail_with = TL_OK;
    assert_int_equal(tl_frontier_load(&f, UINT64_C(1) << 63, tree_source, t), TL_ERR_RANGE);
    assert_memory_equal(&f, &before, sizeof f);
    /* The 2^63 bound: a frontier one short of it takes no more leaves. */
    f.size = UINT64_C(0x7fffffffffffffff);
    before = f;
    assert_int_equal(tl_frontier_append(&f, lv[0], NULL, NULL), TL_ERR_RANGE);
    assert_memory_equal(&f, &before, sizeof f);
    f.size = UINT64_C(0x7ffffffffffffffe);
    assert_int_equal(tl_frontier_append(&f, lv[0], NULL, NULL), TL_OK);
    assert_int_equal(f.size, UINT64_C(0x7fffffffffffffff));
    /* Empty frontier root. */
    tl_frontier_init(&f);
    uint8_t h[TL_HASH_LEN];
    tl_frontier_root(&f, h);
    assert_memory_equal(h, TL_EMPTY_ROOT, TL_HASH_LEN);
    tree_free(t);
}

/* Proof lengths at the top of the range fit TL_PROOF_MAX. A tree whose leaves are all equal
 * has one hash per height, so a consistent source for 2^63 leaves costs 64 hashes. */
typedef struct flat {
    uint8_t h[64][TL_HASH_LEN];
} flat;

static tl_err flat_source(void *ctx, unsigned height, uint64_t index, uint8_t out[TL_HASH_LEN])
{
    const flat *fl = ctx;
    (void)index;
    assert_true(height < 64);
    memcpy(out, fl->h[height], TL_HASH_LEN);
    return TL_OK;
}

static void test_big_sizes(void **state)
{
    (void)state;
    const uint64_t max = UINT64_C(0x7fffffffffffffff);
    flat fl;
    tl_leaf_hash(fl.h[0], "x", 1);
    for (unsigned h = 1; h < 64; h++)
        tl_node_hash(fl.h[h], fl.h[h - 1], fl.h[h - 1]);
    uint8_t p[TL_PROOF_MAX][TL_HASH_LEN];
    const uint8_t(*cp)[TL_HASH_LEN] = (const uint8_t(*)[TL_HASH_LEN])p;
    size_t n = 0;
    uint8_t root[TL_HASH_LEN], old[TL_HASH_LEN];

    assert_int_equal(tl_merkle_root(root, max, flat_source, &fl), TL_OK);
    assert_int_equal(tl_merkle_inclusion_proof(p, &n, max - 1, max, flat_source, &fl), TL_OK);
    assert_int_equal(n, 62);
    assert_int_equal(tl_merkle_verify_inclusion(max - 1, max, fl.h[0], cp, n, root), TL_OK);
    assert_int_equal(tl_merkle_inclusion_proof(p, &n, 0, max, flat_source, &fl), TL_OK);
    assert_int_equal(n, 63);
    assert_int_equal(tl_merkle_verify_inclusion(0, max, fl.h[0], cp, n, root), TL_OK);
    assert_int_equal(tl_merkle_verify_inclusion(0, max, fl.h[0], cp, n - 1, root), TL_ERR_PROOF);

    /* 3 -> 2^62 + 1 needs ceil(log2 n) + 1 = 64 hashes: the whole of TL_PROOF_MAX */
    uint64_t big = (UINT64_C(1) << 62) + 1;
    assert_int_equal(tl_merkle_root(root, big, flat_source, &fl), TL_OK);
    assert_int_equal(tl_merkle_root(old, 3, flat_source, &fl), TL_OK);
    assert_int_equal(tl_merkle_consistency_proof(p, &n, 3, big, flat_source, &fl), TL_OK);
    assert_int_equal(n, 64);
    assert_int_equal(tl_merkle_verify_consistency(3, big, old, root, cp, n), TL_OK);
    assert_int_equal(tl_merkle_verify_consistency(3, big, old, root, cp, n - 1), TL_ERR_PROOF);
    assert_int_equal(tl_merkle_consistency_proof(p, &n, 3, max, flat_source, &fl), TL_OK);
    assert_int_equal(tl_merkle_root(root, max, flat_source, &fl), TL_OK);
    assert_int_equal(tl_merkle_verify_consistency(3, max, old, root, cp, n), TL_OK);
    assert_int_equal(tl_merkle_consistency_proof(p, &n, 3, max + 1, flat_source, &fl),
                     TL_ERR_RANGE);
    /* tl_merkle_root itself is not bounded: 2^64 - 1 leaves fold fine */
    assert_int_equal(tl_merkle_root(root, UINT64_MAX, flat_source, &fl), TL_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hasher_vectors),
        cmocka_unit_test(test_leaves_and_nodes_8),
        cmocka_unit_test(test_roots_8),
        cmocka_unit_test(test_inclusion_vectors_8),
        cmocka_unit_test(test_consistency_vectors_8),
        cmocka_unit_test(test_negatives_8),
        cmocka_unit_test(test_tree300_vectors),
        cmocka_unit_test(test_range_hash_any),
        cmocka_unit_test(test_exhaustive_300),
        cmocka_unit_test(test_frontier),
        cmocka_unit_test(test_big_sizes),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
