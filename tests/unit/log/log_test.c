/* log_test.c - the log writer, reader and audit over the posix store, with fault injection
 * through the store's system-call table: a failed write, fsync, syncfs or rename never
 * publishes a checkpoint the tiles do not back, and the log recovers on reopen. */
#include <errno.h>
#include <fcntl.h>
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

/* Fault injection state: test-only globals (the library itself has none). */
static int fail_write_at = -1, fail_fsync_at = -1, fail_syncfs_at = -1, fail_rename_at = -1;
static int n_write, n_fsync, n_syncfs, n_rename;

static int f_open(const char *p, int fl, mode_t m)
{
    return open(p, fl, m);
}
static ssize_t f_write(int fd, const void *b, size_t n)
{
    if (n_write++ == fail_write_at) {
        errno = ENOSPC;
        return -1;
    }
    return write(fd, b, n);
}
static int f_fsync(int fd)
{
    if (n_fsync++ == fail_fsync_at) {
        errno = EIO;
        return -1;
    }
    return fsync(fd);
}
static int f_syncfs(int fd)
{
    if (n_syncfs++ == fail_syncfs_at) {
        errno = EIO;
        return -1;
    }
    return syncfs(fd);
}
static int f_rename(const char *a, const char *b)
{
    if (n_rename++ == fail_rename_at) {
        errno = EIO;
        return -1;
    }
    return rename(a, b);
}
static const tl_sys faulty = {f_open, f_write, f_fsync, f_syncfs, f_rename, close, NULL};

static void reset_faults(void)
{
    fail_write_at = fail_fsync_at = fail_syncfs_at = fail_rename_at = -1;
    n_write = n_fsync = n_syncfs = n_rename = 0;
}

static char dir[256];
static tl_skey key;

static int setup(void **state)
{
    (void)state;
    assert_int_equal(tl_init(), TL_OK);
    snprintf(dir, sizeof dir, "/tmp/tl-log-test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    uint8_t seed[32] = {1, 2, 3};
    assert_int_equal(tl_skey_from_seed(&key, "test.example/log", 16, TL_KEY_ED25519, seed, NULL),
                     TL_OK);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/log", dir);
    memcpy(dir, sub, strlen(sub) + 1);
    tl_diag d;
    assert_int_equal(tl_log_create(dir, NULL, &key, &d), TL_OK);
    reset_faults();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    char *slash = strrchr(dir, '/');
    *slash = '\0';
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void entry_bytes(uint8_t *buf, size_t *len, uint64_t i)
{
    int n = snprintf((char *)buf, 64, "entry %llu", (unsigned long long)i);
    *len = (size_t)n;
}

/* Independent, naive RFC 6962 MTH over leaf hashes (recursion on the largest power of 2). */
static void naive_mth(uint8_t out[32], uint8_t (*leaves)[32], uint64_t n)
{
    if (n == 0) {
        memcpy(out, TL_EMPTY_ROOT, 32);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves[0], 32);
        return;
    }
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t l[32], r[32];
    naive_mth(l, leaves, k);
    naive_mth(r, leaves + k, n - k);
    tl_node_hash(out, l, r);
}

static void append_n(tl_log *l, uint64_t from, uint64_t n)
{
    tl_diag d;
    for (uint64_t i = from; i < from + n; i++) {
        uint8_t buf[64];
        size_t len;
        entry_bytes(buf, &len, i);
        uint64_t idx = 0;
        assert_int_equal(tl_log_add(l, buf, len, &idx, &d), TL_OK);
        assert_int_equal(idx, i);
    }
}

static void check_log(uint64_t want_size)
{
    tl_store *st = NULL;
    tl_diag d;
    assert_int_equal(tl_store_posix_open(&st, dir, false, NULL, &d), TL_OK);
    tl_checkpoint cp;
    assert_int_equal(tl_read_checkpoint(st, &key.vkey, &cp, NULL, NULL, &d), TL_OK);
    assert_int_equal(cp.size, want_size);
    tl_audit_result res;
    tl_err e = tl_audit(st, &key.vkey, &cp, NULL, &res, &d);
    if (e != TL_OK)
        fail_msg("audit: %s", d.msg);
    assert_int_equal(res.entries, want_size);
    /* Root against an independent computation. */
    uint8_t(*leaves)[32] = calloc(want_size + 1, 32);
    for (uint64_t i = 0; i < want_size; i++) {
        uint8_t buf[64];
        size_t len;
        entry_bytes(buf, &len, i);
        tl_leaf_hash(leaves[i], buf, len);
    }
    uint8_t root[32];
    naive_mth(root, leaves, want_size);
    assert_memory_equal(root, cp.root, 32);
    free(leaves);
    st->ops->close(st);
}

static void test_append_reopen_read(void **state)
{
    (void)state;
    tl_log *l = NULL;
    tl_diag d;
    assert_int_equal(tl_log_open(&l, dir, NULL, &d), TL_OK);
    assert_int_equal(tl_log_size(l), 0);
    uint64_t sizes[] = {1, 2, 255, 256, 257, 600, 65537};
    uint64_t have = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        append_n(l, have, sizes[s] - have);
        assert_int_equal(tl_log_size(l), have); /* nothing published before publish() */
        assert_int_equal(tl_log_publish(l, &d), TL_OK);
        have = sizes[s];
        assert_int_equal(tl_log_size(l), have);
        if (have < 1000) {
            /* Reopen: state comes back from the right edge of the tiles alone. */
            tl_log_close(l);
            assert_int_equal(tl_log_open(&l, dir, NULL, &d), TL_OK);
            assert_int_equal(tl_log_size(l), have);
        }
    }
    tl_log_close(l);
    check_log(have);
    /* Entries and inclusion proofs through the reader. */
    tl_store *st = NULL;
    assert_int_equal(tl_store_posix_open(&st, dir, false, NULL, &d), TL_OK);
    tl_reader *r = NULL;
    assert_int_equal(tl_reader_new(&r, st, have, &d), TL_OK);
    uint8_t root[32];
    assert_int_equal(tl_reader_root(r, root, &d), TL_OK);
    uint64_t probe[] = {0, 1, 255, 256, 599, 65535, 65536};
    for (size_t i = 0; i < sizeof probe / sizeof probe[0]; i++) {
        uint8_t *ent = NULL, want[64], leaf[32];
        size_t len = 0, wlen = 0;
        assert_int_equal(tl_reader_entry(r, probe[i], &ent, &len, &d), TL_OK);
        entry_bytes(want, &wlen, probe[i]);
        assert_int_equal(len, wlen);
        assert_memory_equal(ent, want, len);
        free(ent);
        uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN];
        size_t np = 0;
        assert_int_equal(
            tl_merkle_inclusion_proof(proof, &np, probe[i], have, tl_reader_hash, r), TL_OK);
        tl_leaf_hash(leaf, want, wlen);
        assert_int_equal(tl_merkle_verify_inclusion(probe[i], have, leaf,
                                                    (const uint8_t(*)[32])proof, np, root),
                         TL_OK);
    }
    uint8_t *ent = NULL;
    size_t len = 0;
    assert_int_equal(tl_reader_entry(r, have, &ent, &len, &d), TL_ERR_RANGE);
    tl_reader_free(r);
    st->ops->close(st);
}

static void test_lock_and_not_a_log(void **state)
{
    (void)state;
    tl_log *l = NULL, *l2 = NULL;
    tl_diag d;
    assert_int_equal(tl_log_open(&l, dir, NULL, &d), TL_OK);
    assert_int_equal(tl_log_open(&l2, dir, NULL, &d), TL_ERR_LOCKED);
    assert_non_null(strstr(d.msg, "in use"));
    tl_log_close(l);
    assert_int_equal(tl_log_open(&l2, dir, NULL, &d), TL_OK);
    tl_log_close(l2);
    assert_int_equal(tl_log_open(&l2, "/nonexistent/tl", NULL, &d), TL_ERR_NOTFOUND);
    assert_int_equal(tl_log_open(&l2, "/tmp", NULL, &d) == TL_OK, 0);
    /* creating over a non-empty directory is refused */
    assert_int_equal(tl_log_create(dir, NULL, &key, &d), TL_ERR_USAGE);
}

static void test_too_big_entry(void **state)
{
    (void)state;
    tl_log *l = NULL;
    tl_diag d;
    assert_int_equal(tl_log_open(&l, dir, NULL, &d), TL_OK);
    append_n(l, 0, 3);
    uint8_t *big = calloc(1, TL_ENTRY_MAX + 1);
    assert_int_equal(tl_log_add(l, big, TL_ENTRY_MAX + 1, NULL, &d), TL_ERR_TOOBIG);
    assert_int_equal(tl_log_staged_size(l), 3); /* the good ones stay staged */
    assert_int_equal(tl_log_add(l, big, TL_ENTRY_MAX, NULL, &d), TL_OK);
    free(big);
    assert_int_equal(tl_log_publish(l, &d), TL_OK);
    tl_log_close(l);
    tl_store *st = NULL;
    assert_int_equal(tl_store_posix_open(&st, dir, false, NULL, &d), TL_OK);
    tl_checkpoint cp;
    assert_int_equal(tl_read_checkpoint(st, &key.vkey, &cp, NULL, NULL, &d), TL_OK);
    assert_int_equal(cp.size, 4);
    assert_int_equal(tl_audit(st, &key.vkey, &cp, NULL, NULL, &d), TL_OK);
    st->ops->close(st);
}

/* Runs one faulty publish of 300 more entries onto a 300-entry log; then checks that the
 * published log is still the 300-entry one (or, if the fault hit after the commit point,
 * the 600-entry one) and that a clean writer can go on. */
static void faulty_publish(int *which, int at, bool commit_point)
{
    tl_log *l = NULL;
    tl_diag d;
    assert_int_equal(tl_log_open(&l, dir, NULL, &d), TL_OK);
    append_n(l, 0, 300);
    assert_int_equal(tl_log_publish(l, &d), TL_OK);
    tl_log_close(l);

    reset_faults();
    *which = at;
    assert_int_equal(tl_log_open(&l, dir, &faulty, &d), TL_OK);
    tl_err e = TL_OK;
    for (uint64_t i = 300; i < 600 && e == TL_OK; i++) {
        uint8_t buf[64];
        size_t len;
        entry_bytes(buf, &len, i);
        e = tl_log_add(l, buf, len, NULL, &d);
    }
    if (e == TL_OK)
        e = tl_log_publish(l, &d);
    assert_int_equal(e, TL_ERR_IO);
    assert_non_null(strstr(d.msg, strerror(*which == fail_write_at ? ENOSPC : EIO)));
    if (commit_point) {
        /* After an unknown outcome at the commit point the writer refuses to go on. */
        uint8_t x = 'x';
        assert_int_equal(tl_log_add(l, &x, 1, NULL, &d), TL_ERR_IO);
    } else {
        assert_int_equal(tl_log_size(l), 300);
    }
    tl_log_close(l);
    reset_faults();
    check_log(300);
    /* A clean writer continues from the published state. */
    assert_int_equal(tl_log_open(&l, dir, NULL, &d), TL_OK);
    assert_int_equal(tl_log_size(l), 300);
    append_n(l, 300, 300);
    assert_int_equal(tl_log_publish(l, &d), TL_OK);
    tl_log_close(l);
    check_log(600);
}

static void test_write_fails(void **state)
{
    (void)state;
    faulty_publish(&fail_write_at, 0, false);
}

static void test_write_fails_late(void **state)
{
    (void)state;
    faulty_publish(&fail_write_at, 2, false);
}

static void test_syncfs_fails(void **state)
{
    (void)state;
    faulty_publish(&fail_syncfs_at, 0, false);
}

static void test_marker_fsync_fails(void **state)
{
    (void)state;
    /* fsyncs in a publish: 0 the pending marker, 1 the checkpoint temp file, 2 the dir. */
    faulty_publish(&fail_fsync_at, 0, false);
}

static void test_checkpoint_fsync_fails(void **state)
{
    (void)state;
    faulty_publish(&fail_fsync_at, 1, false);
}

static void test_dir_fsync_fails(void **state)
{
    (void)state;
    /* The rename happened but its durability is unknown: the writer must stop. The log then
     * holds either checkpoint; reopening takes what is on disk (here: the new one). */
    tl_log *l = NULL;
    tl_diag d;
    assert_int_equal(tl_log_open(&l, dir, NULL, &d), TL_OK);
    append_n(l, 0, 300);
    assert_int_equal(tl_log_publish(l, &d), TL_OK);
    tl_log_close(l);
    reset_faults();
    fail_fsync_at = 2;
    assert_int_equal(tl_log_open(&l, dir, &faulty, &d), TL_OK);
    append_n(l, 300, 300);
    assert_int_equal(tl_log_publish(l, &d), TL_ERR_IO);
    uint8_t x = 'x';
    assert_int_equal(tl_log_add(l, &x, 1, NULL, &d), TL_ERR_IO);
    tl_log_close(l);
    reset_faults();
    check_log(600);
}

static bool exists(const char *rel)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void test_pending_cleanup(void **state)
{
    (void)state;
    /* A crash after the partial tiles of 600 were staged but before the commit: reopening
     * removes them, so no later checkpoint can make them look published. */
    tl_log *l = NULL;
    tl_diag d;
    assert_int_equal(tl_log_open(&l, dir, NULL, &d), TL_OK);
    append_n(l, 0, 300);
    assert_int_equal(tl_log_publish(l, &d), TL_OK);
    tl_log_close(l);
    reset_faults();
    fail_rename_at = 5; /* the checkpoint rename (see test_tile_rename_fails) */
    assert_int_equal(tl_log_open(&l, dir, &faulty, &d), TL_OK);
    append_n(l, 300, 300);
    assert_int_equal(tl_log_publish(l, &d), TL_ERR_IO);
    tl_log_close(l);
    reset_faults();
    assert_true(exists("tile/0/002.p/88"));
    assert_true(exists("tile/entries/002.p/88"));
    assert_true(exists("tile/1/000.p/2"));
    assert_true(exists(".treatylog/pending"));
    assert_int_equal(tl_log_open(&l, dir, NULL, &d), TL_OK);
    assert_false(exists("tile/0/002.p/88"));
    assert_false(exists("tile/entries/002.p/88"));
    assert_false(exists("tile/1/000.p/2"));
    assert_false(exists(".treatylog/pending"));
    assert_true(exists("tile/0/001.p/44")); /* the published right edge stays */
    assert_true(exists("tile/1/000.p/1"));
    tl_log_close(l);
    check_log(300);
}

static void test_tile_rename_fails(void **state)
{
    (void)state;
    /* Renames while going from 300 to 600 entries (bundle 001 and tile/0/001, full, are
     * created in place, no rename): 0 tile/0/002.p/88, failing with ENOENT (a new
     * directory), 1 the same once made, 2 tile/1/000.p/2, 3 and 4 bundle 002.p/88 (also a new
     * directory), 5 checkpoint. */
    faulty_publish(&fail_rename_at, 2, false);
}

static void test_commit_rename_fails(void **state)
{
    (void)state;
    faulty_publish(&fail_rename_at, 5, true); /* the commit point itself */
}

static void test_corrupt_tile_refused_at_open(void **state)
{
    (void)state;
    tl_log *l = NULL;
    tl_diag d;
    assert_int_equal(tl_log_open(&l, dir, NULL, &d), TL_OK);
    append_n(l, 0, 300);
    assert_int_equal(tl_log_publish(l, &d), TL_OK);
    tl_log_close(l);
    char p[400];
    snprintf(p, sizeof p, "%s/tile/0/001.p/44", dir);
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    fseek(f, 7, SEEK_SET);
    fputc(0xAA, f);
    fclose(f);
    assert_int_not_equal(tl_log_open(&l, dir, NULL, &d), TL_OK);
    assert_true(strlen(d.msg) > 0);
}

static void test_pending_marker_reused(void **state)
{
    (void)state;
    /* After a commit the marker names the published size and stays; the next publish
     * rewrites the same file (no new inode); a crash after a commit cleans nothing it must
     * keep. */
    tl_log *l = NULL;
    tl_diag d;
    assert_int_equal(tl_log_open(&l, dir, NULL, &d), TL_OK);
    append_n(l, 0, 300);
    assert_int_equal(tl_log_publish(l, &d), TL_OK);
    char p[600];
    snprintf(p, sizeof p, "%s/.treatylog/pending", dir);
    struct stat a, b;
    assert_int_equal(stat(p, &a), 0);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    char line[64] = {0};
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_string_equal(line, "pending 300\n");
    append_n(l, 300, 300);
    assert_int_equal(tl_log_publish(l, &d), TL_OK);
    assert_int_equal(stat(p, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    f = fopen(p, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_string_equal(line, "pending 600\n");
    tl_log_close(l); /* as a kill -9 right after the commit */
    assert_int_equal(tl_log_open(&l, dir, NULL, &d), TL_OK);
    assert_int_equal(tl_log_size(l), 600);
    assert_false(exists(".treatylog/pending"));
    assert_true(exists("tile/0/002.p/88")); /* the published right edge stays */
    assert_true(exists("tile/entries/002.p/88"));
    assert_true(exists("tile/1/000.p/2"));
    tl_log_close(l);
    check_log(600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_reopen_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_and_not_a_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_big_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_fails_late, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syncfs_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_marker_fsync_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_fsync_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_fsync_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_cleanup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_marker_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tile_rename_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_rename_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_tile_refused_at_open, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
