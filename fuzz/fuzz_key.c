/* fuzz_key.c - libFuzzer target for the key text forms (key.c) and the text primitives they
 * rest on (text.c).
 *
 * Properties (a violation traps):
 *   - a vkey or skey that parses formats back to the input (the id lower-cased);
 *   - a parsed skey's public half matches its seed, and its vkey text parses to the same key;
 *   - a key made from (seed = first 32 bytes, name = the rest) round-trips both text forms;
 *   - a canonical decimal or base64 string that parses re-encodes to the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Input equals formatted text, up to the case of the 8 id digits at offset id_at. */
static void check_same_text(const char *in, size_t len, const char *out, size_t outlen,
                            size_t id_at)
{
    check(len == outlen);
    for (size_t i = 0; i < len; i++) {
        if (i >= id_at && i < id_at + 8)
            check(lower(in[i]) == out[i]);
        else
            check(in[i] == out[i]);
    }
}

static void fuzz_vkey(const char *s, size_t len)
{
    tl_vkey k;
    if (tl_vkey_parse(&k, s, len, NULL) != TL_OK)
        return;
    check(k.type == TL_KEY_ED25519 || k.type == TL_KEY_COSIG_V1);
    check(k.name_len <= TL_KEYNAME_MAX && tl_keyname_valid(k.name, k.name_len));
    check(k.id == tl_key_id(k.name, k.name_len, k.type, k.pub));
    char out[TL_VKEY_TEXT_MAX];
    size_t n = tl_vkey_format(out, &k);
    check(n < TL_VKEY_TEXT_MAX && out[n] == '\0');
    check_same_text(s, len, out, n, k.name_len + 1);
    tl_vkey again;
    check(tl_vkey_parse(&again, out, n, NULL) == TL_OK);
    check(tl_vkey_equal(&k, &again));
}

static void check_skey_consistent(const tl_skey *k)
{
    uint8_t pk[32], sk[64];
    check(crypto_sign_seed_keypair(pk, sk, k->sk) == 0);
    check(memcmp(pk, k->vkey.pub, 32) == 0 && memcmp(sk, k->sk, 64) == 0);
    sodium_memzero(sk, sizeof sk);
    char vt[TL_VKEY_TEXT_MAX];
    size_t vn = tl_vkey_format(vt, &k->vkey);
    tl_vkey v;
    check(tl_vkey_parse(&v, vt, vn, NULL) == TL_OK);
    check(tl_vkey_equal(&v, &k->vkey));
}

static void fuzz_skey(const char *s, size_t len)
{
    tl_skey k;
    if (tl_skey_parse(&k, s, len, NULL) != TL_OK)
        return;
    check_skey_consistent(&k);
    char out[TL_SKEY_TEXT_MAX];
    size_t n = tl_skey_format(out, &k);
    check(n < TL_SKEY_TEXT_MAX && out[n] == '\0');
    check_same_text(s, len, out, n, 12 + k.vkey.name_len + 1);
    sodium_memzero(out, sizeof out);
    tl_skey_wipe(&k);
}

static void fuzz_from_seed(const uint8_t *data, size_t size)
{
    if (size < TL_SEED_LEN + 1)
        return;
    const char *name = (const char *)data + TL_SEED_LEN;
    size_t name_len = size - TL_SEED_LEN;
    uint8_t type = (data[0] & 1) ? TL_KEY_COSIG_V1 : TL_KEY_ED25519;
    tl_skey k;
    tl_err e = tl_skey_from_seed(&k, name, name_len, type, data, NULL);
    bool valid = name_len <= TL_KEYNAME_MAX && tl_keyname_valid(name, name_len);
    check((e == TL_OK) == valid);
    if (e != TL_OK)
        return;
    check(memcmp(k.sk, data, TL_SEED_LEN) == 0);
    check_skey_consistent(&k);
    char st[TL_SKEY_TEXT_MAX];
    size_t sn = tl_skey_format(st, &k);
    tl_skey back;
    check(tl_skey_parse(&back, st, sn, NULL) == TL_OK);
    check(tl_vkey_equal(&back.vkey, &k.vkey) && memcmp(back.sk, k.sk, 64) == 0);
    sodium_memzero(st, sizeof st);
    tl_skey_wipe(&back);
    tl_skey_wipe(&k);
}

static void fuzz_text(const char *s, size_t len)
{
    uint64_t v;
    if (tl_parse_u64(&v, s, len) == TL_OK) {
        char out[21];
        size_t n = tl_format_u64(out, v);
        check(n == len && memcmp(out, s, len) == 0);
    }
    size_t cap = len / 4 * 3 + 3;
    uint8_t *dec = malloc(cap);
    check(dec != NULL);
    size_t dn = 0;
    if (tl_b64_decode(dec, cap, &dn, s, len) == TL_OK) {
        check(tl_b64_len(dn) == len);
        char *enc = malloc(len + 1);
        check(enc != NULL);
        check(tl_b64_encode(enc, dec, dn) == len);
        check(memcmp(enc, s, len) == 0);
        free(enc);
        /* One byte less room must be refused, not overrun. */
        if (dn > 0)
            check(tl_b64_decode(dec, dn - 1, &dn, s, len) == TL_ERR_TOOBIG);
    }
    free(dec);
    bool utf8 = tl_utf8_valid((const uint8_t *)s, len);
    if (tl_note_text_valid((const uint8_t *)s, len))
        check(utf8);
    if (tl_keyname_valid(s, len))
        check(utf8 && len > 0 && memchr(s, '+', len) == NULL && memchr(s, ' ', len) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (tl_init() != TL_OK)
        __builtin_trap();
    /* Exactly-sized copy so ASan sees any over-read. */
    char *s = malloc(size ? size : 1);
    check(s != NULL);
    if (size)
        memcpy(s, data, size);
    fuzz_vkey(s, size);
    fuzz_skey(s, size);
    fuzz_from_seed((const uint8_t *)s, size);
    fuzz_text(s, size);
    free(s);
    return 0;
}
