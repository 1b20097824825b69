/* entry_test.c - the treaty-mode entry layout (entry.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "treatylog/entry.h"

static void test_round_trip(void **state)
{
    (void)state;
    const uint64_t times[] = {0, 1, 1644580800000ull, UINT64_MAX};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        char head[TL_ENTRY_HEAD_MAX];
        size_t hl = tl_entry_head(head, times[i]);
        assert_true(hl < TL_ENTRY_HEAD_MAX);
        uint8_t e[128];
        memcpy(e, head, hl);
        memcpy(e + hl, "sub\n", 4);
        uint64_t logged = 7;
        const uint8_t *sub = NULL;
        size_t sublen = 0;
        assert_int_equal(tl_entry_parse(e, hl + 4, &logged, &sub, &sublen, NULL), TL_OK);
        assert_true(logged == times[i]);
        assert_int_equal(sublen, 4);
        assert_memory_equal(sub, "sub\n", 4);
    }
    char head[TL_ENTRY_HEAD_MAX];
    assert_int_equal(tl_entry_head(head, UINT64_MAX), 48); /* 20 digits: the longest */
}

static void refused(const char *e, const char *why)
{
    uint64_t logged = 0;
    const uint8_t *sub = NULL;
    size_t sublen = 0;
    tl_diag d = {{0}};
    assert_int_equal(tl_entry_parse((const uint8_t *)e, strlen(e), &logged, &sub, &sublen, &d),
                     TL_ERR_FORMAT);
    if (!strstr(d.msg, why))
        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", e, d.msg, why);
}

static void test_refused(void **state)
{
    (void)state;
    refused("", "first line");
    refused("treatylog/entry/v2\nlogged 1\n\nx", "first line");
    refused("treatylog/entry/v1\nlogged 01\n\nx", "canonical");
    refused("treatylog/entry/v1\nlogged +1\n\nx", "canonical");
    refused("treatylog/entry/v1\nlogged 18446744073709551616\n\nx", "canonical");
    refused("treatylog/entry/v1\nlogged 1\r\n\nx", "canonical");
    refused("treatylog/entry/v1\nLogged 1\n\nx", "second line");
    refused("treatylog/entry/v1\nlogged 1\nx", "empty line");
    refused("treatylog/entry/v1\nlogged 1\n\n", "no submission");
    refused("treatylog/entry/v1\nlogged 1", "does not end");
}

static void test_key_differs_from_leaf(void **state)
{
    (void)state;
    const char *e = "treatylog/entry/v1\nlogged 5\n\nabc";
    uint8_t key[TL_HASH_LEN], leaf[TL_HASH_LEN], raw[TL_HASH_LEN];
    tl_submission_key(key, (const uint8_t *)"abc", 3);
    tl_leaf_hash(leaf, e, strlen(e));
    tl_leaf_hash(raw, "abc", 3);
    assert_memory_not_equal(key, leaf, TL_HASH_LEN);
    assert_memory_equal(key, raw, TL_HASH_LEN); /* the raw-mode leaf of the same bytes */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_key_differs_from_leaf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
