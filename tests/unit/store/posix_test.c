/* posix_test.c - the posix store's staging and reads (src/store/posix.c): full tiles and
 * bundles are created in place, and a file already at such a path (left by a writer killed
 * before its commit: torn, or with other bytes) is replaced whole; everything else goes
 * through temp + rename; directories appear on demand; a failed in-place write leaves
 * nothing at the path; read_at() reads ranges. System calls are counted through the store's
 * tl_sys table. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "treatylog/store.h"

/* Counters and fault switches: test-only globals (the library has none). */
static int n_open_excl, n_rename, n_write, fail_write_at = -1;

static int c_open(const char *p, int fl, mode_t m)
{
    if (fl & O_EXCL)
        n_open_excl++;
    return open(p, fl, m);
}
static ssize_t c_write(int fd, const void *b, size_t n)
{
    if (n_write++ == fail_write_at) {
        errno = ENOSPC;
        return -1;
    }
    return write(fd, b, n);
}
static int c_rename(const char *a, const char *b)
{
    n_rename++;
    return rename(a, b);
}
static const tl_sys counting = {c_open, c_write, fsync, syncfs, c_rename, close, NULL};

static char dir[256];

static void reset(void)
{
    n_open_excl = n_rename = n_write = 0;
    fail_write_at = -1;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tl-posix-test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_int_equal(rmdir(dir), 0); /* create wants it absent or empty */
    reset();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static tl_store *create(void)
{
    tl_store *st = NULL;
    tl_diag d;
    assert_int_equal(tl_store_posix_create(&st, dir, &counting, &d), TL_OK);
    return st;
}

/* The bytes at DIR/rel, in a fresh buffer; *len its length. */
static uint8_t *slurp(const char *rel, size_t *len)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void put_file(const char *rel, const void *b, size_t n)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", p);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

static bool tmp_empty(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s/.treatylog/tmp')\"", dir);
    return system(cmd) == 0;
}

static void expect_content(const char *rel, const uint8_t *want, size_t n)
{
    size_t len = 0;
    uint8_t *got = slurp(rel, &len);
    assert_int_equal(len, n);
    assert_memory_equal(got, want, n);
    free(got);
}

static void test_full_tiles_in_place(void **state)
{
    (void)state;
    tl_store *st = create();
    tl_diag d;
    uint8_t tile[8192], bundle[3000];
    memset(tile, 0xab, sizeof tile);
    memset(bundle, 0x5c, sizeof bundle);
    reset();
    /* New directories on the way (tile/0/x001/), no rename. */
    assert_int_equal(st->ops->stage(st, "tile/0/x001/234", tile, sizeof tile, &d), TL_OK);
    assert_int_equal(st->ops->stage(st, "tile/entries/x001/234", bundle, sizeof bundle, &d), TL_OK);
    assert_int_equal(st->ops->stage(st, "tile/2/000", tile, sizeof tile, &d), TL_OK);
    assert_int_equal(n_rename, 0);
    assert_int_equal(n_open_excl, 3 + 3); /* each first found its directory missing */
    expect_content("tile/0/x001/234", tile, sizeof tile);
    expect_content("tile/entries/x001/234", bundle, sizeof bundle);
    reset();
    assert_int_equal(st->ops->stage(st, "tile/0/x001/235", tile, sizeof tile, &d), TL_OK);
    assert_int_equal(n_open_excl, 1);
    assert_int_equal(n_rename, 0);
    assert_true(tmp_empty());
    st->ops->close(st);
}

static void test_leftover_replaced(void **state)
{
    (void)state;
    tl_store *st = create();
    tl_diag d;
    uint8_t tile[8192];
    for (size_t i = 0; i < sizeof tile; i++)
        tile[i] = (uint8_t)i;
    /* A whole file with other bytes, and a torn one, as a killed writer leaves them. */
    uint8_t other[8192];
    memset(other, 0xee, sizeof other);
    put_file("tile/0/007", other, sizeof other);
    put_file("tile/entries/007", other, 100);
    reset();
    assert_int_equal(st->ops->stage(st, "tile/0/007", tile, sizeof tile, &d), TL_OK);
    assert_int_equal(st->ops->stage(st, "tile/entries/007", tile, 5000, &d), TL_OK);
    assert_int_equal(n_open_excl, 2);
    assert_int_equal(n_rename, 2); /* both replaced through temp + rename */
    expect_content("tile/0/007", tile, sizeof tile);
    expect_content("tile/entries/007", tile, 5000);
    assert_true(tmp_empty());
    st->ops->close(st);
}

static void test_others_renamed(void **state)
{
    (void)state;
    tl_store *st = create();
    tl_diag d;
    uint8_t b[64];
    memset(b, 1, sizeof b);
    reset();
    const char *paths[] = {"tile/0/000.p/2", "tile/entries/000.p/2", "tile/1/x002/000.p/255",
                           "checkpoints/17", ".treatylog/log.vkey",  "tile/0/00"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        assert_int_equal(st->ops->stage(st, paths[i], b, sizeof b, &d), TL_OK);
    assert_int_equal(n_open_excl, 0);
    /* One rename each, plus one retried after making the directory, for the 4 new ones. */
    assert_int_equal(n_rename, 6 + 4);
    /* Staging the same partial again replaces it atomically (same bytes or not). */
    reset();
    b[0] = 2;
    assert_int_equal(st->ops->stage(st, "tile/0/000.p/2", b, sizeof b, &d), TL_OK);
    assert_int_equal(n_rename, 1);
    expect_content("tile/0/000.p/2", b, sizeof b);
    assert_true(tmp_empty());
    st->ops->close(st);
}

static void test_failed_write_leaves_nothing(void **state)
{
    (void)state;
    tl_store *st = create();
    tl_diag d;
    uint8_t tile[8192] = {0};
    char p[512];
    snprintf(p, sizeof p, "%s/tile/0/003", dir);
    assert_int_equal(st->ops->stage(st, "tile/0/000", tile, sizeof tile, &d), TL_OK);
    reset();
    fail_write_at = 0;
    assert_int_equal(st->ops->stage(st, "tile/0/003", tile, sizeof tile, &d), TL_ERR_IO);
    assert_non_null(strstr(d.msg, strerror(ENOSPC)));
    struct stat sb;
    assert_int_not_equal(stat(p, &sb), 0); /* removed */
    /* Failing the replacement of a leftover keeps the leftover (never a torn target). */
    uint8_t other[100];
    memset(other, 7, sizeof other);
    put_file("tile/0/003", other, sizeof other);
    reset();
    fail_write_at = 0;
    assert_int_equal(st->ops->stage(st, "tile/0/003", tile, sizeof tile, &d), TL_ERR_IO);
    expect_content("tile/0/003", other, sizeof other);
    assert_true(tmp_empty());
    reset();
    assert_int_equal(st->ops->stage(st, "tile/0/003", tile, sizeof tile, &d), TL_OK);
    expect_content("tile/0/003", tile, sizeof tile);
    st->ops->close(st);
}

static void test_read_at(void **state)
{
    (void)state;
    tl_store *st = create();
    tl_diag d;
    uint8_t tile[8192];
    for (size_t i = 0; i < sizeof tile; i++)
        tile[i] = (uint8_t)(i * 7);
    assert_int_equal(st->ops->stage(st, "tile/0/001", tile, sizeof tile, &d), TL_OK);
    uint8_t buf[9000];
    size_t got = 99;
    assert_non_null(st->ops->read_at);
    assert_int_equal(st->ops->read_at(st, "tile/0/001", 512, buf, 512, &got, &d), TL_OK);
    assert_int_equal(got, 512);
    assert_memory_equal(buf, tile + 512, 512);
    assert_int_equal(st->ops->read_at(st, "tile/0/001", 0, buf, sizeof buf, &got, &d), TL_OK);
    assert_int_equal(got, 8192);
    assert_memory_equal(buf, tile, 8192);
    assert_int_equal(st->ops->read_at(st, "tile/0/001", 8000, buf, 512, &got, &d), TL_OK);
    assert_int_equal(got, 192);
    assert_int_equal(st->ops->read_at(st, "tile/0/001", 9000, buf, 512, &got, &d), TL_OK);
    assert_int_equal(got, 0);
    assert_int_equal(st->ops->read_at(st, "tile/0/002", 0, buf, 512, &got, &d), TL_ERR_NOTFOUND);
    assert_int_equal(got, 0);
    assert_int_equal(st->ops->read_at(st, "tile/0/001/x", 0, buf, 512, &got, &d), TL_ERR_NOTFOUND);
    assert_int_equal(st->ops->read_at(st, "tile/0", 0, buf, 512, &got, &d), TL_ERR_NOTFOUND);
    assert_int_equal(st->ops->read_at(st, "../x", 0, buf, 512, &got, &d), TL_ERR_USAGE);
    /* A FIFO neither hangs read() nor read_at(). */
    char p[512];
    snprintf(p, sizeof p, "%s/tile/0/009", dir);
    assert_int_equal(mkfifo(p, 0644), 0);
    assert_int_not_equal(st->ops->read_at(st, "tile/0/009", 0, buf, 512, &got, &d), TL_OK);
    uint8_t *all = NULL;
    size_t len = 0;
    assert_int_equal(st->ops->read(st, "tile/0/009", &all, &len, &d), TL_ERR_NOTFOUND);
    st->ops->close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_tiles_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leftover_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_others_renamed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_at, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
