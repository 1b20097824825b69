/* checkpoint_test.c - tlog-checkpoint parse/format/open (checkpoint.c); vectors from
 * reference/test-vectors.md §2.3, §2.4 and §6.1-§6.3 (CP256/CP300/CPFORK re-signed). */
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"
#include "treatylog/checkpoint.h"
#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/note.h"
#include "treatylog/text.h"

#define S(lit) (lit), (sizeof(lit) - 1)
#define ORIGIN "treatylog.example/test-log"
#define LOG_VKEY "treatylog.example/test-log+b32a3142+AQ64NRjkpgPvbHp1LFPAugV/+u7R+Ty0APo7d2dkcYt0"
#define LOG_SKEY                                                                                  \
    "PRIVATE+KEY+treatylog.example/test-log+b32a3142+AWoaEIOzETe0K5xRhKH6PIW0nXMrPqdZj03y1FNVllt5"
#define SUM_VKEY "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"

static tl_vkey vkey(const char *text)
{
    tl_vkey k;
    tl_diag d = {{0}};
    tl_err e = tl_vkey_parse(&k, text, strlen(text), &d);
    if (e != TL_OK)
        fail_msg("vkey %s: %s", text, d.msg);
    return k;
}

static tl_skey log_key(void)
{
    uint8_t seed[32];
    tl_sha256(seed, "treatylog test log key", 22);
    tl_skey k;
    assert_int_equal(tl_skey_from_seed(&k, S(ORIGIN), TL_KEY_ED25519, seed, NULL), TL_OK);
    tl_skey p;
    assert_int_equal(tl_skey_parse(&p, S(LOG_SKEY), NULL), TL_OK);
    assert_memory_equal(p.sk, k.sk, 64);
    tl_skey_wipe(&p);
    return k;
}

struct cp_vec {
    uint64_t size;
    const char *root_b64;
    const char *root_hex; /* NULL if not given */
    const char *sig_b64;
    const char *sha256;
};

static const struct cp_vec CPS[] = {
    {256, "3JNJ+Xh+0Ahtptl/Z5xRpRmPmORW6Vsdh/o6vAEv7DE=",
     "dc9349f9787ed0086da6d97f679c51a5198f98e456e95b1d87fa3abc012fec31",
     "syoxQhHgnihAb9MUl08RRxVGQ2kKBvX+2KRPV/9DXI8a18d5vDXdTnx1LnhXz8jueaXzx/M6K1MR3wxaMpviOAz3Ow8=",
     "7d7705f912ec8ba2d1f87bdbbe5365708a90c7e86c2a4c75dc6184c58e76a788"},
    {300, "gw31yQrqZZCcEOPrzX+bpy3nJ6QgngTKn8G1m0i62uU=",
     "830df5c90aea65909c10e3ebcd7f9ba72de727a4209e04ca9fc1b59b48badae5",
     "syoxQmxdiQZDcJmTQkyEOhtoMCeigbYbe5ihpVQAoO4DVvUpW4eo0BwNMkvknZkWkymvouUAlsrWblus4pRTP+gTkA4=",
     "e833e8856bf3134799b1678d9e80497951e59e180d27463000c6a031b526e424"},
    {300, "ZVjcND4jnQRPr7u4Q2q9JjJFx+0XgH5M20jlRAGroAE=",
     "6558dc343e239d044fafbbb8436abd263245c7ed17807e4cdb48e54401aba001",
     "syoxQm9WkaqZqPD/nPcLZ2y9nifx123e6SFhHYM8AYu8sO2UrMaUCMCIxwFZ0IFD2njoD3qikXo9e0JXtgHyug3xdwo=",
     "c4061891897577718c1e09fe616344e9acc7b16b7702c44674bed2ada636d874"},
};

/* §6.2: CP256, CP300 and CPFORK are re-signed byte for byte. */
static void test_resign_fixtures(void **state)
{
    (void)state;
    tl_skey k = log_key();
    tl_vkey lv = vkey(LOG_VKEY);
    assert_true(tl_vkey_equal(&k.vkey, &lv));
    for (size_t i = 0; i < sizeof CPS / sizeof CPS[0]; i++) {
        const struct cp_vec *v = &CPS[i];
        tl_checkpoint cp;
        memset(&cp, 0, sizeof cp);
        memcpy(cp.origin, ORIGIN, sizeof ORIGIN);
        cp.origin_len = strlen(ORIGIN);
        cp.size = v->size;
        size_t n = 0;
        assert_int_equal(tl_b64_decode(cp.root, sizeof cp.root, &n, v->root_b64, 44), TL_OK);
        assert_int_equal(n, 32);
        if (v->root_hex)
            assert_hash_hex(cp.root, v->root_hex);

        char text[TL_CHECKPOINT_TEXT_MAX];
        size_t tlen = tl_checkpoint_format(text, &cp);
        char want_text[256];
        int w = snprintf(want_text, sizeof want_text, "%s\n%llu\n%s\n", ORIGIN,
                         (unsigned long long)v->size, v->root_b64);
        assert_int_equal(tlen, (size_t)w);
        assert_string_equal(text, want_text);

        char *note = NULL;
        size_t nlen = 0;
        tl_diag d = {{0}};
        assert_int_equal(tl_note_sign(&note, &nlen, text, tlen, &k, &d), TL_OK);
        assert_int_equal(nlen, 201);
        uint8_t h[32];
        tl_sha256(h, note, nlen);
        assert_hash_hex(h, v->sha256);
        char want_note[512];
        w = snprintf(want_note, sizeof want_note, "%s\n\xe2\x80\x94 %s %s\n", want_text, ORIGIN,
                     v->sig_b64);
        assert_int_equal(nlen, (size_t)w);
        assert_memory_equal(note, want_note, nlen);

        /* Open it: the same checkpoint comes back, and the note is exposed. */
        tl_checkpoint back;
        tl_note parsed;
        assert_int_equal(tl_checkpoint_open(&back, &parsed, note, nlen, &lv, &d), TL_OK);
        assert_string_equal(back.origin, ORIGIN);
        assert_int_equal(back.origin_len, strlen(ORIGIN));
        assert_true(back.size == v->size);
        assert_memory_equal(back.root, cp.root, 32);
        assert_int_equal(back.ext_lines, 0);
        assert_int_equal(parsed.nsigs, 1);
        assert_int_equal(parsed.text_len, tlen);
        assert_ptr_equal(parsed.text, note);
        free(note);
    }
    tl_skey_wipe(&k);
}

/* §6.3: the test witness's cosignatures on CP256 and CP300 at the fixed time. */
static void test_witness_cosigs(void **state)
{
    (void)state;
    uint8_t seed[32];
    tl_sha256(seed, "treatylog test witness key", 26);
    tl_skey w;
    assert_int_equal(
        tl_skey_from_seed(&w, S("treatylog.example/test-witness"), TL_KEY_COSIG_V1, seed, NULL),
        TL_OK);
    static const char *want[] = {
        "\xe2\x80\x94 treatylog.example/test-witness apRCzQAAAABpVGeA0xRvHY7teXN9+zVuUgrYVoPUuTDRuEK1"
        "iTOWvT8rU3rZXH5gw18YBvkn7YxumaQIdlX3h7Hq1iM460PiKst4Cw==\n",
        "\xe2\x80\x94 treatylog.example/test-witness apRCzQAAAABpVGeAhwx6A4yhLn3WMdMG1eqfA8HhUF3d087a"
        "q/VPyuKeK+BKysn/bxSI7Ztfa1lhfujNZJUQdl8VHW3CXeVmVc9JDA==\n",
    };
    for (size_t i = 0; i < 2; i++) {
        char text[128];
        snprintf(text, sizeof text, ORIGIN "\n%llu\n%s\n", (unsigned long long)CPS[i].size,
                 CPS[i].root_b64);
        char line[TL_SIGLINE_MAX];
        size_t len = 0;
        assert_int_equal(tl_note_sigline(line, &len, text, strlen(text), &w, 1767139200u, NULL),
                         TL_OK);
        assert_string_equal(line, want[i]);
        if (i == 1)
            assert_int_equal(len, 140);
    }
    tl_skey_wipe(&w);
}

/* §2.3: the sum.golang.org note is a checkpoint; and Go's FormatTree golden output. */
static void test_sumdb(void **state)
{
    (void)state;
    static const char sum[] =
        "go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n"
        "\xe2\x80\x94 sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nP"
        "RYfvimWEPWL+o3GeoWwOoAw=\n";
    tl_vkey sk = vkey(SUM_VKEY);
    tl_checkpoint cp;
    tl_diag d = {{0}};
    assert_int_equal(tl_checkpoint_open(&cp, NULL, S(sum), &sk, &d), TL_OK);
    assert_string_equal(cp.origin, "go.sum database tree");
    assert_true(cp.size == 6476701);
    char text[TL_CHECKPOINT_TEXT_MAX];
    size_t n = tl_checkpoint_format(text, &cp);
    assert_int_equal(n, 74);
    assert_memory_equal(text, sum, n);

    tl_checkpoint g;
    memset(&g, 0, sizeof g);
    memcpy(g.origin, "go.sum database tree", 21);
    g.origin_len = 20;
    g.size = 123456789012u;
    tl_leaf_hash(g.root, "hello world", 11);
    n = tl_checkpoint_format(text, &g);
    assert_string_equal(text,
                        "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n");
    tl_checkpoint back;
    assert_int_equal(tl_checkpoint_parse(&back, text, n, &d), TL_OK);
    assert_memory_equal(&back, &g, sizeof g);
}

/* §2.4: the tlog-checkpoint example parses, and fails to open under sum.golang.org (same key
 * id, other name: the line is ignored, so "no verifiable signatures"). */
static void test_spec_example(void **state)
{
    (void)state;
    static const char sofa[] =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
        "\xe2\x80\x94 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7"
        "u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
    tl_note n;
    tl_diag d = {{0}};
    assert_int_equal(tl_note_parse(&n, S(sofa), &d), TL_OK);
    tl_checkpoint cp;
    assert_int_equal(tl_checkpoint_parse(&cp, n.text, n.text_len, &d), TL_OK);
    assert_string_equal(cp.origin, "example.com/behind-the-sofa");
    assert_true(cp.size == 20852163);
    assert_int_equal(cp.ext_lines, 0);
    tl_vkey sk = vkey(SUM_VKEY);
    assert_int_equal(tl_checkpoint_open(&cp, NULL, S(sofa), &sk, &d), TL_ERR_SIGNATURE);
    assert_non_null(strstr(d.msg, "no verifiable signatures"));
}

static void test_parse_rejects(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "\n",
        "o\n",
        "o\n1\n",
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",     /* no final LF */
        "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",    /* empty origin */
        "o\n\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",    /* empty size */
        "o\n+1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n 1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n1 \nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n00\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "o\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n18446744073709551616\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n18446744073709551615\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\n9223372036854775808\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", /* 2^63 */
        "o\n1\n\n",                                                 /* empty root */
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",    /* 31 bytes */
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",    /* 33 bytes */
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",    /* trailing bits */
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",     /* unpadded */
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \n",   /* trailing space */
        "o\n1\n AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",   /* leading space */
        "o\n1\nAAAAAAAAAAAAAAAAAAAAA-AAAAAAAAAAAAAAAAAAAAA=\n",    /* URL-safe */
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\303\251A=\n", /* non-ASCII */
        "o\r\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",   /* CR */
        "o\n1\r\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "o\tx\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",   /* tab */
        "\xff\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  /* not UTF-8 */
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",  /* empty extension line */
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nx\n\n",
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nx", /* extension without LF */
        "o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",    /* size 0, wrong root */
        "o\n0\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\n",    /* size 0, LEAF("") */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tl_checkpoint cp;
        memset(&cp, 0x5A, sizeof cp);
        tl_diag d = {{0}};
        tl_err e = tl_checkpoint_parse(&cp, bad[i], strlen(bad[i]), &d);
        if (e != TL_ERR_FORMAT)
            fail_msg("case %zu accepted (%d)", i, (int)e);
        assert_true(d.msg[0] != '\0');
        assert_int_equal((unsigned char)cp.origin[0], 0x5A); /* untouched */
    }
    /* The diagnostics name the line. */
    tl_checkpoint cp;
    tl_diag d = {{0}};
    assert_int_equal(tl_checkpoint_parse(&cp, S("o\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), &d),
                     TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "line 2"));
    assert_int_equal(tl_checkpoint_parse(&cp, S("o\n1\nAAAA\n"), &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "line 3"));
    assert_int_equal(
        tl_checkpoint_parse(&cp, S("o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\na\n\n"), &d),
        TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "line 5"));
}

static void test_parse_accepts(void **state)
{
    (void)state;
    tl_checkpoint cp;
    tl_diag d = {{0}};
    /* Empty tree. */
    assert_int_equal(tl_checkpoint_parse(&cp, S("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"), &d),
                     TL_OK);
    assert_true(cp.size == 0);
    assert_memory_equal(cp.root, TL_EMPTY_ROOT, 32);
    /* 2^63-1. */
    assert_int_equal(
        tl_checkpoint_parse(&cp, S("o\n9223372036854775807\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), &d),
        TL_OK);
    assert_true(cp.size == (uint64_t)INT64_MAX);
    /* Extension lines are counted, and the canonical text drops them. */
    static const char ext[] = "o p\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nx\n\xe2\x80\x94 y\n";
    assert_int_equal(tl_checkpoint_parse(&cp, S(ext), &d), TL_OK);
    assert_int_equal(cp.ext_lines, 2);
    assert_string_equal(cp.origin, "o p"); /* origin spaces: SHOULD-not, accepted */
    char text[TL_CHECKPOINT_TEXT_MAX];
    size_t n = tl_checkpoint_format(text, &cp);
    assert_string_equal(text, "o p\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
    assert_int_equal(n, strlen(text));
}

static void test_origin_length(void **state)
{
    (void)state;
    char buf[TL_ORIGIN_MAX + 64];
    tl_checkpoint cp;
    tl_diag d = {{0}};
    for (size_t olen = TL_ORIGIN_MAX - 1; olen <= TL_ORIGIN_MAX + 1; olen++) {
        memset(buf, 'o', olen);
        static const char rest[] = "\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        memcpy(buf + olen, rest, sizeof rest);
        size_t len = olen + strlen(rest);
        tl_err e = tl_checkpoint_parse(&cp, buf, len, &d);
        assert_int_equal(e, olen <= TL_ORIGIN_MAX ? TL_OK : TL_ERR_FORMAT);
        if (e == TL_OK) {
            assert_int_equal(cp.origin_len, olen);
            assert_int_equal(strlen(cp.origin), olen);
            /* Largest text still fits: format, compare with the input. */
            cp.size = (uint64_t)INT64_MAX;
            char text[TL_CHECKPOINT_TEXT_MAX];
            size_t n = tl_checkpoint_format(text, &cp);
            assert_true(n < TL_CHECKPOINT_TEXT_MAX);
            tl_checkpoint back;
            assert_int_equal(tl_checkpoint_parse(&back, text, n, &d), TL_OK);
            assert_memory_equal(&back, &cp, sizeof cp);
        }
    }
}

static void test_open_failures(void **state)
{
    (void)state;
    tl_skey k = log_key();
    tl_vkey lv = vkey(LOG_VKEY);
    tl_diag d = {{0}};
    tl_checkpoint cp;
    char *note = NULL;
    size_t nlen = 0;
    char text[TL_CHECKPOINT_TEXT_MAX];
    tl_checkpoint src;
    memset(&src, 0, sizeof src);
    memcpy(src.origin, ORIGIN, sizeof ORIGIN);
    src.origin_len = strlen(ORIGIN);
    src.size = 300;
    size_t n = 0;
    assert_int_equal(tl_b64_decode(src.root, 32, &n, CPS[1].root_b64, 44), TL_OK);
    size_t tlen = tl_checkpoint_format(text, &src);
    assert_int_equal(tl_note_sign(&note, &nlen, text, tlen, &k, &d), TL_OK);

    /* A flipped root byte (gw31 -> gw32): the trusted signature fails. */
    char *bad = malloc(nlen);
    assert_non_null(bad);
    memcpy(bad, note, nlen);
    char *g = strstr(bad, "gw31");
    assert_non_null(g);
    g[3] = '2';
    assert_int_equal(tl_checkpoint_open(&cp, NULL, bad, nlen, &lv, &d), TL_ERR_SIGNATURE);
    assert_non_null(strstr(d.msg, "invalid signature"));
    free(bad);

    /* Another log's key: no verifiable signature. */
    tl_vkey other = vkey(SUM_VKEY);
    assert_int_equal(tl_checkpoint_open(&cp, NULL, note, nlen, &other, &d), TL_ERR_SIGNATURE);
    /* A cosigner key is not a log key. */
    tl_vkey wk = vkey("treatylog.example/test-witness+6a9442cd+BOHrja/sexzmy+kdvxQLWNFvx/R9aP8WfSXo8Jpirh9o");
    assert_int_equal(tl_checkpoint_open(&cp, NULL, note, nlen, &wk, &d), TL_ERR_USAGE);
    /* Truncated note. */
    assert_int_equal(tl_checkpoint_open(&cp, NULL, note, nlen - 1, &lv, &d), TL_ERR_FORMAT);
    free(note);

    /* A validly signed note whose text is not a checkpoint. */
    assert_int_equal(tl_note_sign(&note, &nlen, S("hello\nworld\n"), &k, &d), TL_OK);
    assert_int_equal(tl_checkpoint_open(&cp, NULL, note, nlen, &lv, &d), TL_ERR_FORMAT);
    free(note);
    /* Size 0 with a non-empty root, validly signed. */
    assert_int_equal(
        tl_note_sign(&note, &nlen, S(ORIGIN "\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), &k, &d),
        TL_OK);
    assert_int_equal(tl_checkpoint_open(&cp, NULL, note, nlen, &lv, &d), TL_ERR_FORMAT);
    free(note);
    /* An oversized note is a format error for a checkpoint. */
    size_t big = TL_NOTE_MAX + 10;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, 'a', big);
    assert_int_equal(tl_checkpoint_open(&cp, NULL, huge, big, &lv, &d), TL_ERR_FORMAT);
    free(huge);
    tl_skey_wipe(&k);
}

int main(void)
{
    if (tl_init() != TL_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resign_fixtures), cmocka_unit_test(test_witness_cosigs),
        cmocka_unit_test(test_sumdb),           cmocka_unit_test(test_spec_example),
        cmocka_unit_test(test_parse_rejects),   cmocka_unit_test(test_parse_accepts),
        cmocka_unit_test(test_origin_length),   cmocka_unit_test(test_open_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
