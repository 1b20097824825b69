/* reader_test.c - the tile reader (src/log/reader.c) against an in-memory Merkle tree: every
 * perfect-subtree node of every published size, in order and shuffled, cold and warm, with
 * and without the store's read_at(); inclusion and consistency proofs byte for byte; entries;
 * the fallback from a missing partial tile to the full one; and the errors for missing,
 * short, long and corrupt tiles and bundles, with their messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "treatylog/hash.h"
#include "treatylog/log.h"
#include "treatylog/merkle.h"
#include "treatylog/tile.h"

#define N    70000u /* three tile levels: 273 level-0 tiles, 1 full and 1 partial level-1 tile */
#define HMAX 18

/* Test-only state (the library has none): the log directory and the reference tree. */
static char base[256], dir[300];
static tl_skey key;
static uint8_t (*tree[HMAX])[32]; /* tree[h][k] = MTH of leaves [k*2^h, (k+1)*2^h) */
static const uint64_t published[] = {1,   2,   3,    16,   17,    255,   256,   257,
                                     511, 600, 4096, 4097, 65535, 65536, 65537, N};
#define NPUB (sizeof published / sizeof published[0])

static void entry_bytes(uint8_t *buf, size_t *len, uint64_t i)
{
    /* Lengths vary (0..299 bytes) so bundles have entries at irregular offsets. */
    size_t n = (size_t)((i * 7919u) % 300u);
    for (size_t j = 0; j < n; j++)
        buf[j] = (uint8_t)(i + j * 31u);
    *len = n;
}

static void build_tree(void)
{
    for (unsigned h = 0; h < HMAX; h++)
        tree[h] = calloc((N >> h) + 1, 32);
    uint8_t buf[300];
    size_t len = 0;
    for (uint64_t i = 0; i < N; i++) {
        entry_bytes(buf, &len, i);
        tl_leaf_hash(tree[0][i], buf, len);
    }
    for (unsigned h = 1; h < HMAX; h++)
        for (uint64_t k = 0; k < (N >> h); k++)
            tl_node_hash(tree[h][k], tree[h - 1][2 * k], tree[h - 1][2 * k + 1]);
}

/* The in-memory hash source, for reference proofs (ctx: the tree size). */
static tl_err mem_hash(void *ctx, unsigned h, uint64_t k, uint8_t out[TL_HASH_LEN])
{
    uint64_t size = *(const uint64_t *)ctx;
    if (h >= HMAX || ((k + 1) << h) > size)
        return TL_ERR_RANGE;
    memcpy(out, tree[h][k], 32);
    return TL_OK;
}

static int group_setup(void **state)
{
    (void)state;
    assert_int_equal(tl_init(), TL_OK);
    snprintf(base, sizeof base, "/tmp/tl-reader-test.XXXXXX");
    assert_non_null(mkdtemp(base));
    snprintf(dir, sizeof dir, "%s/log", base);
    uint8_t seed[32] = {7};
    assert_int_equal(tl_skey_from_seed(&key, "test.example/reader", 19, TL_KEY_ED25519, seed, NULL),
                     TL_OK);
    tl_diag d;
    assert_int_equal(tl_log_create(dir, NULL, &key, &d), TL_OK);
    tl_log *l = NULL;
    assert_int_equal(tl_log_open(&l, dir, NULL, &d), TL_OK);
    uint64_t have = 0;
    uint8_t buf[300];
    size_t len = 0;
    for (size_t p = 0; p < NPUB; p++) {
        for (; have < published[p]; have++) {
            entry_bytes(buf, &len, have);
            assert_int_equal(tl_log_add(l, buf, len, NULL, &d), TL_OK);
        }
        assert_int_equal(tl_log_publish(l, &d), TL_OK);
    }
    tl_log_close(l);
    build_tree();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    assert_int_equal(system(cmd), 0);
    for (unsigned h = 0; h < HMAX; h++)
        free(tree[h]);
    return 0;
}

/* A store that forwards to the posix store but has no read_at (as the HTTP store). */
typedef struct plain_store {
    tl_store base;
    tl_store *inner;
} plain_store;

static tl_err ps_read(tl_store *s, const char *path, uint8_t **buf, size_t *len, tl_diag *d)
{
    plain_store *p = (plain_store *)s;
    return p->inner->ops->read(p->inner, path, buf, len, d);
}

static void ps_close(tl_store *s)
{
    (void)s;
}

static const struct tl_store_ops plain_ops = {.name = "plain", .read = ps_read, .close = ps_close};

static tl_store *open_store(void)
{
    tl_store *st = NULL;
    tl_diag d;
    assert_int_equal(tl_store_posix_open(&st, dir, false, NULL, &d), TL_OK);
    return st;
}

/* Every node of the tree of `size` through r, compared with the reference. */
static void check_all_nodes(tl_reader *r, uint64_t size)
{
    for (unsigned h = 0; h < HMAX; h++) {
        for (uint64_t k = 0; ((k + 1) << h) <= size; k++) {
            uint8_t got[32];
            tl_err e = tl_reader_hash(r, h, k, got);
            if (e != TL_OK)
                fail_msg("size %llu node (%u, %llu): %s", (unsigned long long)size, h,
                         (unsigned long long)k, tl_reader_error(r));
            if (memcmp(got, tree[h][k], 32) != 0)
                fail_msg("size %llu node (%u, %llu) differs", (unsigned long long)size, h,
                         (unsigned long long)k);
        }
    }
    uint8_t bad[32];
    assert_int_equal(tl_reader_hash(r, 0, size, bad), TL_ERR_RANGE);
    assert_int_equal(tl_reader_hash(r, 64, 0, bad), TL_ERR_RANGE);
}

/* Inclusion proofs for a spread of indexes, and consistency proofs, byte for byte. */
static void check_proofs(tl_reader *r, uint64_t size)
{
    uint64_t sz = size;
    for (uint64_t i = 0; i < size; i += 1 + size / 61) {
        uint8_t a[TL_PROOF_MAX][32], b[TL_PROOF_MAX][32];
        size_t na = 0, nb = 0;
        assert_int_equal(tl_merkle_inclusion_proof(a, &na, i, size, tl_reader_hash, r), TL_OK);
        assert_int_equal(tl_merkle_inclusion_proof(b, &nb, i, size, mem_hash, &sz), TL_OK);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na * 32);
    }
    for (size_t p = 0; p < NPUB && published[p] <= size; p++) {
        uint8_t a[TL_PROOF_MAX][32], b[TL_PROOF_MAX][32];
        size_t na = 0, nb = 0;
        assert_int_equal(tl_merkle_consistency_proof(a, &na, published[p], size, tl_reader_hash, r),
                         TL_OK);
        assert_int_equal(tl_merkle_consistency_proof(b, &nb, published[p], size, mem_hash, &sz),
                         TL_OK);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na * 32);
    }
    uint8_t root[32], want[32];
    tl_diag d;
    assert_int_equal(tl_reader_root(r, root, &d), TL_OK);
    assert_int_equal(tl_merkle_root(want, size, mem_hash, &sz), TL_OK);
    assert_memory_equal(root, want, 32);
}

static void check_entries(tl_reader *r, uint64_t size)
{
    for (uint64_t i = 0; i < size; i += 1 + size / 97) {
        uint8_t *ent = NULL, want[300];
        size_t len = 0, wlen = 0;
        tl_diag d;
        tl_err e = tl_reader_entry(r, i, &ent, &len, &d);
        if (e != TL_OK)
            fail_msg("entry %llu at size %llu: %s", (unsigned long long)i, (unsigned long long)size,
                     d.msg);
        entry_bytes(want, &wlen, i);
        assert_int_equal(len, wlen);
        assert_memory_equal(ent, want, len);
        free(ent);
    }
    uint8_t *ent = NULL;
    size_t len = 0;
    tl_diag d;
    assert_int_equal(tl_reader_entry(r, size, &ent, &len, &d), TL_ERR_RANGE);
}

static void every_size(tl_store *st)
{
    for (size_t p = 0; p < NPUB; p++) {
        tl_reader *r = NULL;
        tl_diag d;
        assert_int_equal(tl_reader_new(&r, st, published[p], &d), TL_OK);
        assert_int_equal(tl_reader_size(r), published[p]);
        check_proofs(r, published[p]); /* cold: proofs first */
        check_all_nodes(r, published[p]);
        check_entries(r, published[p]);
        tl_reader_free(r);
    }
}

static void test_every_node_every_size(void **state)
{
    (void)state;
    tl_store *st = open_store();
    every_size(st);
    st->ops->close(st);
}

static void test_without_read_at(void **state)
{
    (void)state;
    tl_store *st = open_store();
    plain_store ps = {.base = {.ops = &plain_ops}, .inner = st};
    every_size(&ps.base);
    st->ops->close(st);
}

/* One reader moved across sizes, up and down; nodes in random order; then warmed. */
static void test_one_reader_many_sizes(void **state)
{
    (void)state;
    tl_store *st = open_store();
    tl_reader *r = NULL;
    tl_diag d;
    assert_int_equal(tl_reader_new(&r, st, 1, &d), TL_OK);
    uint64_t order[] = {N, 1, 600, 65536, 257, 65537, 4097, N, 256};
    for (size_t s = 0; s < sizeof order / sizeof order[0]; s++) {
        tl_reader_set_size(r, order[s]);
        uint64_t seed = 12345 + s;
        for (int i = 0; i < 20000; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            unsigned h = (unsigned)((seed >> 33) % HMAX);
            if ((order[s] >> h) == 0)
                continue;
            uint64_t k = (seed >> 13) % (order[s] >> h);
            uint8_t got[32];
            assert_int_equal(tl_reader_hash(r, h, k, got), TL_OK);
            assert_memory_equal(got, tree[h][k], 32);
        }
        check_proofs(r, order[s]);
    }
    tl_reader_set_size(r, N);
    uint64_t tiles = 0;
    assert_int_equal(tl_reader_warm(r, &tiles, &d), TL_OK);
    assert_true(tiles <= N / 256);
    assert_int_equal(tl_reader_warm(r, &tiles, &d), TL_OK);
    assert_int_equal(tiles, 0); /* all summarised already */
    check_all_nodes(r, N);
    tl_reader_free(r);
    /* A fresh reader warmed before anything else. */
    assert_int_equal(tl_reader_new(&r, st, N, &d), TL_OK);
    assert_int_equal(tl_reader_warm(r, &tiles, &d), TL_OK);
    assert_int_equal(tiles, N / 256);
    check_proofs(r, N);
    check_entries(r, N);
    tl_reader_free(r);
    st->ops->close(st);
}

/* ---- errors: on a small log of its own per test ---- */

static char edir[320];

static int small_setup(void **state)
{
    (void)state;
    snprintf(edir, sizeof edir, "%s/small", base);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", edir);
    assert_int_equal(system(cmd), 0);
    tl_diag d;
    assert_int_equal(tl_log_create(edir, NULL, &key, &d), TL_OK);
    tl_log *l = NULL;
    assert_int_equal(tl_log_open(&l, edir, NULL, &d), TL_OK);
    uint8_t buf[300];
    size_t len = 0;
    for (uint64_t i = 0; i < 800; i++) {
        entry_bytes(buf, &len, i);
        assert_int_equal(tl_log_add(l, buf, len, NULL, &d), TL_OK);
        if (i + 1 == 600 || i + 1 == 800)
            assert_int_equal(tl_log_publish(l, &d), TL_OK);
    }
    tl_log_close(l);
    return 0;
}

static void path_of(char *out, size_t cap, const char *rel)
{
    snprintf(out, cap, "%s/%s", edir, rel);
}

static void set_length(const char *rel, off_t len)
{
    char p[512];
    path_of(p, sizeof p, rel);
    assert_int_equal(truncate(p, len), 0);
}

static void remove_file(const char *rel)
{
    char p[512];
    path_of(p, sizeof p, rel);
    assert_int_equal(unlink(p), 0);
}

static tl_store *open_small(void)
{
    tl_store *st = NULL;
    tl_diag d;
    assert_int_equal(tl_store_posix_open(&st, edir, false, NULL, &d), TL_OK);
    return st;
}

static void expect_hash_error(tl_reader *r, unsigned h, uint64_t k, tl_err want, const char *msg)
{
    uint8_t out[32];
    assert_int_equal(tl_reader_hash(r, h, k, out), want);
    if (!strstr(tl_reader_error(r), msg))
        fail_msg("error \"%s\" does not contain \"%s\"", tl_reader_error(r), msg);
}

static void test_missing_tile(void **state)
{
    (void)state;
    tl_store *st = open_small();
    tl_reader *r = NULL;
    tl_diag d;
    assert_int_equal(tl_reader_new(&r, st, 800, &d), TL_OK);
    remove_file("tile/0/001");
    expect_hash_error(r, 0, 300, TL_ERR_NOTFOUND,
                      "tile tile/0/001 is missing (needed for tree size 800)");
    expect_hash_error(r, 5, 300 >> 5, TL_ERR_NOTFOUND,
                      "tile tile/0/001 is missing (needed for tree size 800)");
    uint8_t proof[TL_PROOF_MAX][32];
    size_t np = 0;
    assert_int_equal(tl_merkle_inclusion_proof(proof, &np, 300, 800, tl_reader_hash, r),
                     TL_ERR_NOTFOUND);
    /* Other tiles still serve: index 10's path takes [256, 512) from tile/1/000.p/3. */
    assert_int_equal(tl_merkle_inclusion_proof(proof, &np, 10, 800, tl_reader_hash, r), TL_OK);
    uint8_t out[32];
    assert_int_equal(tl_reader_hash(r, 0, 10, out), TL_OK);
    tl_reader_free(r);
    st->ops->close(st);
}

static void test_short_and_long_tiles(void **state)
{
    (void)state;
    tl_store *st = open_small();
    tl_reader *r = NULL;
    tl_diag d;
    assert_int_equal(tl_reader_new(&r, st, 800, &d), TL_OK);
    /* Summarised (a proof), then another tile read whole, then tile 1 cut short: a group
     * still inside the file is read as is (the length was checked when first read); one past
     * the end reads the tile whole again and reports its length. */
    uint8_t proof[TL_PROOF_MAX][32];
    size_t np = 0;
    assert_int_equal(tl_merkle_inclusion_proof(proof, &np, 300, 800, tl_reader_hash, r), TL_OK);
    assert_int_equal(tl_merkle_inclusion_proof(proof, &np, 10, 800, tl_reader_hash, r), TL_OK);
    set_length("tile/0/001", 8000);
    expect_hash_error(r, 0, 256 + 250, TL_ERR_FORMAT, "tile tile/0/001 has 8000 bytes, want 8192");
    tl_reader_free(r);
    /* A fresh reader checks the length on first use, whatever it asks for. */
    assert_int_equal(tl_reader_new(&r, st, 800, &d), TL_OK);
    expect_hash_error(r, 0, 256, TL_ERR_FORMAT, "tile tile/0/001 has 8000 bytes, want 8192");
    expect_hash_error(r, 7, 3, TL_ERR_FORMAT, "tile tile/0/001 has 8000 bytes, want 8192");
    /* Too long: the exact length is reported. */
    set_length("tile/0/001", 8292);
    expect_hash_error(r, 6, 5, TL_ERR_FORMAT, "tile tile/0/001 has 8292 bytes, want 8192");
    set_length("tile/0/003.p/32", 33 * 32);
    expect_hash_error(r, 0, 790, TL_ERR_FORMAT, "tile tile/0/003.p/32 has 1056 bytes, want 1024");
    set_length("tile/1/000.p/3", 3 * 32 - 1);
    expect_hash_error(r, 8, 2, TL_ERR_FORMAT, "tile tile/1/000.p/3 has 95 bytes, want 96");
    tl_reader_free(r);
    st->ops->close(st);
}

static void test_partial_fallback(void **state)
{
    (void)state;
    tl_store *st = open_small();
    /* Size 600's partial tiles removed: its right edge is read from the full tile 002 (which
     * size 800 has), cut to 88 hashes; same for the bundle. */
    remove_file("tile/0/002.p/88");
    remove_file("tile/entries/002.p/88");
    tl_reader *r = NULL;
    tl_diag d;
    assert_int_equal(tl_reader_new(&r, st, 600, &d), TL_OK);
    check_all_nodes(r, 600);
    check_proofs(r, 600);
    check_entries(r, 600);
    /* At 800 the right edge has no full tile to fall back to. */
    remove_file("tile/0/003.p/32");
    tl_reader_set_size(r, 800);
    expect_hash_error(r, 0, 790, TL_ERR_NOTFOUND,
                      "tile tile/0/003.p/32 is missing (needed for tree size 800)");
    /* A fallback full tile of the wrong length. */
    tl_reader_free(r);
    set_length("tile/0/002", 8191);
    assert_int_equal(tl_reader_new(&r, st, 600, &d), TL_OK);
    expect_hash_error(
        r, 0, 520, TL_ERR_FORMAT,
        "tile tile/0/002.p/88 (full tile read as fallback) has 8191 bytes, want 8192");
    tl_reader_free(r);
    st->ops->close(st);
}

static void test_bad_bundles(void **state)
{
    (void)state;
    tl_store *st = open_small();
    tl_reader *r = NULL;
    tl_diag d;
    assert_int_equal(tl_reader_new(&r, st, 800, &d), TL_OK);
    uint8_t *ent = NULL;
    size_t len = 0;
    /* A flipped byte inside entry 3 of bundle 001. */
    char p[512];
    path_of(p, sizeof p, "tile/entries/001");
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    uint8_t buf[300];
    size_t off = 0, elen = 0;
    for (uint64_t i = 256; i < 259; i++) {
        entry_bytes(buf, &elen, i);
        off += 2 + elen;
    }
    entry_bytes(buf, &elen, 259);
    assert_true(elen > 0);
    fseek(f, (long)off + 2, SEEK_SET);
    fputc(buf[0] ^ 0xff, f);
    fclose(f);
    assert_int_equal(tl_reader_entry(r, 259, &ent, &len, &d), TL_ERR_PROOF);
    assert_non_null(
        strstr(d.msg, "entry 259 in bundle tile/entries/001 does not match its leaf hash"));
    assert_int_equal(tl_reader_entry(r, 258, &ent, &len, &d), TL_OK);
    free(ent);
    /* Cut inside entry 200's bytes, and at its start. */
    off = 0;
    for (uint64_t i = 0; i < 200; i++) {
        entry_bytes(buf, &elen, i);
        off += 2 + elen;
    }
    set_length("tile/entries/000", (off_t)off + 3);
    assert_int_equal(tl_reader_entry(r, 210, &ent, &len, &d), TL_ERR_FORMAT);
    assert_string_equal(d.msg, "entry bundle tile/entries/000: truncated at entry 200");
    set_length("tile/entries/000", (off_t)off);
    assert_int_equal(tl_reader_entry(r, 210, &ent, &len, &d), TL_ERR_FORMAT);
    assert_string_equal(d.msg, "entry bundle tile/entries/000: ends early at entry 200");
    assert_int_equal(tl_reader_entry(r, 199, &ent, &len, &d), TL_OK);
    free(ent);
    remove_file("tile/entries/003.p/32");
    assert_int_equal(tl_reader_entry(r, 790, &ent, &len, &d), TL_ERR_NOTFOUND);
    assert_string_equal(d.msg, "entry bundle tile/entries/003.p/32 is missing");
    tl_reader_free(r);
    st->ops->close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_node_every_size),
        cmocka_unit_test(test_without_read_at),
        cmocka_unit_test(test_one_reader_many_sizes),
        cmocka_unit_test_setup(test_missing_tile, small_setup),
        cmocka_unit_test_setup(test_short_and_long_tiles, small_setup),
        cmocka_unit_test_setup(test_partial_fallback, small_setup),
        cmocka_unit_test_setup(test_bad_bundles, small_setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
