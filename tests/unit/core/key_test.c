/* key_test.c - vkey/skey parse and format, key ids, derivation from seeds (key.c);
 * vectors from reference/test-vectors.md §2, §3 and §6.1. */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "testutil.h"
#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/text.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static const char PETER_SKEY[] =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char PETER_VKEY[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

/* A key derived from a seed string (seed = SHA-256(string)) or a hex seed. */
struct seed_vec {
    const char *seed_str; /* NULL: use seed_hex */
    const char *seed_hex;
    const char *name;
    uint8_t type;
    const char *pub_hex;
    uint32_t id;
    const char *vkey;
    const char *skey; /* NULL if not published */
};

static const struct seed_vec SEEDS[] = {
    {NULL, "810a1402d5146c8d84f2443330f54080ebf98ee17d9c74f6252fc5d5c7283173", "PeterNeumann",
     TL_KEY_ED25519, "1a5cd907143c384c41e830c5bce12aa8817ec5649aaabf2c31388b35b2d744d6",
     0xc74f20a3, PETER_VKEY, PETER_SKEY},
    {"treatylog test log key", "6a1a1083b31137b42b9c5184a1fa3c85b49d732b3ea7598f4df2d45355965b79",
     "treatylog.example/test-log", TL_KEY_ED25519,
     "0eb83518e4a603ef6c7a752c53c0ba057ffaeed1f93cb400fa3b776764718b74", 0xb32a3142,
     "treatylog.example/test-log+b32a3142+AQ64NRjkpgPvbHp1LFPAugV/+u7R+Ty0APo7d2dkcYt0",
     "PRIVATE+KEY+treatylog.example/test-log+b32a3142+AWoaEIOzETe0K5xRhKH6PIW0nXMrPqdZj03y1FNVllt5"},
    {"treatylog test witness key",
     "c91d7996cadf76a16d1a73b14970453d1a2de8d348ea25d5d1281dd2836ebf5e",
     "treatylog.example/test-witness", TL_KEY_COSIG_V1,
     "e1eb8dafec7b1ce6cbe91dbf140b58d16fc7f47d68ff167d25e8f09a62ae1f68", 0x6a9442cd,
     "treatylog.example/test-witness+6a9442cd+BOHrja/sexzmy+kdvxQLWNFvx/R9aP8WfSXo8Jpirh9o",
     "PRIVATE+KEY+treatylog.example/test-witness+6a9442cd+"
     "BMkdeZbK33ahbRpzsUlwRT0aLejTSOol1dEoHdKDbr9e"},
    {"skylight test witness key",
     "14731ce6be532a0bcc9170c0352dc3c2477dde5f86324cd30fe00ad7d430df30", "witness.example.org",
     TL_KEY_COSIG_V1, "52cddf28a449f16454026dae787f0a2637668ce4a32edc969f8fed7076f2a50d",
     0xb8a2cf20, "witness.example.org+b8a2cf20+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN",
     NULL},
    {"skylight test witness key",
     "14731ce6be532a0bcc9170c0352dc3c2477dde5f86324cd30fe00ad7d430df30", "witness.example.org",
     TL_KEY_ED25519, "52cddf28a449f16454026dae787f0a2637668ce4a32edc969f8fed7076f2a50d",
     0x38236b08, "witness.example.org+38236b08+AVLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN",
     NULL},
    {"skylight test mirror key", "da2f0a06d67e9058ba1bb1a66d6b0c2885b85ea2f013faea7cf07e3427ca1a77",
     "mirror.example.org", TL_KEY_COSIG_V1,
     "00238dc87d1b2633d2c26c271ec02e16dd02dcf6a2fd2e9dbcd2975bcca7de0e", 0x3fb148ef,
     "mirror.example.org+3fb148ef+BAAjjch9GyYz0sJsJx7ALhbdAtz2ov0unbzSl1vMp94O", NULL},
    {"skylight test mirror key", "da2f0a06d67e9058ba1bb1a66d6b0c2885b85ea2f013faea7cf07e3427ca1a77",
     "mirror.example.org", TL_KEY_ED25519,
     "00238dc87d1b2633d2c26c271ec02e16dd02dcf6a2fd2e9dbcd2975bcca7de0e", 0x82c2f82c, NULL, NULL},
    {"skylight test witness2 key",
     "5442de70e9b4e0285f888433ec089313d80216e04c9746bd9ba68118771b978a", "witness2.example.org",
     TL_KEY_COSIG_V1, "867b7e971e41677ad087ea41e4bd2009e634e0998cc0e77bc959ba0bb3fdb8bd",
     0x2e55b896, "witness2.example.org+2e55b896+BIZ7fpceQWd60IfqQeS9IAnmNOCZjMDne8lZuguz/bi9",
     NULL},
};

static void test_seed_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof SEEDS / sizeof SEEDS[0]; i++) {
        const struct seed_vec *v = &SEEDS[i];
        uint8_t seed[32];
        assert_int_equal(tu_hex(seed, v->seed_hex), 32);
        if (v->seed_str) {
            uint8_t h[32];
            tl_sha256(h, v->seed_str, strlen(v->seed_str));
            assert_memory_equal(h, seed, 32);
        }
        tl_skey k;
        tl_diag d = {{0}};
        assert_int_equal(tl_skey_from_seed(&k, v->name, strlen(v->name), v->type, seed, &d),
                         TL_OK);
        assert_hash_hex(k.vkey.pub, v->pub_hex);
        assert_memory_equal(k.sk, seed, 32);
        assert_memory_equal(k.sk + 32, k.vkey.pub, 32);
        if (k.vkey.id != v->id)
            fail_msg("vector %zu: id %08x, want %08x", i, k.vkey.id, v->id);
        assert_int_equal(tl_key_id(v->name, strlen(v->name), v->type, k.vkey.pub), v->id);
        assert_int_equal(k.vkey.type, v->type);
        assert_string_equal(k.vkey.name, v->name);
        assert_int_equal(k.vkey.name_len, strlen(v->name));

        char vbuf[TL_VKEY_TEXT_MAX];
        size_t vn = tl_vkey_format(vbuf, &k.vkey);
        assert_int_equal(vn, strlen(vbuf));
        if (v->vkey) {
            assert_string_equal(vbuf, v->vkey);
            tl_vkey pv;
            assert_int_equal(tl_vkey_parse(&pv, v->vkey, strlen(v->vkey), &d), TL_OK);
            assert_true(tl_vkey_equal(&pv, &k.vkey));
            char again[TL_VKEY_TEXT_MAX];
            assert_int_equal(tl_vkey_format(again, &pv), strlen(v->vkey));
            assert_string_equal(again, v->vkey);
        }
        char sbuf[TL_SKEY_TEXT_MAX];
        size_t sn = tl_skey_format(sbuf, &k);
        assert_int_equal(sn, strlen(sbuf));
        if (v->skey) {
            assert_string_equal(sbuf, v->skey);
        }
        /* Whatever we format parses back to the same key. */
        tl_skey pk;
        assert_int_equal(tl_skey_parse(&pk, sbuf, sn, &d), TL_OK);
        assert_true(tl_vkey_equal(&pk.vkey, &k.vkey));
        assert_memory_equal(pk.sk, k.sk, 64);
        tl_skey_wipe(&pk);
        tl_skey_wipe(&k);
    }
}

static void test_parse_published(void **state)
{
    (void)state;
    struct {
        const char *vkey;
        const char *name;
        uint32_t id;
        uint8_t type;
        const char *pub_hex;
    } cases[] = {
        {"EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop", "EnochRoot",
         0xaf0cfe78, 1, "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"},
        {"example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
         "example.com/foo", 0x530d903a, 1,
         "e932791ae6e7a840a46164c904786426d5e7821dd8b29a00d61cae72afdd4da4"},
        /* The base64 part contains '+': split on the first two only. */
        {"sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8", "sum.golang.org",
         0x033de0ae, 1, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tl_vkey k;
        tl_diag d = {{0}};
        size_t n = strlen(cases[i].vkey);
        assert_int_equal(tl_vkey_parse(&k, cases[i].vkey, n, &d), TL_OK);
        assert_string_equal(k.name, cases[i].name);
        assert_int_equal(k.id, cases[i].id);
        assert_int_equal(k.type, cases[i].type);
        if (cases[i].pub_hex)
            assert_hash_hex(k.pub, cases[i].pub_hex);
        char out[TL_VKEY_TEXT_MAX];
        assert_int_equal(tl_vkey_format(out, &k), n);
        assert_string_equal(out, cases[i].vkey);
    }
}

static void test_peter_skey(void **state)
{
    (void)state;
    tl_skey k;
    tl_diag d = {{0}};
    assert_int_equal(tl_skey_parse(&k, S(PETER_SKEY), &d), TL_OK);
    tl_vkey v;
    assert_int_equal(tl_vkey_parse(&v, S(PETER_VKEY), &d), TL_OK);
    assert_true(tl_vkey_equal(&k.vkey, &v));
    char out[TL_SKEY_TEXT_MAX];
    assert_int_equal(tl_skey_format(out, &k), strlen(PETER_SKEY));
    assert_string_equal(out, PETER_SKEY);
    tl_skey_wipe(&k);
    uint8_t zero[sizeof k];
    memset(zero, 0, sizeof zero);
    assert_memory_equal(&k, zero, sizeof k);
}

/* Go TestNewVerifier: every proper substring and every single-byte increment is rejected. */
static void expect_all_mutations_rejected(const char *text, bool skey)
{
    size_t len = strlen(text);
    char buf[TL_SKEY_TEXT_MAX + 8];
    assert_true(len < sizeof buf);
    size_t tried = 0;
    for (size_t i = 0; i < len; i++) {
        for (size_t j = i + 1; j <= len; j++) {
            if (i == 0 && j == len)
                continue;
            tl_vkey v;
            tl_skey k;
            tl_err e = skey ? tl_skey_parse(&k, text + i, j - i, NULL)
                            : tl_vkey_parse(&v, text + i, j - i, NULL);
            if (e != TL_ERR_FORMAT)
                fail_msg("substring [%zu,%zu) of %s accepted", i, j, text);
            tried++;
        }
    }
    for (size_t i = 0; i < len; i++) {
        memcpy(buf, text, len);
        buf[i] = (char)(buf[i] + 1);
        tl_vkey v;
        tl_skey k;
        tl_diag d = {{0}};
        tl_err e = skey ? tl_skey_parse(&k, buf, len, &d) : tl_vkey_parse(&v, buf, len, &d);
        if (e != TL_ERR_FORMAT)
            fail_msg("increment at %zu of %s accepted", i, text);
        assert_true(d.msg[0] != '\0');
        tried++;
    }
    assert_true(tried > len * (len - 1) / 2);
}

static void test_vkey_mutations(void **state)
{
    (void)state;
    expect_all_mutations_rejected(PETER_VKEY, false);
    expect_all_mutations_rejected(
        "treatylog.example/test-witness+6a9442cd+BOHrja/sexzmy+kdvxQLWNFvx/R9aP8WfSXo8Jpirh9o",
        false);
}

static void test_skey_mutations(void **state)
{
    (void)state;
    expect_all_mutations_rejected(PETER_SKEY, true);
}

/* Rebuilds "<name>+<id over the decoded payload>+<b64>" so only the named defect remains. */
static void vkey_with_recomputed_id(char *out, size_t cap, const char *name, const char *b64,
                                    uint32_t want_id)
{
    uint8_t payload[64];
    size_t n = 0;
    assert_int_equal(tl_b64_decode(payload, sizeof payload, &n, b64, strlen(b64)), TL_OK);
    assert_true(n >= 1);
    /* The id hash covers name || LF || payload, whatever the payload's length. */
    uint8_t tail[65];
    tail[0] = '\n';
    memcpy(tail + 1, payload, n);
    uint8_t h[32];
    tl_sha256_2(h, name, strlen(name), tail, n + 1);
    uint32_t id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    if (want_id != 0)
        assert_int_equal(id, want_id);
    int w = snprintf(out, cap, "%s+%08x+%s", name, id, b64);
    assert_true(w > 0 && (size_t)w < cap);
}

static void test_vkey_go_rejects(void **state)
{
    (void)state;
    char buf[256];
    tl_vkey k;
    tl_diag d = {{0}};
    /* Wrong key length, id recomputed (Go TestNewVerifier). Its last quantum "EY==" also has
     * non-zero trailing bits, which Go ignores and we reject: either way it is refused. */
    assert_int_equal(
        tl_vkey_parse(&k, S("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="),
                      &d),
        TL_ERR_FORMAT);
    /* The same defect with canonical base64 (34 bytes) and a recomputed id. */
    vkey_with_recomputed_id(buf, sizeof buf, "PeterNeumann",
                            "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBA==", 0);
    assert_int_equal(tl_vkey_parse(&k, buf, strlen(buf), &d), TL_ERR_FORMAT);
    /* Unknown algorithm, id recomputed. */
    vkey_with_recomputed_id(buf, sizeof buf, "PeterNeumann",
                            "ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", 0x173116ae);
    assert_int_equal(tl_vkey_parse(&k, buf, strlen(buf), &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "type"));
    /* A type 0x04 payload under the 0x01 id (and vice versa) does not match. */
    assert_int_equal(
        tl_vkey_parse(&k, S("witness.example.org+38236b08+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN"),
                      &d),
        TL_ERR_FORMAT);
    assert_int_equal(
        tl_vkey_parse(&k, S("witness.example.org+b8a2cf20+AVLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN"),
                      &d),
        TL_ERR_FORMAT);
}

static void test_vkey_misc(void **state)
{
    (void)state;
    tl_vkey k;
    tl_diag d = {{0}};
    /* Upper-case hex is accepted (as Go), we emit lower case. */
    assert_int_equal(tl_vkey_parse(&k, S("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"), &d),
                     TL_OK);
    char out[TL_VKEY_TEXT_MAX];
    tl_vkey_format(out, &k);
    assert_string_equal(out, PETER_VKEY);
    static const char *bad[] = {
        "",
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+0c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20g3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW=",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq_LDE4izWy10TW",
        " PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (tl_vkey_parse(&k, bad[i], strlen(bad[i]), &d) != TL_ERR_FORMAT)
            fail_msg("accepted vkey %s", bad[i]);
    }
    /* A vkey is not an skey. */
    tl_skey sk;
    assert_int_equal(tl_skey_parse(&sk, S(PETER_VKEY), &d), TL_ERR_FORMAT);
    /* skey with the id of another key. */
    assert_int_equal(
        tl_skey_parse(&sk, S("PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"),
                      &d),
        TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "does not match"));
    /* skey under another name. */
    assert_int_equal(
        tl_skey_parse(&sk, S("PRIVATE+KEY+PeterNeuman+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"),
                      &d),
        TL_ERR_FORMAT);
    assert_int_equal(tl_skey_parse(&sk, S("private+key+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"), &d),
                     TL_ERR_FORMAT);
}

static void test_name_length(void **state)
{
    (void)state;
    uint8_t seed[32];
    memset(seed, 7, sizeof seed);
    char name[TL_KEYNAME_MAX + 2];
    memset(name, 'n', sizeof name);
    tl_skey k;
    tl_diag d = {{0}};
    assert_int_equal(tl_skey_from_seed(&k, name, TL_KEYNAME_MAX + 1, TL_KEY_ED25519, seed, &d),
                     TL_ERR_FORMAT);
    assert_int_equal(tl_skey_from_seed(&k, name, TL_KEYNAME_MAX, TL_KEY_ED25519, seed, &d), TL_OK);
    /* The longest key still fits the text buffers and round-trips. */
    char vt[TL_VKEY_TEXT_MAX];
    size_t vn = tl_vkey_format(vt, &k.vkey);
    assert_int_equal(vn, TL_VKEY_TEXT_MAX - 1);
    char st[TL_SKEY_TEXT_MAX];
    size_t sn = tl_skey_format(st, &k);
    assert_int_equal(sn, TL_SKEY_TEXT_MAX - 1);
    tl_vkey v;
    assert_int_equal(tl_vkey_parse(&v, vt, vn, &d), TL_OK);
    assert_true(tl_vkey_equal(&v, &k.vkey));
    tl_skey k2;
    assert_int_equal(tl_skey_parse(&k2, st, sn, &d), TL_OK);
    assert_memory_equal(k2.sk, k.sk, 64);
    /* A 256-byte name in a vkey is rejected even with a correct id. */
    char longtext[TL_VKEY_TEXT_MAX + 8];
    memcpy(longtext, "m", 1);
    memcpy(longtext + 1, vt, vn);
    /* Fix up the id for the longer name so only the length is wrong. */
    uint32_t id = tl_key_id(longtext, TL_KEYNAME_MAX + 1, TL_KEY_ED25519, k.vkey.pub);
    char hex[9];
    snprintf(hex, sizeof hex, "%08x", id);
    memcpy(longtext + TL_KEYNAME_MAX + 2, hex, 8);
    assert_int_equal(tl_vkey_parse(&v, longtext, vn + 1, &d), TL_ERR_FORMAT);
    assert_non_null(strstr(d.msg, "longer"));
    tl_skey_wipe(&k);
    tl_skey_wipe(&k2);
}

static void test_from_seed_rejects(void **state)
{
    (void)state;
    uint8_t seed[32] = {1};
    tl_skey k;
    memset(&k, 0xAB, sizeof k);
    tl_diag d = {{0}};
    assert_int_equal(tl_skey_from_seed(&k, S("ok"), 0x02, seed, &d), TL_ERR_FORMAT);
    assert_int_equal(tl_skey_from_seed(&k, S("ok"), 0x00, seed, &d), TL_ERR_FORMAT);
    assert_int_equal(tl_skey_from_seed(&k, S("a b"), 0x01, seed, &d), TL_ERR_FORMAT);
    assert_int_equal(tl_skey_from_seed(&k, S("a+b"), 0x01, seed, &d), TL_ERR_FORMAT);
    assert_int_equal(tl_skey_from_seed(&k, "", 0, 0x01, seed, &d), TL_ERR_FORMAT);
    assert_int_equal(k.vkey.type, 0xAB); /* untouched */
}

static void test_generate(void **state)
{
    (void)state;
    tl_skey a, b;
    tl_diag d = {{0}};
    assert_int_equal(tl_skey_generate(&a, S("gen.example/log"), TL_KEY_ED25519, &d), TL_OK);
    assert_int_equal(tl_skey_generate(&b, S("gen.example/log"), TL_KEY_ED25519, &d), TL_OK);
    assert_memory_not_equal(a.sk, b.sk, 64);
    assert_false(tl_vkey_equal(&a.vkey, &b.vkey));
    /* The generated pair is consistent: sign with sk, verify with pub. */
    uint8_t sig[64];
    crypto_sign_detached(sig, NULL, (const uint8_t *)"m", 1, a.sk);
    assert_int_equal(crypto_sign_verify_detached(sig, (const uint8_t *)"m", 1, a.vkey.pub), 0);
    assert_int_equal(a.vkey.id, tl_key_id(S("gen.example/log"), TL_KEY_ED25519, a.vkey.pub));
    /* And it survives its own text form. */
    char st[TL_SKEY_TEXT_MAX];
    size_t sn = tl_skey_format(st, &a);
    tl_skey c;
    assert_int_equal(tl_skey_parse(&c, st, sn, &d), TL_OK);
    assert_memory_equal(c.sk, a.sk, 64);
    assert_int_equal(tl_skey_generate(&c, S("bad name"), TL_KEY_ED25519, &d), TL_ERR_FORMAT);
    tl_skey_wipe(&a);
    tl_skey_wipe(&b);
    tl_skey_wipe(&c);
}

static void test_vkey_equal(void **state)
{
    (void)state;
    tl_vkey a, b;
    assert_int_equal(tl_vkey_parse(&a, S(PETER_VKEY), NULL), TL_OK);
    b = a;
    assert_true(tl_vkey_equal(&a, &b));
    b.pub[31] ^= 1;
    assert_false(tl_vkey_equal(&a, &b));
    b = a;
    b.type = TL_KEY_COSIG_V1;
    assert_false(tl_vkey_equal(&a, &b));
    b = a;
    b.id ^= 1;
    assert_false(tl_vkey_equal(&a, &b));
    b = a;
    b.name[0] = 'p';
    assert_false(tl_vkey_equal(&a, &b));
}

int main(void)
{
    if (tl_init() != TL_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_vectors),     cmocka_unit_test(test_parse_published),
        cmocka_unit_test(test_peter_skey),       cmocka_unit_test(test_vkey_mutations),
        cmocka_unit_test(test_skey_mutations),   cmocka_unit_test(test_vkey_go_rejects),
        cmocka_unit_test(test_vkey_misc),        cmocka_unit_test(test_name_length),
        cmocka_unit_test(test_from_seed_rejects), cmocka_unit_test(test_generate),
        cmocka_unit_test(test_vkey_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
