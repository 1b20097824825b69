/* submission_test.c - the client's check of a treaty-mode answer (submission.c): the entry is
 * rebuilt from the proof's extra line and the submission, and the proof verified for it; an
 * answer without extra, with a header that swallows bytes or is not canonical, for other bytes,
 * or signed by another key is refused.
 */
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"
#include "treatylog/checkpoint.h"
#include "treatylog/entry.h"
#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/note.h"
#include "treatylog/policy.h"
#include "treatylog/submission.h"
#include "treatylog/text.h"
#include "treatylog/tlogproof.h"

#define ORIGIN "treatylog.example/submission-test"

static const char SUB[] = "treatylog/notification/v1\n{\"type\":\"x\"}\n\n"
                          "\xe2\x80\x94 XA AAAAAAAA\n";
#define SUBLEN (sizeof SUB - 1)

static tl_skey logkey, otherkey;

static int setup(void **state)
{
    (void)state;
    if (tl_init() != TL_OK)
        return -1;
    tu_key(&logkey, ORIGIN, 1);
    tu_key(&otherkey, ORIGIN, 2);
    return 0;
}

/* A two-entry log (entry 0 = "genesis", entry 1 = head || SUB) and the tlog-proof of entry 1
 * with the given extra (raw bytes; NULL for none), signed by k. Caller frees. */
static char *answer(const char *extra, const tl_skey *k, uint64_t logged)
{
    char head[TL_ENTRY_HEAD_MAX];
    size_t hlen = tl_entry_head(head, logged);
    uint8_t *entry = malloc(hlen + SUBLEN);
    assert_non_null(entry);
    memcpy(entry, head, hlen);
    memcpy(entry + hlen, SUB, SUBLEN);
    uint8_t leaf0[TL_HASH_LEN], leaf1[TL_HASH_LEN];
    tl_leaf_hash(leaf0, "genesis", 7);
    tl_leaf_hash(leaf1, entry, hlen + SUBLEN);
    free(entry);
    tl_checkpoint cp = {0};
    memcpy(cp.origin, ORIGIN, sizeof ORIGIN);
    cp.origin_len = sizeof ORIGIN - 1;
    cp.size = 2;
    tl_node_hash(cp.root, leaf0, leaf1);
    char text[TL_CHECKPOINT_TEXT_MAX];
    size_t tlen = tl_checkpoint_format(text, &cp);
    char *note = NULL;
    size_t nlen = 0;
    assert_int_equal(tl_note_sign(&note, &nlen, text, tlen, k, NULL), TL_OK);
    char *out = NULL;
    size_t olen = 0;
    assert_int_equal(tl_tlog_proof_format(&out, &olen, 1, (const uint8_t(*)[TL_HASH_LEN])leaf0, 1,
                                          (const uint8_t *)extra, extra ? strlen(extra) : 0, note,
                                          nlen, NULL),
                     TL_OK);
    free(note);
    return out;
}

static tl_policy *policy(void)
{
    tl_policy *p = tl_policy_new();
    assert_non_null(p);
    tl_policy_single_log(p, &logkey.vkey);
    return p;
}

static void test_valid_answer(void **state)
{
    (void)state;
    char *a = answer("treatylog/entry/v1\nlogged 1764383400123\n\n", &logkey, 1764383400123);
    tl_policy *pol = policy();
    tl_submission_proof r;
    tl_diag d = {{0}};
    assert_int_equal(
        tl_submission_proof_verify(&r, a, strlen(a), (const uint8_t *)SUB, SUBLEN, pol, &d), TL_OK);
    assert_int_equal(r.index, 1);
    assert_int_equal(r.logged_ms, 1764383400123ull);
    assert_int_equal(r.cp.size, 2);
    assert_int_equal(r.entry_len, 41 + SUBLEN);
    assert_memory_equal(r.entry + 41, SUB, SUBLEN);
    uint8_t leaf[TL_HASH_LEN];
    tl_leaf_hash(leaf, r.entry, r.entry_len);
    assert_memory_equal(leaf, r.leaf, TL_HASH_LEN);
    tl_submission_proof_free(&r);
    assert_null(r.entry);
    tl_submission_proof_free(NULL);
    free(pol);
    free(a);
}

static void expect(const char *proof, const char *sub, size_t sublen, tl_err want,
                   const char *msg_part)
{
    tl_policy *pol = policy();
    tl_submission_proof r;
    tl_diag d = {{0}};
    tl_err e =
        tl_submission_proof_verify(&r, proof, strlen(proof), (const uint8_t *)sub, sublen, pol, &d);
    if (e != want || !strstr(d.msg, msg_part))
        fail_msg("got %d (%s), want %d with \"%s\"", e, d.msg, want, msg_part);
    assert_null(r.entry);
    free(pol);
}

static void test_refused_answers(void **state)
{
    (void)state;
    char *a = answer(NULL, &logkey, 5);
    expect(a, SUB, SUBLEN, TL_ERR_FORMAT, "no extra line");
    free(a);
    /* The header swallows the submission's first bytes: the entry would not end with SUB. */
    a = answer("treatylog/entry/v1\nlogged 5\n\ntreatylog/", &logkey, 5);
    expect(a, SUB + 10, SUBLEN - 10, TL_ERR_FORMAT, "not exactly an entry header");
    free(a);
    a = answer("treatylog/entry/v1\nlogged 05\n\n", &logkey, 5);
    expect(a, SUB, SUBLEN, TL_ERR_FORMAT, "canonical decimal");
    free(a);
    a = answer("treatylog/entry/v2\nlogged 5\n\n", &logkey, 5);
    expect(a, SUB, SUBLEN, TL_ERR_FORMAT, "treatylog/entry/v1");
    free(a);
    a = answer("treatylog/entry/v1\nlogged 5\n", &logkey, 5);
    expect(a, SUB, SUBLEN, TL_ERR_FORMAT, "empty line");
    free(a);
    /* The right header, but another logged time than the log holds: the leaf differs. */
    a = answer("treatylog/entry/v1\nlogged 6\n\n", &logkey, 5);
    expect(a, SUB, SUBLEN, TL_ERR_PROOF, "not proved");
    free(a);
    /* Other bytes than were sent. */
    a = answer("treatylog/entry/v1\nlogged 5\n\n", &logkey, 5);
    char other[sizeof SUB];
    memcpy(other, SUB, sizeof SUB);
    other[30] = 'X';
    expect(a, other, SUBLEN, TL_ERR_PROOF, "not proved");
    expect(a, SUB, 0, TL_ERR_FORMAT, "empty submission");
    free(a);
    /* Signed by a key the policy does not trust. */
    a = answer("treatylog/entry/v1\nlogged 5\n\n", &otherkey, 5);
    expect(a, SUB, SUBLEN, TL_ERR_SIGNATURE, "");
    free(a);
    expect("c2sp.org/tlog-proof@v1\nindex x\n", SUB, SUBLEN, TL_ERR_FORMAT, "tlog-proof");
}

static void test_entry_limits(void **state)
{
    (void)state;
    char b64[128];
    const char *h = "treatylog/entry/v1\nlogged 5\n\n";
    size_t n = tl_b64_encode(b64, (const uint8_t *)h, strlen(h));
    uint8_t *big = malloc(65535);
    assert_non_null(big);
    memset(big, 'a', 65535);
    uint8_t *entry = NULL;
    size_t elen = 0;
    uint64_t logged = 0;
    tl_diag d = {{0}};
    assert_int_equal(tl_submission_entry(&entry, &elen, &logged, b64, n, big, 65535 - 29, &d),
                     TL_OK);
    assert_int_equal(elen, 65535);
    assert_int_equal(logged, 5);
    free(entry);
    entry = NULL;
    assert_int_equal(tl_submission_entry(&entry, &elen, &logged, b64, n, big, 65535 - 28, &d),
                     TL_ERR_TOOBIG);
    assert_null(entry);
    free(big);
    const char *longh = "treatylog/entry/v1\nlogged 5\n\n0123456789012345678901234567890123";
    n = tl_b64_encode(b64, (const uint8_t *)longh, strlen(longh));
    assert_int_equal(
        tl_submission_entry(&entry, &elen, &logged, b64, n, (const uint8_t *)SUB, SUBLEN, &d),
        TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "longer than an entry header"));
    assert_int_equal(
        tl_submission_entry(&entry, &elen, &logged, "dHJl!", 5, (const uint8_t *)SUB, SUBLEN, &d),
        TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "base64"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_answer),
        cmocka_unit_test(test_refused_answers),
        cmocka_unit_test(test_entry_limits),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
