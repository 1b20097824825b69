/* text_test.c - strict decimal, base64, UTF-8, note-text and key-name checks (text.c). */
#include <stdio.h>

#include "testutil.h"
#include "treatylog/hash.h"
#include "treatylog/text.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static void test_u64_ok(void **state)
{
    (void)state;
    uint64_t v = 99;
    assert_int_equal(tl_parse_u64(&v, S("0")), TL_OK);
    assert_true(v == 0);
    assert_int_equal(tl_parse_u64(&v, S("1")), TL_OK);
    assert_true(v == 1);
    assert_int_equal(tl_parse_u64(&v, S("6476701")), TL_OK);
    assert_true(v == 6476701);
    assert_int_equal(tl_parse_u64(&v, S("18446744073709551615")), TL_OK);
    assert_true(v == UINT64_MAX);
    assert_int_equal(tl_parse_u64(&v, S("9223372036854775807")), TL_OK);
    assert_true(v == (uint64_t)INT64_MAX);
}

static void test_u64_reject(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",    "+1", " 1", "1 ", "01", "00", "-0", "-1", "1a", "0x10", "1.0", "1\n",
        "18446744073709551616", "99999999999999999999", "184467440737095516150", "０",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 12345;
        assert_int_equal(tl_parse_u64(&v, bad[i], strlen(bad[i])), TL_ERR_FORMAT);
        assert_true(v == 12345); /* untouched on error */
    }
    /* The length bounds the parse: "12" of "123" is 12, and an embedded NUL is rejected. */
    uint64_t v = 0;
    assert_int_equal(tl_parse_u64(&v, "123", 2), TL_OK);
    assert_true(v == 12);
    assert_int_equal(tl_parse_u64(&v, "1\0" "2", 3), TL_ERR_FORMAT);
}

static void test_u64_format_roundtrip(void **state)
{
    (void)state;
    static const uint64_t vals[] = {0, 1, 9, 10, 99, 100, 256, 1767139200, UINT64_MAX - 1,
                                    UINT64_MAX, (uint64_t)INT64_MAX};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char buf[21];
        char want[32];
        size_t n = tl_format_u64(buf, vals[i]);
        int wn = snprintf(want, sizeof want, "%llu", (unsigned long long)vals[i]);
        assert_int_equal(n, (size_t)wn);
        assert_string_equal(buf, want);
        uint64_t back = 0;
        assert_int_equal(tl_parse_u64(&back, buf, n), TL_OK);
        assert_true(back == vals[i]);
    }
}

static void test_b64_encode(void **state)
{
    (void)state;
    /* RFC 4648 §10 vectors. */
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char buf[16];
        size_t n = strlen(in[i]);
        assert_int_equal(tl_b64_len(n), strlen(out[i]));
        assert_int_equal(tl_b64_encode(buf, (const uint8_t *)in[i], n), strlen(out[i]));
        assert_string_equal(buf, out[i]);
        uint8_t dec[8];
        size_t dn = 99;
        assert_int_equal(tl_b64_decode(dec, sizeof dec, &dn, out[i], strlen(out[i])), TL_OK);
        assert_int_equal(dn, n);
        assert_memory_equal(dec, in[i], n);
    }
    assert_int_equal(tl_b64_len(32), 44);
    assert_int_equal(tl_b64_len(68), 92);
    assert_int_equal(tl_b64_len(76), 104);
    assert_int_equal(tl_b64_len(33), 44);
}

static void test_b64_hash(void **state)
{
    (void)state;
    uint8_t h[32];
    size_t n = 0;
    assert_int_equal(tl_b64_decode(h, sizeof h, &n, S("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")),
                     TL_OK);
    assert_int_equal(n, 32);
    assert_memory_equal(h, TL_EMPTY_ROOT, 32);
    char enc[45];
    assert_int_equal(tl_b64_encode(enc, TL_EMPTY_ROOT, 32), 44);
    assert_string_equal(enc, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

static void test_b64_reject(void **state)
{
    (void)state;
    static const char *bad[] = {
        "Zg",        /* no padding */
        "Zg=",       /* short padding */
        "Zg===",     /* too much padding */
        "Zm8",       /* no padding */
        "Z===",      /* one char + padding */
        "Z",         /* one char */
        "====",      /* padding only */
        "Zh==",      /* non-zero trailing bits (4 low bits of 'h') */
        "Zg9=",      /* wrong: "Zg9" has 2 non-zero trailing bits */
        "Zm9=",      /* non-zero trailing bits */
        "Zm8=Zm9v",  /* padding in the middle */
        "Zg==Zg==",  /* two padded quanta */
        "=Zm9",      /* leading padding */
        "Zm9v ",     /* trailing space */
        " Zm9v",     /* leading space */
        "Zm 9v",     /* inner space */
        "Zm9v\n",    /* trailing LF */
        "Zm\n9v",    /* inner LF */
        "Zm9v\r\n",  /* CRLF */
        "Zm\t9v",    /* tab */
        "Zm9-",      /* URL-safe '-' */
        "Zm9_",      /* URL-safe '_' */
        "-_-_",      /* URL-safe only */
        "Zm9v=",     /* padding after a full quantum */
        "Zm.v",      /* outside the alphabet */
        "Zm9v\xc3\xa9", /* non-ASCII */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t out[16];
        size_t n = 777;
        tl_err e = tl_b64_decode(out, sizeof out, &n, bad[i], strlen(bad[i]));
        if (e != TL_ERR_FORMAT)
            fail_msg("accepted or wrong error for \"%s\": %d", bad[i], (int)e);
        assert_int_equal(n, 777);
    }
    /* Every byte outside the alphabet, in every position of a quantum (libsodium 1.0.18 on
     * its own decodes bytes >= 0x80 as '/'). */
    for (int c = 0; c < 256; c++) {
        bool in = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/';
        for (int pos = 0; pos < 4; pos++) {
            char q[8] = "AAAAAAAA";
            q[pos + 4] = (char)c;
            uint8_t o[6];
            size_t on = 0;
            tl_err e = tl_b64_decode(o, sizeof o, &on, q, 8);
            if (in ? e != TL_OK : (e != TL_ERR_FORMAT && !(c == '=' && pos == 3)))
                fail_msg("byte 0x%02x at %d: %d", c, pos, (int)e);
        }
    }
    /* Embedded NUL counts as a character outside the alphabet. */
    uint8_t out[8];
    size_t n = 0;
    assert_int_equal(tl_b64_decode(out, sizeof out, &n, "Zm\0v", 4), TL_ERR_FORMAT);
    /* Canonical "Zg==" is accepted next to its non-canonical twins "Zh==" .. "Zv==". */
    assert_int_equal(tl_b64_decode(out, sizeof out, &n, S("Zg==")), TL_OK);
    for (char c = 'h'; c <= 'v'; c++) {
        char s[5] = {'Z', c, '=', '=', 0};
        assert_int_equal(tl_b64_decode(out, sizeof out, &n, s, 4), TL_ERR_FORMAT);
    }
}

static void test_b64_cap(void **state)
{
    (void)state;
    uint8_t out[3];
    size_t n = 0;
    assert_int_equal(tl_b64_decode(out, 3, &n, S("Zm9v")), TL_OK);
    assert_int_equal(n, 3);
    assert_int_equal(tl_b64_decode(out, 2, &n, S("Zm9v")), TL_ERR_TOOBIG);
    assert_int_equal(tl_b64_decode(out, 1, &n, S("Zm8=")), TL_ERR_TOOBIG);
    assert_int_equal(tl_b64_decode(out, 2, &n, S("Zm8=")), TL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(tl_b64_decode(NULL, 0, &n, "", 0), TL_OK);
    assert_int_equal(n, 0);
    char empty[1] = {'x'};
    assert_int_equal(tl_b64_encode(empty, NULL, 0), 0);
    assert_int_equal(empty[0], '\0');
}

static void test_utf8(void **state)
{
    (void)state;
    struct {
        const char *s;
        size_t len;
        bool ok;
    } cases[] = {
        {S(""), true},
        {S("plain ascii"), true},
        {S("\xc2\x80"), true},            /* U+0080 */
        {S("\xdf\xbf"), true},            /* U+07FF */
        {S("\xe0\xa0\x80"), true},        /* U+0800 */
        {S("\xe2\x80\x94"), true},        /* em dash */
        {S("\xed\x9f\xbf"), true},        /* U+D7FF */
        {S("\xee\x80\x80"), true},        /* U+E000 */
        {S("\xef\xbf\xbf"), true},        /* U+FFFF */
        {S("\xf0\x90\x80\x80"), true},    /* U+10000 */
        {S("\xf4\x8f\xbf\xbf"), true},    /* U+10FFFF */
        {S("\x00"), true},                /* NUL is valid UTF-8 (not valid note text) */
        {S("\xc0\x80"), false},           /* overlong NUL */
        {S("\xc1\xbf"), false},           /* overlong */
        {S("\xe0\x80\xaf"), false},       /* overlong '/' */
        {S("\xe0\x9f\xbf"), false},       /* overlong U+07FF */
        {S("\xf0\x80\x80\xaf"), false},   /* overlong */
        {S("\xf0\x8f\xbf\xbf"), false},   /* overlong U+FFFF */
        {S("\xed\xa0\x80"), false},       /* U+D800 surrogate */
        {S("\xed\xbf\xbf"), false},       /* U+DFFF surrogate */
        {S("\xf4\x90\x80\x80"), false},   /* U+110000 */
        {S("\xf5\x80\x80\x80"), false},   /* lead F5 */
        {S("\xff"), false},
        {S("\xfe"), false},
        {S("\x80"), false},               /* lone continuation */
        {S("a\xbf"), false},
        {S("\xc2"), false},               /* truncated 2-byte */
        {S("\xe2\x80"), false},           /* truncated em dash */
        {S("\xf0\x90\x80"), false},       /* truncated 4-byte */
        {S("\xe2\x80\x94\xe2"), false},   /* truncated at the end */
        {S("\xc2\x41"), false},           /* bad continuation */
        {S("\xe2\x28\xa1"), false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (tl_utf8_valid((const uint8_t *)cases[i].s, cases[i].len) != cases[i].ok)
            fail_msg("utf8 case %zu: expected %d", i, cases[i].ok);
    }
}

static void test_note_text(void **state)
{
    (void)state;
    assert_true(tl_note_text_valid((const uint8_t *)S("a\nb\n")));
    assert_true(tl_note_text_valid((const uint8_t *)S("\xe2\x80\x94 x\n")));
    assert_true(tl_note_text_valid((const uint8_t *)S("~\x7f\n"))); /* DEL is not below 0x20 */
    assert_false(tl_note_text_valid((const uint8_t *)S("a\tb\n")));
    assert_false(tl_note_text_valid((const uint8_t *)S("a\r\n")));
    assert_false(tl_note_text_valid((const uint8_t *)S("a\x00\n")));
    assert_false(tl_note_text_valid((const uint8_t *)S("\x01")));
    assert_false(tl_note_text_valid((const uint8_t *)S("\x1f")));
    assert_false(tl_note_text_valid((const uint8_t *)S("\xff\n")));
    assert_false(tl_note_text_valid((const uint8_t *)S("\xed\xa0\x80\n")));
}

/* Encodes a code point as UTF-8 (no validation: the caller passes scalar values). */
static size_t enc_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static bool go_is_space(uint32_t cp)
{
    static const uint32_t set[] = {0x09,   0x0A,   0x0B,   0x0C,   0x0D,   0x20,
                                   0x85,   0xA0,   0x1680, 0x2000, 0x2001, 0x2002,
                                   0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008,
                                   0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F,
                                   0x3000};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
        if (set[i] == cp)
            return true;
    }
    return false;
}

static void test_keyname_spaces(void **state)
{
    (void)state;
    /* Each White_Space code point, alone, as prefix, infix and suffix: rejected. */
    size_t rejected = 0;
    for (uint32_t cp = 0; cp < 0x3100; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        char buf[16];
        size_t n = 0;
        buf[n++] = 'a';
        n += enc_utf8(buf + n, cp);
        buf[n++] = 'b';
        bool want = !go_is_space(cp) && cp != '+';
        if (tl_keyname_valid(buf, n) != want)
            fail_msg("key name with U+%04X: expected %d", (unsigned)cp, want);
        if (!want) {
            rejected++;
            size_t m = enc_utf8(buf, cp);
            assert_false(tl_keyname_valid(buf, m));
            buf[m] = 'z';
            assert_false(tl_keyname_valid(buf, m + 1));
        }
    }
    assert_int_equal(rejected, 26); /* 25 spaces + '+' */
    /* U+200B ZERO WIDTH SPACE and U+180E (not White_Space since Unicode 6.3) are allowed. */
    assert_true(tl_keyname_valid(S("a\xe2\x80\x8b" "b")));
    assert_true(tl_keyname_valid(S("a\xe1\xa0\x8e" "b")));
    /* Supplementary planes are fine. */
    assert_true(tl_keyname_valid(S("\xf0\x9f\x94\x91")));
}

static void test_keyname_other(void **state)
{
    (void)state;
    assert_true(tl_keyname_valid(S("PeterNeumann")));
    assert_true(tl_keyname_valid(S("treatylog.example/test-log")));
    assert_true(tl_keyname_valid(S("x")));
    assert_false(tl_keyname_valid("", 0));
    assert_false(tl_keyname_valid(S("a+b")));
    assert_false(tl_keyname_valid(S("+")));
    assert_false(tl_keyname_valid(S("name ")));
    assert_false(tl_keyname_valid(S("\xff")));          /* not UTF-8 */
    assert_false(tl_keyname_valid(S("a\xc0\xa0")));     /* overlong space */
    assert_false(tl_keyname_valid(S("a\xe2\x80")));     /* truncated */
    assert_false(tl_keyname_valid(S("\xed\xa0\x80")));  /* surrogate */
}

int main(void)
{
    if (tl_init() != TL_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64_ok),
        cmocka_unit_test(test_u64_reject),
        cmocka_unit_test(test_u64_format_roundtrip),
        cmocka_unit_test(test_b64_encode),
        cmocka_unit_test(test_b64_hash),
        cmocka_unit_test(test_b64_reject),
        cmocka_unit_test(test_b64_cap),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_note_text),
        cmocka_unit_test(test_keyname_spaces),
        cmocka_unit_test(test_keyname_other),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
