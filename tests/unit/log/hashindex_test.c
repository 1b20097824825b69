/* hashindex_test.c - the leaf-hash index: lookups that share a read transaction still see
 * every write of the same connection (puts, truncation), a second connection's writes show
 * once the snapshot span has passed, and a reader in another connection is never blocked by
 * the open read transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "treatylog/hashindex.h"

static char dir[256];
static char path[300];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tl-hashindex-test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/index.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void leaf(uint8_t out[TL_HASH_LEN], unsigned i)
{
    memset(out, 0, TL_HASH_LEN);
    out[0] = (uint8_t)i;
    out[1] = (uint8_t)(i >> 8);
    out[31] = 0xa5;
}

static void put_range(tl_hashindex *h, unsigned first, unsigned n)
{
    uint8_t(*ls)[TL_HASH_LEN] = calloc(n, TL_HASH_LEN);
    assert_non_null(ls);
    for (unsigned i = 0; i < n; i++)
        leaf(ls[i], first + i);
    tl_diag d;
    assert_int_equal(tl_hashindex_put(h, (const uint8_t(*)[TL_HASH_LEN])ls, first, n, first + n, &d),
                     TL_OK);
    free(ls);
}

static void expect(tl_hashindex *h, unsigned i, tl_err want)
{
    uint8_t l[TL_HASH_LEN];
    leaf(l, i);
    uint64_t idx = 999999;
    tl_diag d;
    assert_int_equal(tl_hashindex_get(h, l, &idx, &d), want);
    if (want == TL_OK)
        assert_int_equal(idx, i);
}

static void test_lookups_see_own_writes(void **state)
{
    (void)state;
    tl_hashindex *h = NULL;
    tl_diag d;
    assert_int_equal(tl_hashindex_open(&h, path, &d), TL_OK);
    expect(h, 0, TL_ERR_NOTFOUND); /* opens the shared read transaction */
    put_range(h, 0, 10);
    expect(h, 0, TL_OK);
    expect(h, 9, TL_OK);
    expect(h, 10, TL_ERR_NOTFOUND);
    put_range(h, 10, 5); /* a put right after lookups */
    expect(h, 12, TL_OK);
    assert_int_equal(tl_hashindex_covered(h), 15);
    assert_int_equal(tl_hashindex_truncate(h, 11, &d), TL_OK);
    expect(h, 10, TL_OK);
    expect(h, 11, TL_ERR_NOTFOUND);
    assert_int_equal(tl_hashindex_put_witnessed(h, 11, "note", 4, &d), TL_OK);
    expect(h, 3, TL_OK);
    tl_hashindex_close(h); /* with the read transaction open */
    /* Everything committed: a fresh connection sees it. */
    assert_int_equal(tl_hashindex_open(&h, path, &d), TL_OK);
    assert_int_equal(tl_hashindex_covered(h), 11);
    expect(h, 10, TL_OK);
    expect(h, 11, TL_ERR_NOTFOUND);
    tl_hashindex_close(h);
}

static void count_row(void *ctx, uint64_t size, const char *first, size_t first_len,
                      const char *last, size_t last_len)
{
    (void)size, (void)first, (void)first_len, (void)last, (void)last_len;
    (*(int *)ctx)++;
}

static void test_other_connections(void **state)
{
    (void)state;
    tl_hashindex *a = NULL, *b = NULL;
    tl_diag d;
    assert_int_equal(tl_hashindex_open(&a, path, &d), TL_OK);
    put_range(a, 0, 4);
    expect(a, 1, TL_OK); /* a holds a read transaction now */
    assert_int_equal(tl_hashindex_open(&b, path, &d), TL_OK);
    /* b reads and writes while a's read transaction is open (WAL). */
    expect(b, 1, TL_OK);
    assert_int_equal(tl_hashindex_put_witnessed(a, 4, "n", 1, &d), TL_OK);
    int rows = 0;
    assert_int_equal(tl_hashindex_witnessed(b, 0, 10, count_row, &rows, &d), TL_OK);
    assert_int_equal(rows, 1);
    expect(a, 1, TL_OK);
    put_range(b, 4, 2);
    /* a sees b's write at the latest once the snapshot span (100 ms) has passed. */
    struct timespec ts = {0, 150 * 1000 * 1000};
    nanosleep(&ts, NULL);
    expect(a, 5, TL_OK);
    tl_hashindex_close(b);
    tl_hashindex_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lookups_see_own_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_connections, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
