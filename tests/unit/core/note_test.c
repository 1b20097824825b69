/* note_test.c - signed-note parse/verify/sign and cosignature/v1 (note.c); vectors from
 * reference/test-vectors.md §2 (Go x/mod TestOpen/TestSign, C2SP examples, sum.golang.org)
 * and §3 (Sunlight skylight cosignatures, re-created bit-for-bit). */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "testutil.h"
#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/note.h"
#include "treatylog/text.h"

#define S(lit) (lit), (sizeof(lit) - 1)
#define COSIG_TIME 1767139200u

/* §2.1 Go x/mod PeterNeumann / EnochRoot. */
static const char T[] = "If you think cryptography is the answer to your problem,\n"
                        "then you don't know what your problem is.\n";
static const char P[] = "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1"
                        "FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
static const char E[] = "\xe2\x80\x94 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vA"
                        "F1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";
static const char PETER_SKEY[] =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char PETER_VKEY[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char ENOCH_VKEY[] = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";

/* §3 skylight fixtures. */
static const char ROME_TEXT[] = "rome2026h1.example.org\n300\nlCkHUpkmVBEms2r2T1K6Og69+wUuuN3MIEW1/ezu2v0=\n";
static const char ROME_LOG_LINE[] =
    "\xe2\x80\x94 rome2026h1.example.org kVB1JgAAAZtxtEwABAMARzBFAiEAi+mTa2xjL1IdWpH82OeciGsGvwRAP+f1"
    "WkfKaSZCfFECIHoNPZ/Q3y6UNzvKOO9cuLr6V16vPNfhwhle9f6r5H/Z\n";
static const char WITNESS_LINE[] =
    "\xe2\x80\x94 witness.example.org uKLPIAAAAABpVGeAhm2bOvKc3LaB9PFN1ruG19Y5yqslmcAAbhftnn1Zznmo0LXFZq"
    "4LGvqKqLX8jWlwLKasxEGTLIqAVusneCBmBw==\n";
static const char WITNESS_VKEY[] =
    "witness.example.org+b8a2cf20+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN";
static const char WITNESS_VKEY01[] =
    "witness.example.org+38236b08+AVLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN";
static const char ROME300_TEXT[] =
    "rome2026h1.example.org\n300\ngw31yQrqZZCcEOPrzX+bpy3nJ6QgngTKn8G1m0i62uU=\n";
static const char MIRROR_LINE[] =
    "\xe2\x80\x94 mirror.example.org P7FI7wAAAABpVGeAjA1S4pJm6MbcXjX7UUImu4azZtrfcVW2uyr/LXIYlwEJzXC0N0E"
    "iZkbqfLdXt/4gVEEuGmxJjAfXKMCISpsJAg==\n";
static const char MIRROR_VKEY[] = "mirror.example.org+3fb148ef+BAAjjch9GyYz0sJsJx7ALhbdAtz2ov0unbzSl1vMp94O";
static const char MILAN_TEXT[] = "milan2026h1.example.org\n300\nlCkHUpkmVBEms2r2T1K6Og69+wUuuN3MIEW1/ezu2v0=\n";
static const char WITNESS2_LINE[] =
    "\xe2\x80\x94 witness2.example.org LlW4lgAAAABpVGeAN/uFWqfjdU94rrKxFycCggM0Sa1L5tOJCJdYBwJ41CQsgKWA6B0"
    "+vywok3cPI3JIzuPeR+VotuYe/eNy0+30Dw==\n";
static const char WITNESS2_VKEY[] =
    "witness2.example.org+2e55b896+BIZ7fpceQWd60IfqQeS9IAnmNOCZjMDne8lZuguz/bi9";

/* A growable byte string for building notes. */
typedef struct buf {
    char *p;
    size_t len;
} buf;

static void bput(buf *b, const char *s, size_t n)
{
    char *q = realloc(b->p, b->len + n + 1);
    assert_non_null(q);
    b->p = q;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void bputs(buf *b, const char *s)
{
    bput(b, s, strlen(s));
}

static tl_vkey vkey(const char *text)
{
    tl_vkey k;
    tl_diag d = {{0}};
    tl_err e = tl_vkey_parse(&k, text, strlen(text), &d);
    if (e != TL_OK)
        fail_msg("vkey %s: %s", text, d.msg);
    return k;
}

static tl_skey seed_key(const char *seed_str, const char *name, uint8_t type)
{
    uint8_t seed[32];
    tl_sha256(seed, seed_str, strlen(seed_str));
    tl_skey k;
    assert_int_equal(tl_skey_from_seed(&k, name, strlen(name), type, seed, NULL), TL_OK);
    sodium_memzero(seed, sizeof seed);
    return k;
}

/* Parses and verifies msg against keys; returns the verify result (or the parse error). */
static tl_err open_note(const char *msg, size_t len, const tl_vkey *keys, size_t nkeys,
                        tl_sigcheck *res, tl_diag *d)
{
    tl_note *n = malloc(sizeof *n);
    assert_non_null(n);
    tl_err e = tl_note_parse(n, msg, len, d);
    if (e == TL_OK)
        e = tl_note_verify(n, keys, nkeys, res, d);
    free(n);
    return e;
}

static void assert_sha256(const void *p, size_t len, const char *hex)
{
    uint8_t h[32];
    tl_sha256(h, p, len);
    assert_hash_hex(h, hex);
}

/* §2.1: the Peter note is re-created bit for bit. */
static void test_peter_sign(void **state)
{
    (void)state;
    tl_skey k;
    tl_diag d = {{0}};
    assert_int_equal(tl_skey_parse(&k, S(PETER_SKEY), &d), TL_OK);
    assert_int_equal(strlen(T), 99);
    char *out = NULL;
    size_t outlen = 0;
    assert_int_equal(tl_note_sign(&out, &outlen, S(T), &k, &d), TL_OK);
    assert_int_equal(outlen, 210);
    assert_int_equal(strlen(out), 210);
    assert_sha256(out, outlen, "537569759e8fc05d0cd7cbd8beb018f45cf8229f5b270aa1c829445405bab98e");
    buf want = {0};
    bputs(&want, T);
    bputs(&want, "\n");
    bputs(&want, P);
    assert_memory_equal(out, want.p, 210);

    /* The signature field is key id || Ed25519 signature. */
    char line[TL_SIGLINE_MAX];
    size_t line_len = 0;
    assert_int_equal(tl_note_sigline(line, &line_len, S(T), &k, 12345, &d), TL_OK);
    assert_string_equal(line, P);
    assert_int_equal(line_len, strlen(P));
    uint8_t dec[68], want_sig[64];
    size_t n = 0;
    const char *b64 = P + strlen("\xe2\x80\x94 PeterNeumann ");
    assert_int_equal(tl_b64_decode(dec, sizeof dec, &n, b64, strlen(b64) - 1), TL_OK);
    assert_int_equal(n, 68);
    tu_hex(want_sig, "f64992e052f541bf49f7dcbc8010c5506d885ba92cbafca40704959227348b8652060dd451580"
                     "b6a5948d5e02afa9fa9d9e0a2da5165be8a13a472c81c099c03");
    assert_memory_equal(dec + 4, want_sig, 64);
    assert_memory_equal(dec, "\xc7\x4f\x20\xa3", 4);

    /* And it opens under the vkey. */
    tl_vkey pv = vkey(PETER_VKEY);
    tl_sigcheck r;
    assert_int_equal(open_note(out, outlen, &pv, 1, &r, &d), TL_OK);
    assert_true(r.ok);
    assert_int_equal(r.time, 0);
    free(out);
    free(want.p);
    tl_skey_wipe(&k);
}

static void test_peter_parse_fields(void **state)
{
    (void)state;
    buf b = {0};
    bputs(&b, T);
    bputs(&b, "\n");
    bputs(&b, P);
    bputs(&b, E);
    tl_note n;
    tl_diag d = {{0}};
    assert_int_equal(tl_note_parse(&n, b.p, b.len, &d), TL_OK);
    assert_int_equal(n.text_len, 99);
    assert_ptr_equal(n.text, b.p);
    assert_int_equal(n.nsigs, 2);
    assert_int_equal(n.sigs[0].name_len, 12);
    assert_memory_equal(n.sigs[0].name, "PeterNeumann", 12);
    assert_int_equal(n.sigs[0].id, 0xc74f20a3);
    assert_int_equal(n.sigs[0].b64_len, 92);
    assert_memory_equal(n.sigs[1].name, "EnochRoot", 9);
    assert_int_equal(n.sigs[1].id, 0xaf0cfe78);
    free(b.p);
}

/* One row of the TestOpen table: the note is assembled from parts. */
static void open_row(const char *const *parts, size_t nparts, size_t repeat_last,
                     const char *const *keys, size_t nkeys, tl_err want, const char *want_msg,
                     const bool *want_ok)
{
    buf b = {0};
    for (size_t i = 0; i < nparts; i++) {
        size_t times = (i == nparts - 1 && repeat_last) ? repeat_last : 1;
        for (size_t t = 0; t < times; t++)
            bputs(&b, parts[i]);
    }
    tl_vkey kv[4];
    tl_sigcheck res[4];
    for (size_t i = 0; i < nkeys; i++)
        kv[i] = vkey(keys[i]);
    tl_diag d = {{0}};
    tl_err e = open_note(b.p, b.len, kv, nkeys, res, &d);
    if (e != want)
        fail_msg("got %d (%s), want %d", (int)e, d.msg, (int)want);
    if (want_msg && !strstr(d.msg, want_msg))
        fail_msg("message \"%s\" lacks \"%s\"", d.msg, want_msg);
    if (want_ok) {
        for (size_t i = 0; i < nkeys; i++)
            assert_int_equal(res[i].ok, want_ok[i]);
    }
    free(b.p);
}

static void test_open_table(void **state)
{
    (void)state;
    const char *peter[] = {PETER_VKEY};
    const char *both[] = {PETER_VKEY, ENOCH_VKEY};
    const char *enoch2[] = {ENOCH_VKEY, ENOCH_VKEY};
    const bool t1[] = {true};
    const bool t2[] = {true, true};

    /* T LF P E: Peter -> 1 verified, Enoch ignored. */
    const char *tpe[] = {T, "\n", P, E};
    open_row(tpe, 4, 0, peter, 1, TL_OK, NULL, t1);
    /* Peter and Enoch -> both verified. */
    open_row(tpe, 4, 0, both, 2, TL_OK, NULL, t2);
    /* No trusted keys. */
    open_row(tpe, 4, 0, NULL, 0, TL_ERR_SIGNATURE, "note has no verifiable signatures", NULL);
    /* Enoch listed twice -> ambiguous. */
    const char *te[] = {T, "\n", E};
    open_row(te, 3, 0, enoch2, 2, TL_ERR_USAGE, "ambiguous key EnochRoot+af0cfe78", NULL);
    /* 100 signatures accepted, 101 rejected (with or without trusted keys). */
    const char *tp[] = {T, "\n", P};
    open_row(tp, 3, 100, peter, 1, TL_OK, NULL, t1);
    open_row(tp, 3, 101, peter, 1, TL_ERR_FORMAT, "more than 100 signatures", NULL);
    open_row(tp, 3, 101, NULL, 0, TL_ERR_FORMAT, NULL, NULL);
    /* Separator only / no signatures / no final LF. */
    const char *t_only[] = {T};
    open_row(t_only, 1, 0, peter, 1, TL_ERR_FORMAT, NULL, NULL);
    const char *t_lf[] = {T, "\n"};
    open_row(t_lf, 2, 0, peter, 1, TL_ERR_FORMAT, NULL, NULL);
    char p_nolf[sizeof P];
    memcpy(p_nolf, P, sizeof P);
    p_nolf[strlen(P) - 1] = '\0';
    const char *tp_nolf[] = {T, "\n", p_nolf};
    open_row(tp_nolf, 3, 0, peter, 1, TL_ERR_FORMAT, "LF", NULL);
    /* A control byte or invalid UTF-8 before the text. */
    const char *ctl[] = {"\x01", T, "\n", P};
    open_row(ctl, 4, 0, peter, 1, TL_ERR_FORMAT, "note byte 0", NULL);
    const char *ff[] = {"\xff", T, "\n", P};
    open_row(ff, 4, 0, peter, 1, TL_ERR_FORMAT, "note byte 0", NULL);
    /* "— Bad Name x08go…": the name is "Bad", the rest is not base64; with and without LF. */
    const char *bad_name[] = {T, "\n", "\xe2\x80\x94 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcEl"
                                        "ZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"};
    open_row(bad_name, 3, 0, peter, 1, TL_ERR_FORMAT, "base64", NULL);
    const char *bad_name_nolf[] = {T, "\n",
                                   "\xe2\x80\x94 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcEl"
                                   "ZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="};
    open_row(bad_name_nolf, 3, 0, peter, 1, TL_ERR_FORMAT, NULL, NULL);
    /* Trailing non-signature line. */
    const char *junk[] = {T, "\n", P, "Unexpected line.\n"};
    open_row(junk, 4, 0, peter, 1, TL_ERR_FORMAT, "note line 5: not a signature line", NULL);
}

/* P with "ABCD" inserted at byte offset 60 of the line. */
static void insert_abcd(char *out, const char *line)
{
    memcpy(out, line, 60);
    memcpy(out + 60, "ABCD", 4);
    memcpy(out + 64, line + 60, strlen(line) - 60 + 1);
}

static void test_open_bad_sig(void **state)
{
    (void)state;
    char pbad[sizeof P + 4];
    insert_abcd(pbad, P);
    /* The field decodes to 71 bytes with id c74f20a3. */
    tl_note n;
    buf b = {0};
    bputs(&b, T);
    bputs(&b, "\n");
    bputs(&b, pbad);
    tl_diag d = {{0}};
    assert_int_equal(tl_note_parse(&n, b.p, b.len, &d), TL_OK);
    assert_int_equal(n.sigs[0].id, 0xc74f20a3);
    uint8_t dec[128];
    size_t dl = 0;
    assert_int_equal(tl_b64_decode(dec, sizeof dec, &dl, n.sigs[0].b64, n.sigs[0].b64_len), TL_OK);
    assert_int_equal(dl, 71);
    tl_vkey pv = vkey(PETER_VKEY);
    tl_sigcheck r = {.ok = true, .time = 9};
    assert_int_equal(tl_note_verify(&n, &pv, 1, &r, &d), TL_ERR_SIGNATURE);
    assert_non_null(strstr(d.msg, "invalid signature for key PeterNeumann+c74f20a3"));
    assert_false(r.ok);
    free(b.p);

    /* T LF P P E E E': Peter -> OK, only Peter verified. */
    char ebad[sizeof E + 4];
    insert_abcd(ebad, E);
    const char *parts[] = {T, "\n", P, P, E, E, ebad};
    buf c = {0};
    for (size_t i = 0; i < 7; i++)
        bputs(&c, parts[i]);
    assert_int_equal(tl_note_parse(&n, c.p, c.len, &d), TL_OK);
    assert_int_equal(n.nsigs, 5);
    assert_int_equal(tl_note_verify(&n, &pv, 1, &r, &d), TL_OK);
    assert_true(r.ok);
    /* With Enoch trusted too, the bad E' line (a repeat of (EnochRoot, af0cfe78)) is skipped
     * like Go: only the first line per trusted key is verified. */
    tl_vkey keys[2] = {pv, vkey(ENOCH_VKEY)};
    tl_sigcheck rr[2];
    assert_int_equal(tl_note_verify(&n, keys, 2, rr, &d), TL_OK);
    assert_true(rr[0].ok && rr[1].ok);
    free(c.p);

    /* The first line per key decides: bad-then-good is rejected, good-then-bad accepted. */
    buf g = {0};
    bputs(&g, T);
    bputs(&g, "\n");
    bputs(&g, pbad);
    bputs(&g, P);
    assert_int_equal(open_note(g.p, g.len, &pv, 1, &r, &d), TL_ERR_SIGNATURE);
    free(g.p);
    buf h = {0};
    bputs(&h, T);
    bputs(&h, "\n");
    bputs(&h, P);
    bputs(&h, pbad);
    assert_int_equal(open_note(h.p, h.len, &pv, 1, &r, &d), TL_OK);
    free(h.p);
}

/* §2.1 second signer verifies; §2.2 C2SP example; §2.3 sum.golang.org. */
static void test_published_notes(void **state)
{
    (void)state;
    tl_diag d = {{0}};
    tl_sigcheck r;
    /* Enoch alone over the same text. */
    buf b = {0};
    bputs(&b, T);
    bputs(&b, "\n");
    bputs(&b, E);
    tl_vkey ek = vkey(ENOCH_VKEY);
    assert_int_equal(open_note(b.p, b.len, &ek, 1, &r, &d), TL_OK);
    assert_true(r.ok);
    free(b.p);

    static const char foo[] =
        "This is an example message.\n\n\xe2\x80\x94 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6"
        "TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    assert_int_equal(strlen(foo), 142);
    assert_sha256(foo, strlen(foo), "8822d243b739082a3e46364540e26ea7cb59d5ee7aef454429be60a4edf1cfc2");
    tl_vkey fk = vkey("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k");
    assert_int_equal(open_note(S(foo), &fk, 1, &r, &d), TL_OK);
    tl_note n;
    assert_int_equal(tl_note_parse(&n, S(foo), &d), TL_OK);
    assert_int_equal(n.text_len, 28);

    static const char sum[] =
        "go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n"
        "\xe2\x80\x94 sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nP"
        "RYfvimWEPWL+o3GeoWwOoAw=\n";
    assert_int_equal(strlen(sum), 187);
    assert_sha256(sum, strlen(sum), "d89971338174bca9ef03f55eb7c9e11b468f58b71a69c9bc5ee44e9ceba88220");
    tl_vkey sk = vkey("sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8");
    assert_int_equal(open_note(S(sum), &sk, 1, &r, &d), TL_OK);
    assert_true(r.ok);
    /* A flipped text byte breaks it. */
    char sum2[sizeof sum];
    memcpy(sum2, sum, sizeof sum);
    sum2[22] = '7';
    assert_int_equal(open_note(sum2, strlen(sum2), &sk, 1, &r, &d), TL_ERR_SIGNATURE);
    assert_non_null(strstr(d.msg, "invalid signature for key sum.golang.org+033de0ae"));
}

/* §2.4: spec examples that parse but cannot be verified. */
static void test_parse_only(void **state)
{
    (void)state;
    tl_diag d = {{0}};
    tl_note n;
    static const char quasimodo[] =
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \xc3\xa8 subito "
        "sera.\n\n\xe2\x80\x94 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC"
        "+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
    assert_int_equal(tl_note_parse(&n, S(quasimodo), &d), TL_OK);
    /* The text keeps its inner empty line; the split is at the last one. */
    assert_int_equal(n.text_len, strlen(quasimodo) - strlen(strstr(quasimodo, "\n\n\xe2")) + 1);
    static const char last[] = "\n\ned \xc3\xa8 subito sera.\n";
    assert_memory_equal(n.text + n.text_len - strlen(last), last, strlen(last));
    assert_int_equal(n.nsigs, 1);

    static const char sofa[] =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
        "\xe2\x80\x94 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7"
        "u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
        "\xe2\x80\x94 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dl"
        "rDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";
    assert_int_equal(tl_note_parse(&n, S(sofa), &d), TL_OK);
    assert_int_equal(n.nsigs, 2);
    assert_int_equal(n.sigs[0].id, 0x033de0ae);
    assert_int_equal(n.sigs[1].id, 0x8d66cf3f);
    uint8_t dec[128];
    size_t dl = 0;
    assert_int_equal(tl_b64_decode(dec, sizeof dec, &dl, n.sigs[0].b64, n.sigs[0].b64_len), TL_OK);
    assert_int_equal(dl, 68);
    assert_int_equal(tl_b64_decode(dec, sizeof dec, &dl, n.sigs[1].b64, n.sigs[1].b64_len), TL_OK);
    assert_int_equal(dl, 76);
    uint64_t t = 0;
    for (int i = 4; i < 12; i++)
        t = t << 8 | dec[i];
    assert_true(t == 1679315147u);
    /* Same id as sum.golang.org, other name: ignored, so "no verifiable signatures". */
    tl_vkey sk = vkey("sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8");
    tl_sigcheck r;
    assert_int_equal(tl_note_verify(&n, &sk, 1, &r, &d), TL_ERR_SIGNATURE);
    assert_non_null(strstr(d.msg, "no verifiable signatures"));
    /* Renamed to sum.golang.org it matches the key, and then fails as an invalid signature. */
    buf b = {0};
    bputs(&b, "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
              "\xe2\x80\x94 sum.golang.org Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7"
              "u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n");
    assert_int_equal(open_note(b.p, b.len, &sk, 1, &r, &d), TL_ERR_SIGNATURE);
    assert_non_null(strstr(d.msg, "invalid signature"));
    free(b.p);

    /* transparency-dev/formats cosignature: timestamp 1727964367. */
    static const char tdev[] = "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+"
                               "8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==";
    buf c = {0};
    bputs(&c, "example.com/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\xe2\x80\x94 w.example ");
    bputs(&c, tdev);
    bputs(&c, "\n");
    assert_int_equal(tl_note_parse(&n, c.p, c.len, &d), TL_OK);
    assert_int_equal(n.sigs[0].id, 0x646846b9);
    assert_int_equal(tl_b64_decode(dec, sizeof dec, &dl, S(tdev)), TL_OK);
    assert_int_equal(dl, 76);
    t = 0;
    for (int i = 4; i < 12; i++)
        t = t << 8 | dec[i];
    assert_true(t == 1727964367u);
    free(c.p);
}

/* Builds a note text + blank line + lines. */
static buf note_of(const char *text, const char *const *lines, size_t nlines)
{
    buf b = {0};
    bputs(&b, text);
    bputs(&b, "\n");
    for (size_t i = 0; i < nlines; i++)
        bputs(&b, lines[i]);
    return b;
}

struct cosig_vec {
    const char *seed_str;
    const char *name;
    const char *vkey;
    const char *text;
    const char *line;
    const char *sig_hex;
};

static const struct cosig_vec COSIGS[] = {
    {"skylight test witness key", "witness.example.org", WITNESS_VKEY, ROME_TEXT, WITNESS_LINE,
     "866d9b3af29cdcb681f4f14dd6bb86d7d639caab2599c0006e17ed9e7d59ce79a8d0b5c566ae0b1afa8aa8b5fc8d"
     "69702ca6acc441932c8a8056eb2778206607"},
    {"skylight test mirror key", "mirror.example.org", MIRROR_VKEY, ROME300_TEXT, MIRROR_LINE,
     "8c0d52e29266e8c6dc5e35fb514226bb86b366dadf7155b6bb2aff2d7218970109cd70b43741226646ea7cb757b7"
     "fe2054412e1a6c498c07d728c0884a9b0902"},
    {"skylight test witness2 key", "witness2.example.org", WITNESS2_VKEY, MILAN_TEXT,
     WITNESS2_LINE,
     "37fb855aa7e3754f78aeb2b117270282033449ad4be6d389089758070278d4242c80a580e81d3ebf2c2893770f23"
     "7248cee3de47e568b6e61efde372d3edf40f"},
};

/* §3: every cosignature is re-created bit for bit from its seed at the fixed time. */
static void test_cosig_recreate(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof COSIGS / sizeof COSIGS[0]; i++) {
        const struct cosig_vec *v = &COSIGS[i];
        tl_skey k = seed_key(v->seed_str, v->name, TL_KEY_COSIG_V1);
        tl_vkey want = vkey(v->vkey);
        assert_true(tl_vkey_equal(&k.vkey, &want));
        char line[TL_SIGLINE_MAX];
        size_t len = 0;
        tl_diag d = {{0}};
        assert_int_equal(tl_note_sigline(line, &len, v->text, strlen(v->text), &k, COSIG_TIME, &d),
                         TL_OK);
        assert_string_equal(line, v->line);
        assert_int_equal(len, strlen(v->line));

        /* The decoded field: id, big-endian time 00 00 00 00 69 54 67 80, signature. */
        const char *b64 = strchr(line + 4, ' ') + 1;
        uint8_t dec[80];
        size_t dl = 0;
        assert_int_equal(tl_b64_decode(dec, sizeof dec, &dl, b64, strlen(b64) - 1), TL_OK);
        assert_int_equal(dl, 76);
        assert_int_equal(tl_b64_len(76), 104);
        assert_memory_equal(dec + 4, "\x00\x00\x00\x00\x69\x54\x67\x80", 8);
        uint8_t sig[64];
        tu_hex(sig, v->sig_hex);
        assert_memory_equal(dec + 12, sig, 64);

        /* Independently: the signature is over "cosignature/v1\ntime <t>\n" || text. */
        buf m = {0};
        bputs(&m, "cosignature/v1\ntime 1767139200\n");
        bputs(&m, v->text);
        assert_int_equal(crypto_sign_verify_detached(sig, (const uint8_t *)m.p, m.len, want.pub), 0);
        free(m.p);

        /* And the note verifies with the cosigner key alone. */
        const char *lines[] = {v->line};
        buf nb = note_of(v->text, lines, 1);
        tl_sigcheck r;
        assert_int_equal(open_note(nb.p, nb.len, &want, 1, &r, &d), TL_OK);
        assert_true(r.ok);
        assert_true(r.time == COSIG_TIME);
        free(nb.p);
        tl_skey_wipe(&k);
    }
}

static void test_cosig_witness_note(void **state)
{
    (void)state;
    /* The 346-byte skylight checkpoint: a 0x05 log line (unknown, ignored) + the witness line. */
    const char *lines[] = {ROME_LOG_LINE, WITNESS_LINE};
    buf b = note_of(ROME_TEXT, lines, 2);
    assert_int_equal(b.len, 346);
    assert_sha256(b.p, b.len, "f5c6f0fbfc28b955b118e2f7f82f8e016d12567e8a1d113ad90a1016d2309dd7");
    tl_note n;
    tl_diag d = {{0}};
    assert_int_equal(tl_note_parse(&n, b.p, b.len, &d), TL_OK);
    assert_int_equal(n.nsigs, 2);
    assert_int_equal(n.sigs[0].id, 0x91507526);
    assert_int_equal(n.sigs[1].id, 0xb8a2cf20);
    tl_vkey wk = vkey(WITNESS_VKEY);
    tl_sigcheck r;
    assert_int_equal(tl_note_verify(&n, &wk, 1, &r, &d), TL_OK);
    assert_true(r.ok && r.time == COSIG_TIME);
    /* The 103-byte signed message. */
    assert_int_equal(strlen("cosignature/v1\ntime 1767139200\n") + strlen(ROME_TEXT), 103);

    /* The same key as type 0x01 (id 38236b08) is a different key: the line is ignored. */
    tl_vkey w01 = vkey(WITNESS_VKEY01);
    assert_true(memcmp(w01.pub, wk.pub, 32) == 0);
    assert_int_equal(tl_note_verify(&n, &w01, 1, &r, &d), TL_ERR_SIGNATURE);
    assert_non_null(strstr(d.msg, "no verifiable signatures"));
    assert_false(r.ok);
    /* Both trusted: the 0x04 one verifies, the 0x01 one has no line. */
    tl_vkey both[2] = {w01, wk};
    tl_sigcheck rr[2];
    assert_int_equal(tl_note_verify(&n, both, 2, rr, &d), TL_OK);
    assert_false(rr[0].ok);
    assert_true(rr[1].ok);
    free(b.p);

    /* The mirror checkpoint file: 201 bytes. */
    const char *ml[] = {MIRROR_LINE};
    buf mb = note_of(ROME300_TEXT, ml, 1);
    assert_int_equal(mb.len, 201);
    assert_sha256(mb.p, mb.len, "d37ad4091828765077feca2d13144ad113fccbbed6c9c07a7c025dd8a22eb499");
    free(mb.p);
}

static void test_cosig_negative(void **state)
{
    (void)state;
    tl_diag d = {{0}};
    tl_sigcheck r;
    /* witness2's line over milan2026h1 must not verify for rome2026h1 (same root). */
    tl_vkey w2 = vkey(WITNESS2_VKEY);
    const char *l2[] = {WITNESS2_LINE};
    buf b = note_of(ROME_TEXT, l2, 1);
    assert_int_equal(open_note(b.p, b.len, &w2, 1, &r, &d), TL_ERR_SIGNATURE);
    assert_non_null(strstr(d.msg, "invalid signature for key witness2.example.org+2e55b896"));
    free(b.p);

    /* A type 0x01 signature by the same key under the 0x01 id: ignored by the 0x04 verifier. */
    tl_skey k01 = seed_key("skylight test witness key", "witness.example.org", TL_KEY_ED25519);
    tl_vkey wk = vkey(WITNESS_VKEY);
    char line[TL_SIGLINE_MAX];
    size_t len = 0;
    assert_int_equal(tl_note_sigline(line, &len, S(ROME_TEXT), &k01, 0, &d), TL_OK);
    const char *l01[] = {line};
    buf c = note_of(ROME_TEXT, l01, 1);
    assert_int_equal(open_note(c.p, c.len, &wk, 1, &r, &d), TL_ERR_SIGNATURE);
    assert_non_null(strstr(d.msg, "no verifiable signatures"));
    tl_vkey w01 = vkey(WITNESS_VKEY01);
    assert_int_equal(open_note(c.p, c.len, &w01, 1, &r, &d), TL_OK);
    free(c.p);

    /* A 68-byte plain Ed25519 field forged under the 0x04 id: matches, fails (wrong length). */
    tl_skey forged = k01;
    forged.vkey.id = wk.id;
    assert_int_equal(tl_note_sigline(line, &len, S(ROME_TEXT), &forged, 0, &d), TL_OK);
    const char *lf[] = {line};
    buf f = note_of(ROME_TEXT, lf, 1);
    assert_int_equal(open_note(f.p, f.len, &wk, 1, &r, &d), TL_ERR_SIGNATURE);
    assert_non_null(strstr(d.msg, "invalid signature"));
    free(f.p);
    /* And the other way round: a 76-byte cosignature under the 0x01 id fails the 0x01 key. */
    tl_skey k04 = seed_key("skylight test witness key", "witness.example.org", TL_KEY_COSIG_V1);
    k04.vkey.id = w01.id;
    assert_int_equal(tl_note_sigline(line, &len, S(ROME_TEXT), &k04, COSIG_TIME, &d), TL_OK);
    const char *lg[] = {line};
    buf g = note_of(ROME_TEXT, lg, 1);
    assert_int_equal(open_note(g.p, g.len, &w01, 1, &r, &d), TL_ERR_SIGNATURE);
    assert_non_null(strstr(d.msg, "invalid signature"));
    free(g.p);
    tl_skey_wipe(&k01);
    tl_skey_wipe(&k04);
    tl_skey_wipe(&forged);
}

/* Builds a cosignature line at an arbitrary time (bypassing tl_note_sigline's check). */
static void raw_cosig_line(buf *out, const tl_skey *k, const char *text, uint64_t t)
{
    char num[21];
    tl_format_u64(num, t);
    buf m = {0};
    bputs(&m, "cosignature/v1\ntime ");
    bputs(&m, num);
    bputs(&m, "\n");
    bputs(&m, text);
    uint8_t payload[76];
    for (int i = 0; i < 4; i++)
        payload[i] = (uint8_t)(k->vkey.id >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        payload[4 + i] = (uint8_t)(t >> (56 - 8 * i));
    crypto_sign_detached(payload + 12, NULL, (const uint8_t *)m.p, m.len, k->sk);
    char b64[105];
    tl_b64_encode(b64, payload, 76);
    bputs(out, "\xe2\x80\x94 ");
    bputs(out, k->vkey.name);
    bputs(out, " ");
    bputs(out, b64);
    bputs(out, "\n");
    free(m.p);
}

static void test_cosig_time_limit(void **state)
{
    (void)state;
    tl_skey k = seed_key("skylight test witness key", "witness.example.org", TL_KEY_COSIG_V1);
    tl_diag d = {{0}};
    tl_sigcheck r;
    /* 2^63-1 is the largest valid time... */
    buf ok = {0};
    bputs(&ok, ROME_TEXT);
    bputs(&ok, "\n");
    raw_cosig_line(&ok, &k, ROME_TEXT, (uint64_t)INT64_MAX);
    assert_int_equal(open_note(ok.p, ok.len, &k.vkey, 1, &r, &d), TL_OK);
    assert_true(r.time == (uint64_t)INT64_MAX);
    /* ...and tl_note_sigline produces the same line. */
    char line[TL_SIGLINE_MAX];
    size_t len = 0;
    assert_int_equal(tl_note_sigline(line, &len, S(ROME_TEXT), &k, (uint64_t)INT64_MAX, &d), TL_OK);
    assert_string_equal(line, ok.p + strlen(ROME_TEXT) + 1);
    free(ok.p);
    /* 2^63 and 2^64-1, validly signed, are rejected. */
    uint64_t bad[] = {(uint64_t)INT64_MAX + 1, UINT64_MAX};
    for (size_t i = 0; i < 2; i++) {
        buf b = {0};
        bputs(&b, ROME_TEXT);
        bputs(&b, "\n");
        raw_cosig_line(&b, &k, ROME_TEXT, bad[i]);
        r.ok = true;
        assert_int_equal(open_note(b.p, b.len, &k.vkey, 1, &r, &d), TL_ERR_SIGNATURE);
        assert_non_null(strstr(d.msg, "invalid signature"));
        assert_false(r.ok);
        free(b.p);
        assert_int_equal(tl_note_sigline(line, &len, S(ROME_TEXT), &k, bad[i], &d), TL_ERR_FORMAT);
    }
    /* Time 0 is fine. */
    assert_int_equal(tl_note_sigline(line, &len, S(ROME_TEXT), &k, 0, &d), TL_OK);
    buf z = {0};
    bputs(&z, ROME_TEXT);
    bputs(&z, "\n");
    bputs(&z, line);
    assert_int_equal(open_note(z.p, z.len, &k.vkey, 1, &r, &d), TL_OK);
    assert_true(r.ok && r.time == 0);
    free(z.p);
    tl_skey_wipe(&k);
}

static void test_size_limits(void **state)
{
    (void)state;
    tl_diag d = {{0}};
    tl_vkey pv = vkey(PETER_VKEY);
    tl_skey k;
    assert_int_equal(tl_skey_parse(&k, S(PETER_SKEY), &d), TL_OK);
    /* A note of exactly TL_NOTE_MAX bytes is accepted, one more byte is not. */
    char line[TL_SIGLINE_MAX];
    size_t line_len = 0;
    size_t text_len = TL_NOTE_MAX - 1 - (4 + 12 + 1 + 92 + 1);
    char *text = malloc(text_len + 2);
    assert_non_null(text);
    memset(text, 'a', text_len);
    text[text_len - 1] = '\n';
    assert_int_equal(tl_note_sigline(line, &line_len, text, text_len, &k, 0, &d), TL_OK);
    char *out = NULL;
    size_t outlen = 0;
    assert_int_equal(tl_note_sign(&out, &outlen, text, text_len, &k, &d), TL_OK);
    assert_int_equal(outlen, TL_NOTE_MAX);
    tl_sigcheck r;
    assert_int_equal(open_note(out, outlen, &pv, 1, &r, &d), TL_OK);
    free(out);
    text[text_len - 1] = 'a';
    text[text_len] = '\n';
    assert_int_equal(tl_note_sign(&out, &outlen, text, text_len + 1, &k, &d), TL_ERR_TOOBIG);
    assert_int_equal(tl_note_sigline(line, &line_len, text, text_len + 1, &k, 0, &d), TL_OK);
    buf b = {0};
    bput(&b, text, text_len + 1);
    bputs(&b, "\n");
    bputs(&b, line);
    assert_int_equal(b.len, TL_NOTE_MAX + 1);
    assert_int_equal(open_note(b.p, b.len, &pv, 1, &r, &d), TL_ERR_TOOBIG);
    free(b.p);
    free(text);
    tl_skey_wipe(&k);

    /* A post-quantum-sized line (3.3 kB of base64) from an unknown key is parsed and ignored;
     * it spans many validation chunks. */
    uint8_t big[2484];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 131 + 7);
    char b64[3313];
    assert_int_equal(tl_b64_encode(b64, big, sizeof big), 3312);
    buf c = {0};
    bputs(&c, T);
    bputs(&c, "\n\xe2\x80\x94 mldsa.example/w ");
    bputs(&c, b64);
    bputs(&c, "\n");
    bputs(&c, P);
    assert_int_equal(open_note(c.p, c.len, &pv, 1, &r, &d), TL_OK);
    /* A canonical padded quantum "xxA=" ending the first 256-char validation chunk is still
     * padding in the middle of the field: malformed. */
    char *eq = strstr(c.p, b64) + 256 - 1;
    eq[-1] = 'A';
    eq[0] = '=';
    assert_int_equal(open_note(c.p, c.len, &pv, 1, &r, &d), TL_ERR_FORMAT);
    eq[0] = 'A';
    assert_int_equal(open_note(c.p, c.len, &pv, 1, &r, &d), TL_OK);
    eq[1] = '=';
    assert_int_equal(open_note(c.p, c.len, &pv, 1, &r, &d), TL_ERR_FORMAT);
    free(c.p);
}

static void test_sig_line_shapes(void **state)
{
    (void)state;
    tl_vkey pv = vkey(PETER_VKEY);
    tl_diag d = {{0}};
    tl_sigcheck r;
    struct {
        const char *line;
        tl_err want;
    } cases[] = {
        {"\xe2\x80\x94 Name\n", TL_ERR_FORMAT},                 /* no base64 */
        {"\xe2\x80\x94 Name \n", TL_ERR_FORMAT},                /* empty base64 */
        {"\xe2\x80\x94  AAAAAAA=\n", TL_ERR_FORMAT},            /* empty name */
        {"\xe2\x80\x94 a+b AAAAAAA=\n", TL_ERR_FORMAT},         /* '+' in name */
        {"\xe2\x80\x94 a\xc2\xa0" "b AAAAAAA=\n", TL_ERR_FORMAT}, /* U+00A0 in name */
        {"\xe2\x80\x94 Name AAAA\n", TL_ERR_FORMAT},            /* 3 bytes */
        {"\xe2\x80\x94 Name AAAAAA==\n", TL_ERR_FORMAT},        /* 4 bytes */
        {"\xe2\x80\x94 Name AAAAAAA=\n", TL_ERR_SIGNATURE},     /* 5 bytes: ok, unknown key */
        {"\xe2\x80\x94 Name AAAAAAB=\n", TL_ERR_FORMAT},        /* trailing bits */
        {"\xe2\x80\x94 Name AAAAAAA= \n", TL_ERR_FORMAT},       /* trailing space */
        {"\xe2\x80\x94 Name AAAA AAA=\n", TL_ERR_FORMAT},       /* inner space */
        {"\xe2\x80\x94 Name AAAAAAA\n", TL_ERR_FORMAT},         /* unpadded */
        {"\xe2\x80\x94 Name AAAAAA-_\n", TL_ERR_FORMAT},        /* URL-safe */
        {"\xe2\x80\x94 Name AAAA\303\251A=\n", TL_ERR_FORMAT}, /* UTF-8 inside base64 */
        {"\xe2\x80\x94Name AAAAAAA=\n", TL_ERR_FORMAT},         /* no space after dash */
        {"-- Name AAAAAAA=\n", TL_ERR_FORMAT},                  /* ASCII dashes */
        {"\xe2\x80\x93 Name AAAAAAA=\n", TL_ERR_FORMAT},        /* en dash */
        {" \xe2\x80\x94 Name AAAAAAA=\n", TL_ERR_FORMAT},       /* leading space */
        {"\xe2\x80\x94 Name AAAAAAA=\r\n", TL_ERR_FORMAT},      /* CR */
        {"\xe2\x80\x94 Name AAAAAAA=\n\n", TL_ERR_FORMAT},      /* trailing empty line */
        {"\xe2\x80\x94 \xe2\x80\x8b AAAAAAA=\n", TL_ERR_SIGNATURE}, /* U+200B is a valid name */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf b = {0};
        bputs(&b, T);
        bputs(&b, "\n");
        bputs(&b, cases[i].line);
        tl_err e = open_note(b.p, b.len, &pv, 1, &r, &d);
        if (e != cases[i].want)
            fail_msg("case %zu: got %d (%s), want %d", i, (int)e, d.msg, (int)cases[i].want);
        /* With a valid Peter line first, unknown-but-well-formed lines are harmless. */
        buf c = {0};
        bputs(&c, T);
        bputs(&c, "\n");
        bputs(&c, P);
        bputs(&c, cases[i].line);
        e = open_note(c.p, c.len, &pv, 1, &r, &d);
        assert_int_equal(e, cases[i].want == TL_ERR_SIGNATURE ? TL_OK : TL_ERR_FORMAT);
        free(b.p);
        free(c.p);
    }
}

static void test_text_shapes(void **state)
{
    (void)state;
    tl_skey k;
    tl_diag d = {{0}};
    assert_int_equal(tl_skey_parse(&k, S(PETER_SKEY), &d), TL_OK);
    tl_vkey pv = vkey(PETER_VKEY);
    tl_sigcheck r;
    /* Texts with empty lines, a lone LF, and multibyte characters sign and open. */
    static const char *good[] = {"\n", "a\n\nb\n", "a\n\n", "a\n\n\n", "\xe2\x80\x94 x y\n\n",
                                 "\xf0\x9f\x94\x91\n"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char *out = NULL;
        size_t outlen = 0;
        assert_int_equal(tl_note_sign(&out, &outlen, good[i], strlen(good[i]), &k, &d), TL_OK);
        tl_note n;
        assert_int_equal(tl_note_parse(&n, out, outlen, &d), TL_OK);
        assert_int_equal(n.text_len, strlen(good[i]));
        assert_memory_equal(n.text, good[i], n.text_len);
        assert_int_equal(tl_note_verify(&n, &pv, 1, &r, &d), TL_OK);
        free(out);
    }
    /* Unsignable texts. */
    static const char *bad[] = {"", "no newline", "a\r\n", "tab\there\n", "\xff\n",
                                "\xed\xa0\x80\n", "\xe2\x80\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = NULL;
        size_t outlen = 0;
        assert_int_equal(tl_note_sign(&out, &outlen, bad[i], strlen(bad[i]), &k, &d),
                         TL_ERR_FORMAT);
        assert_null(out);
    }
    /* tl_note_sign needs a 0x01 key. */
    tl_skey w = seed_key("skylight test witness key", "witness.example.org", TL_KEY_COSIG_V1);
    char *out = NULL;
    size_t outlen = 0;
    assert_int_equal(tl_note_sign(&out, &outlen, S(ROME_TEXT), &w, &d), TL_ERR_USAGE);
    /* Verify rejects a key of an unknown type. */
    tl_note n;
    buf b = note_of(T, (const char *const[]){P}, 1);
    assert_int_equal(tl_note_parse(&n, b.p, b.len, &d), TL_OK);
    tl_vkey odd = pv;
    odd.type = 0x02;
    assert_int_equal(tl_note_verify(&n, &odd, 1, &r, &d), TL_ERR_USAGE);
    /* NULL results are fine. */
    assert_int_equal(tl_note_verify(&n, &pv, 1, NULL, &d), TL_OK);
    assert_int_equal(tl_note_verify(&n, &pv, 1, NULL, NULL), TL_OK);
    free(b.p);
    /* A CR anywhere (text or signature block) is malformed; the diagnostic names the byte. */
    buf c = {0};
    bputs(&c, "a\r\n\n");
    bputs(&c, P);
    assert_int_equal(open_note(c.p, c.len, &pv, 1, &r, &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "note byte 1"));
    free(c.p);
    tl_skey_wipe(&k);
    tl_skey_wipe(&w);
}

int main(void)
{
    if (tl_init() != TL_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peter_sign),        cmocka_unit_test(test_peter_parse_fields),
        cmocka_unit_test(test_open_table),        cmocka_unit_test(test_open_bad_sig),
        cmocka_unit_test(test_published_notes),   cmocka_unit_test(test_parse_only),
        cmocka_unit_test(test_cosig_recreate),    cmocka_unit_test(test_cosig_witness_note),
        cmocka_unit_test(test_cosig_negative),    cmocka_unit_test(test_cosig_time_limit),
        cmocka_unit_test(test_size_limits),       cmocka_unit_test(test_sig_line_shapes),
        cmocka_unit_test(test_text_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
