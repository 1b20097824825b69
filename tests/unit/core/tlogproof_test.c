/* tlogproof_test.c - tlog-proof parse, format and verify (tlogproof.c) against the 780-byte
 * proof of test-vectors.md §6.4 and each of its listed failures, plus strict-parse cases and
 * format/parse round trips. */
#include "treatylog/tlogproof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "treatylog/hash.h"
#include "treatylog/merkle.h"
#include "treatylog/policy.h"
#include "treatylog/text.h"

#define HEAD "c2sp.org/tlog-proof@v1\n"
#define HASHES                                                                                    \
    "1xxkbtZgit1EcSzcGeWziongbqxhe/tghfU+INBp/os=\n"                                              \
    "k4BFs8+F8hOF+t+J9QxnyPg5lduuiW2tR3vCdB5hDzE=\n"                                              \
    "lJgXXW+VjQNgzgtqrRzcjZ8fFaRyBt4mXNBBiJpQ/nI=\n"                                              \
    "LEjxHxvGSBuP8NPcH8nJJxTmTNz9K8m7q2BWB3XltG8=\n"                                              \
    "y8INO4frni0fE0fCPlT4Vcys0FgNjyshCMhUAOuuoik=\n"                                              \
    "tkJ9ZUJDynaivnV0YeWE0Zr0/ku44aFN5DROKhaxUCI=\n"                                              \
    "tNmI7XQ4V8ZkwmxNSmCn7NPkT8xyTNXzL1L3mvqojcg=\n"                                              \
    "yLG1nn/eywY2+aI+2+hYZWFLKkmVE30DZVCTumCqmbY=\n"                                              \
    "uwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf8=\n"
#define CP300                                                                                     \
    "treatylog.example/test-log\n300\ngw31yQrqZZCcEOPrzX+bpy3nJ6QgngTKn8G1m0i62uU=\n\n"            \
    "\xe2\x80\x94 treatylog.example/test-log syoxQmxdiQZDcJmTQkyEOhtoMCeigbYbe5ihpVQAoO4DVvUpW4eo0" \
    "BwNMkvknZkWkymvouUAlsrWblus4pRTP+gTkA4=\n"
#define WITSIG                                                                                    \
    "\xe2\x80\x94 treatylog.example/test-witness apRCzQAAAABpVGeAhwx6A4yhLn3WMdMG1eqfA8HhUF3d087aq" \
    "/VPyuKeK+BKysn/bxSI7Ztfa1lhfujNZJUQdl8VHW3CXeVmVc9JDA==\n"

/* test-vectors.md §6.4, 780 bytes */
static const char PROOF[] = HEAD "index 123\n" HASHES "\n" CP300 WITSIG;

static const char POLICY[] =
    "log treatylog.example/test-log+b32a3142+AQ64NRjkpgPvbHp1LFPAugV/+u7R+Ty0APo7d2dkcYt0\n"
    "witness W1 "
    "treatylog.example/test-witness+6a9442cd+BOHrja/sexzmy+kdvxQLWNFvx/R9aP8WfSXo8Jpirh9o\n"
    "quorum W1\n";

static const char *const HASH_HEX[9] = {
    "d71c646ed6608add44712cdc19e5b38a89e06eac617bfb6085f53e20d069fe8b",
    "938045b3cf85f21385fadf89f50c67c8f83995dbae896dad477bc2741e610f31",
    "9498175d6f958d0360ce0b6aad1cdc8d9f1f15a47206de265cd041889a50fe72",
    "2c48f11f1bc6481b8ff0d3dc1fc9c92714e64cdcfd2bc9bbab60560775e5b46f",
    "cbc20d3b87eb9e2d1f1347c23e54f855ccacd0580d8f2b2108c85400ebaea229",
    "b6427d654243ca76a2be757461e584d19af4fe4bb8e1a14de4344e2a16b15022",
    "b4d988ed743857c664c26c4d4a60a7ecd3e44fcc724cd5f32f52f79afaa88dc8",
    "c8b1b59e7fdecb0636f9a23edbe85865614b2a4995137d03655093ba60aa99b6",
    "bb069afc6106a85e0f334dc37fe19f288c99e7e7c706c2bdcb77f5b6a08cc9ff",
};

typedef struct fixture {
    tl_policy *policy;
    uint8_t leaf123[TL_HASH_LEN], leaf124[TL_HASH_LEN];
} fixture;

static int setup(void **state)
{
    if (tl_init() != TL_OK)
        return -1;
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->policy = tl_policy_new();
    if (!f->policy || tl_policy_parse(f->policy, POLICY, strlen(POLICY), NULL) != TL_OK)
        return -1;
    tl_leaf_hash(f->leaf123, "record 123", 10);
    tl_leaf_hash(f->leaf124, "record 124", 10);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    free(f->policy);
    free(f);
    return 0;
}

static void test_vector(void **state)
{
    fixture *f = *state;
    assert_int_equal(sizeof PROOF - 1, 780);
    uint8_t h[TL_HASH_LEN];
    tl_sha256(h, PROOF, sizeof PROOF - 1);
    assert_hash_hex(h, "09bfdde5b32d687d1fad5abb1bff4fd0fc024fc5771d6776b5aba43502607d92");

    tl_tlog_proof p;
    tl_diag d = {{0}};
    assert_int_equal(tl_tlog_proof_parse(&p, PROOF, sizeof PROOF - 1, &d), TL_OK);
    assert_null(p.extra_b64);
    assert_int_equal(p.index, 123);
    assert_int_equal(p.nproof, 9);
    for (int i = 0; i < 9; i++)
        assert_hash_hex(p.proof[i], HASH_HEX[i]);
    assert_int_equal(p.note_len, strlen(CP300 WITSIG));
    assert_memory_equal(p.note, CP300 WITSIG, p.note_len);
    assert_ptr_equal(p.note + p.note_len, PROOF + sizeof PROOF - 1);

    tl_checkpoint cp;
    assert_int_equal(tl_tlog_proof_verify(&p, f->leaf123, f->policy, &cp, &d), TL_OK);
    assert_int_equal(cp.size, 300);
    assert_hash_hex(cp.root, "830df5c90aea65909c10e3ebcd7f9ba72de727a4209e04ca9fc1b59b48badae5");
    assert_int_equal(tl_tlog_proof_verify(&p, f->leaf123, f->policy, NULL, &d), TL_OK);

    /* re-formatted byte for byte */
    char *out = NULL;
    size_t outlen = 0;
    assert_int_equal(tl_tlog_proof_format(&out, &outlen, p.index,
                                          (const uint8_t(*)[TL_HASH_LEN])p.proof, p.nproof, NULL,
                                          0, p.note, p.note_len, &d),
                     TL_OK);
    assert_int_equal(outlen, 780);
    assert_memory_equal(out, PROOF, 780);
    assert_int_equal(out[780], '\0');
    free(out);
}

static void test_vector_failures(void **state)
{
    fixture *f = *state;
    tl_tlog_proof p;
    tl_checkpoint cp;
    tl_diag d = {{0}};

    /* leaf record 124 */
    assert_int_equal(tl_tlog_proof_parse(&p, PROOF, sizeof PROOF - 1, &d), TL_OK);
    memset(&cp, 0x55, sizeof cp);
    assert_int_equal(tl_tlog_proof_verify(&p, f->leaf124, f->policy, &cp, &d), TL_ERR_PROOF);
    assert_non_null(strstr(d.msg, "entry 123 is not proved in the tree of size 300"));
    assert_int_equal(cp.size, 0x5555555555555555); /* untouched on error */

    /* index 124 (with leaf 123, and with leaf 124) */
    char *buf = malloc(sizeof PROOF);
    assert_non_null(buf);
    memcpy(buf, PROOF, sizeof PROOF);
    char *idx = strstr(buf, "index 123");
    assert_non_null(idx);
    idx[8] = '4';
    assert_int_equal(tl_tlog_proof_parse(&p, buf, sizeof PROOF - 1, &d), TL_OK);
    assert_int_equal(p.index, 124);
    assert_int_equal(tl_tlog_proof_verify(&p, f->leaf123, f->policy, NULL, &d), TL_ERR_PROOF);
    assert_int_equal(tl_tlog_proof_verify(&p, f->leaf124, f->policy, NULL, &d), TL_ERR_PROOF);
    idx[8] = '3';

    /* any proof line altered: each character position of each line, one at a time */
    char *first = strstr(buf, "1xxkbtZ");
    assert_non_null(first);
    for (int line = 0; line < 9; line++) {
        for (int col = 0; col < 43; col += 6) {
            char *c = first + line * 45 + col;
            char saved = *c;
            *c = saved == 'A' ? 'B' : 'A';
            tl_err e = tl_tlog_proof_parse(&p, buf, sizeof PROOF - 1, &d);
            if (e == TL_OK)
                assert_int_equal(tl_tlog_proof_verify(&p, f->leaf123, f->policy, NULL, &d),
                                 TL_ERR_PROOF);
            else
                assert_int_equal(e, TL_ERR_FORMAT); /* col 42 may break the zero bits */
            *c = saved;
        }
    }
    /* a proof line removed, duplicated, or two swapped */
    {
        char tmp[1024];
        size_t head = (size_t)(first - buf);
        /* removed: the last line */
        int n = snprintf(tmp, sizeof tmp, "%.*s%.*s\n%s", (int)head, buf, 8 * 45, first,
                         CP300 WITSIG);
        assert_int_equal(tl_tlog_proof_parse(&p, tmp, (size_t)n, &d), TL_OK);
        assert_int_equal(p.nproof, 8);
        assert_int_equal(tl_tlog_proof_verify(&p, f->leaf123, f->policy, NULL, &d), TL_ERR_PROOF);
        /* extended: the last line twice */
        n = snprintf(tmp, sizeof tmp, "%.*s%.*s%.*s\n%s", (int)head, buf, 9 * 45, first, 45,
                     first + 8 * 45, CP300 WITSIG);
        assert_int_equal(tl_tlog_proof_parse(&p, tmp, (size_t)n, &d), TL_OK);
        assert_int_equal(p.nproof, 10);
        assert_int_equal(tl_tlog_proof_verify(&p, f->leaf123, f->policy, NULL, &d), TL_ERR_PROOF);
        /* swapped: lines 0 and 1 */
        n = snprintf(tmp, sizeof tmp, "%.*s%.*s%.*s%.*s\n%s", (int)head, buf, 45, first + 45, 45,
                     first, 7 * 45, first + 90, CP300 WITSIG);
        assert_int_equal(tl_tlog_proof_parse(&p, tmp, (size_t)n, &d), TL_OK);
        assert_int_equal(p.nproof, 9);
        assert_int_equal(tl_tlog_proof_verify(&p, f->leaf123, f->policy, NULL, &d), TL_ERR_PROOF);
    }

    /* the witness line removed: quorum not met */
    size_t nowit = sizeof PROOF - 1 - strlen(WITSIG);
    assert_int_equal(tl_tlog_proof_parse(&p, PROOF, nowit, &d), TL_OK);
    assert_int_equal(tl_tlog_proof_verify(&p, f->leaf123, f->policy, NULL, &d), TL_ERR_QUORUM);
    assert_non_null(strstr(d.msg, "tlog-proof: checkpoint: witness quorum W1 not met"));

    /* the root altered: the log signature fails */
    char *root = strstr(buf, "gw31");
    assert_non_null(root);
    root[3] = '2';
    assert_int_equal(tl_tlog_proof_parse(&p, buf, sizeof PROOF - 1, &d), TL_OK);
    assert_int_equal(tl_tlog_proof_verify(&p, f->leaf123, f->policy, NULL, &d), TL_ERR_SIGNATURE);
    root[3] = '1';

    /* the note made malformed (trailing junk) */
    char *junk = malloc(sizeof PROOF + 4);
    assert_non_null(junk);
    memcpy(junk, PROOF, sizeof PROOF - 1);
    memcpy(junk + sizeof PROOF - 1, "xyz\n", 4);
    assert_int_equal(tl_tlog_proof_parse(&p, junk, sizeof PROOF + 3, &d), TL_OK);
    assert_int_equal(tl_tlog_proof_verify(&p, f->leaf123, f->policy, NULL, &d), TL_ERR_FORMAT);
    free(junk);
    free(buf);

    /* a policy that trusts only the log, but needs no witness, accepts the bare note */
    tl_policy *pl = tl_policy_new();
    assert_non_null(pl);
    tl_policy_single_log(pl, &f->policy->logs[0].key);
    assert_int_equal(tl_tlog_proof_parse(&p, PROOF, nowit, &d), TL_OK);
    assert_int_equal(tl_tlog_proof_verify(&p, f->leaf123, pl, NULL, &d), TL_OK);
    free(pl);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *msg;
    } bad[] = {
        {"", "tlog-proof line 1: missing or unterminated header"},
        {"c2sp.org/tlog-proof@v1", "line 1: missing or unterminated header"},
        {"c2sp.org/tlog-proof@v2\nindex 0\n\n" CP300, "line 1: not c2sp.org/tlog-proof@v1"},
        {"c2sp.org/tlog-proof@v1 \nindex 0\n\n" CP300, "line 1: not"},
        {"C2SP.org/tlog-proof@v1\nindex 0\n\n" CP300, "line 1: not"},
        {"c2sp.org/tlog-proof@v1\r\nindex 0\n\n" CP300, "line 1: not"},
        {"\nc2sp.org/tlog-proof@v1\nindex 0\n\n" CP300, "line 1: not"},
        {HEAD, "line 2: missing index line"},
        {HEAD "index 0", "line 2: missing index line"},
        {HEAD "index 0\n", "line 3: no empty line before the checkpoint"},
        {HEAD "index 0\n\n", "line 4: missing checkpoint note"},
        {HEAD "index 0\r\n\n" CP300, "line 2: index is not a canonical decimal"},
        {HEAD "index 01\n\n" CP300, "line 2: index is not a canonical decimal"},
        {HEAD "index -1\n\n" CP300, "line 2: index is not"},
        {HEAD "index +1\n\n" CP300, "line 2: index is not"},
        {HEAD "index  1\n\n" CP300, "line 2: index is not"},
        {HEAD "index 1 \n\n" CP300, "line 2: index is not"},
        {HEAD "index \n\n" CP300, "line 2: index is not"},
        {HEAD "index 18446744073709551616\n\n" CP300, "line 2: index is not"},
        {HEAD "index 9223372036854775808\n\n" CP300, "line 2: index above 2^63-1"},
        {HEAD "index\t1\n\n" CP300, "line 2: expected \"index <N>\""},
        {HEAD "Index 1\n\n" CP300, "line 2: expected"},
        {HEAD "\nindex 1\n\n" CP300, "line 2: expected"},
        {HEAD "extra\nindex 1\n\n" CP300, "line 2: expected"},
        {HEAD "extra \nindex 1\n\n" CP300, "line 2: extra is not non-empty canonical base64"},
        {HEAD "extra QQ=\nindex 1\n\n" CP300, "line 2: extra is not"},
        {HEAD "extra QQ\nindex 1\n\n" CP300, "line 2: extra is not"},
        {HEAD "extra QR==\nindex 1\n\n" CP300, "line 2: extra is not"},   /* trailing bits */
        {HEAD "extra Q===\nindex 1\n\n" CP300, "line 2: extra is not"},
        {HEAD "extra QQ==QQ==\nindex 1\n\n" CP300, "line 2: extra is not"}, /* inner padding */
        {HEAD "extra QUJD\r\nindex 1\n\n" CP300, "line 2: extra is not"},
        {HEAD "extra QU JD\nindex 1\n\n" CP300, "line 2: extra is not"},
        {HEAD "extra QUJD\n", "line 3: missing index line"},
        {HEAD "extra QUJD\nextra QUJD\nindex 1\n\n" CP300, "line 3: expected \"index <N>\""},
        {HEAD "index 1\nextra QUJD\n\n" CP300, "line 3: not a base64 32-byte hash"},
        {HEAD "index 1\nuwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf8\n\n" CP300,
         "line 3: not a base64 32-byte hash"},
        {HEAD "index 1\nuwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf8==\n\n" CP300,
         "line 3: not a base64"},
        {HEAD "index 1\nuwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf9=\n\n" CP300,
         "line 3: not a base64"}, /* non-zero trailing bits */
        {HEAD "index 1\nuwaa_GEGqF4PM03Df-GfKIyZ5+fHBsK9y3f1tqCMyf8=\n\n" CP300,
         "line 3: not a base64"}, /* URL-safe alphabet */
        {HEAD "index 1\nuwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMy==\n\n" CP300,
         "line 3: not a base64"}, /* 31 bytes */
        {HEAD "index 1\nuwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf8=\r\n\n" CP300,
         "line 3: not a base64"},
        {HEAD "index 1\n uwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf8=\n\n" CP300,
         "line 3: not a base64"},
        {HEAD "index 1\nuwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf8=\n", "line 4: no empty line"},
        {HEAD "index 1\n \n" CP300, "line 3: not a base64"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tl_tlog_proof p;
        memset(&p, 0x33, sizeof p);
        tl_diag d = {{0}};
        tl_err e = tl_tlog_proof_parse(&p, bad[i].text, strlen(bad[i].text), &d);
        if (e != TL_ERR_FORMAT || !strstr(d.msg, bad[i].msg))
            fail_msg("case %zu: got %d \"%s\", want \"%s\"", i, e, d.msg, bad[i].msg);
        assert_int_equal(p.index, 0x3333333333333333); /* untouched */
    }
    /* a NUL is not a terminator */
    tl_tlog_proof p;
    assert_int_equal(tl_tlog_proof_parse(&p, HEAD "index 1\0\n\n" CP300,
                                         sizeof(HEAD "index 1\0\n\n" CP300) - 1, NULL),
                     TL_ERR_FORMAT);
}

/* 63 proof lines are the most; the 64th is rejected. */
static void test_proof_line_limit(void **state)
{
    (void)state;
    static const char line[] = "uwaa/GEGqF4PM03Df+GfKIyZ5+fHBsK9y3f1tqCMyf8=\n";
    for (int n = 62; n <= 64; n++) {
        char buf[4096];
        size_t len = 0;
        memcpy(buf, HEAD "index 5\n", sizeof(HEAD "index 5\n") - 1);
        len += sizeof(HEAD "index 5\n") - 1;
        for (int i = 0; i < n; i++) {
            memcpy(buf + len, line, sizeof line - 1);
            len += sizeof line - 1;
        }
        memcpy(buf + len, "\n" CP300, sizeof("\n" CP300) - 1);
        len += sizeof("\n" CP300) - 1;
        tl_tlog_proof p;
        tl_diag d = {{0}};
        tl_err e = tl_tlog_proof_parse(&p, buf, len, &d);
        if (n <= 63) {
            assert_int_equal(e, TL_OK);
            assert_int_equal(p.nproof, (size_t)n);
        } else {
            assert_int_equal(e, TL_ERR_FORMAT);
            assert_non_null(strstr(d.msg, "tlog-proof line 66: more than 63 proof hashes"));
        }
    }
}

static void test_extra_and_empty_proof(void **state)
{
    fixture *f = *state;
    /* extra data, any bytes; an empty proof (size 1) */
    static const char text[] = HEAD "extra AAECAw==\nindex 0\n\nnote\n";
    tl_tlog_proof p;
    tl_diag d = {{0}};
    assert_int_equal(tl_tlog_proof_parse(&p, text, sizeof text - 1, &d), TL_OK);
    assert_int_equal(p.extra_b64_len, 8);
    assert_memory_equal(p.extra_b64, "AAECAw==", 8);
    assert_int_equal(p.index, 0);
    assert_int_equal(p.nproof, 0);
    assert_int_equal(p.note_len, 5);
    char *out = NULL;
    size_t outlen = 0;
    const uint8_t extra[4] = {0, 1, 2, 3};
    assert_int_equal(tl_tlog_proof_format(&out, &outlen, 0, NULL, 0, extra, 4, "note\n", 5, &d),
                     TL_OK);
    assert_int_equal(outlen, sizeof text - 1);
    assert_memory_equal(out, text, outlen);
    free(out);
    /* the note is not parsed here: verification reports it */
    assert_int_equal(tl_tlog_proof_verify(&p, f->leaf123, f->policy, NULL, &d), TL_ERR_FORMAT);

    /* 1-, 2- and 3-byte tails of extra data */
    for (size_t n = 1; n <= 7; n++) {
        uint8_t bytes[7] = {0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9};
        assert_int_equal(tl_tlog_proof_format(&out, &outlen, 42, NULL, 0, bytes, n, "n\n", 2, &d),
                         TL_OK);
        assert_int_equal(tl_tlog_proof_parse(&p, out, outlen, &d), TL_OK);
        uint8_t back[8];
        size_t blen = 0;
        assert_int_equal(tl_b64_decode(back, sizeof back, &blen, p.extra_b64, p.extra_b64_len),
                         TL_OK);
        assert_int_equal(blen, n);
        assert_memory_equal(back, bytes, n);
        free(out);
    }
}

static void test_format_errors(void **state)
{
    (void)state;
    uint8_t proof[64][TL_HASH_LEN] = {{0}};
    const uint8_t(*cp)[TL_HASH_LEN] = (const uint8_t(*)[TL_HASH_LEN])proof;
    char *out = (char *)"untouched";
    size_t outlen = 7;
    tl_diag d = {{0}};
    assert_int_equal(tl_tlog_proof_format(&out, &outlen, UINT64_C(1) << 63, cp, 1, NULL, 0, "n\n",
                                          2, &d),
                     TL_ERR_USAGE);
    assert_int_equal(tl_tlog_proof_format(&out, &outlen, 1, cp, 64, NULL, 0, "n\n", 2, &d),
                     TL_ERR_USAGE);
    assert_int_equal(tl_tlog_proof_format(&out, &outlen, 1, NULL, 2, NULL, 0, "n\n", 2, &d),
                     TL_ERR_USAGE);
    assert_int_equal(tl_tlog_proof_format(&out, &outlen, 1, cp, 1, (const uint8_t *)"", 0,
                                          "n\n", 2, &d),
                     TL_ERR_USAGE);
    assert_int_equal(tl_tlog_proof_format(&out, &outlen, 1, cp, 1, NULL, 0, "", 0, &d),
                     TL_ERR_USAGE);
    assert_string_equal(out, "untouched");
    assert_int_equal(outlen, 7);
    /* the largest index and 63 hashes are fine */
    assert_int_equal(tl_tlog_proof_format(&out, &outlen, UINT64_C(0x7fffffffffffffff), cp, 63,
                                          NULL, 0, "n\n", 2, &d),
                     TL_OK);
    tl_tlog_proof p;
    assert_int_equal(tl_tlog_proof_parse(&p, out, outlen, &d), TL_OK);
    assert_int_equal(p.index, UINT64_C(0x7fffffffffffffff));
    assert_int_equal(p.nproof, 63);
    free(out);
}

/* format -> parse -> format over many shapes (deterministic pseudo-random fields). */
static void test_roundtrip(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int iter = 0; iter < 500; iter++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t index = x >> (x % 63 + 1); /* 0 .. 2^63-1 */
        size_t nproof = (size_t)(x % 64);
        uint8_t proof[63][TL_HASH_LEN];
        for (size_t i = 0; i < nproof; i++)
            tl_sha256(proof[i], &x, sizeof x - (i % 8));
        uint8_t extra[50];
        size_t extra_len = (size_t)(x >> 8) % 51;
        for (size_t i = 0; i < extra_len; i++)
            extra[i] = (uint8_t)(x >> (i % 56));
        char note[40];
        int nl = snprintf(note, sizeof note, "any\n\nnote %d\n", iter);
        assert_true(nl > 0);
        char *out = NULL;
        size_t outlen = 0;
        tl_diag d = {{0}};
        assert_int_equal(tl_tlog_proof_format(&out, &outlen, index,
                                              (const uint8_t(*)[TL_HASH_LEN])proof, nproof,
                                              extra_len ? extra : NULL, extra_len, note,
                                              (size_t)nl, &d),
                         TL_OK);
        assert_int_equal(strlen(out), outlen);
        tl_tlog_proof p;
        assert_int_equal(tl_tlog_proof_parse(&p, out, outlen, &d), TL_OK);
        assert_int_equal(p.index, index);
        assert_int_equal(p.nproof, nproof);
        if (nproof)
            assert_memory_equal(p.proof, proof, nproof * TL_HASH_LEN);
        assert_int_equal(p.extra_b64 != NULL, extra_len != 0);
        assert_int_equal(p.note_len, (size_t)nl);
        assert_memory_equal(p.note, note, (size_t)nl);
        free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector),           cmocka_unit_test(test_vector_failures),
        cmocka_unit_test(test_parse_rejects),    cmocka_unit_test(test_proof_line_limit),
        cmocka_unit_test(test_extra_and_empty_proof), cmocka_unit_test(test_format_errors),
        cmocka_unit_test(test_roundtrip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
