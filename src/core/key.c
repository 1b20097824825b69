/* key.c - signed-note Ed25519 keys (type 0x01, https://c2sp.org/signed-note) and
 * cosignature/v1 keys (type 0x04, https://c2sp.org/tlog-cosignature) in their text forms;
 * implements reference/c2sp-formats.md §3.2-§3.4.
 *
 *   vkey  <name> "+" <8 hex id> "+" base64( type[1] || pubkey[32] )          44 b64 chars
 *   skey  "PRIVATE+KEY+" <name> "+" <8 hex id> "+" base64( type[1] || seed[32] )
 *   id    = be32( SHA-256( name || 0x0A || type || pubkey )[0:4] )
 *
 * Names never contain '+', so the text splits on the first two (vkey) or four (skey) '+';
 * the base64 part may itself contain '+'. The skey's id is the id of the matching public key.
 */
#include "treatylog/key.h"

#include <string.h>

#include <sodium.h>

#include "treatylog/hash.h"
#include "treatylog/text.h"

#define KEY_B64_LEN 44 /* base64 of 1 + 32 bytes */
#define SKEY_PREFIX "PRIVATE+KEY+"
#define SKEY_PREFIX_LEN (sizeof SKEY_PREFIX - 1)

uint32_t tl_key_id(const char *name, size_t name_len, uint8_t type,
                   const uint8_t pub[static TL_PUBKEY_LEN])
{
    uint8_t tail[2 + TL_PUBKEY_LEN];
    tail[0] = '\n';
    tail[1] = type;
    memcpy(tail + 2, pub, TL_PUBKEY_LEN);
    uint8_t h[TL_HASH_LEN];
    tl_sha256_2(h, name, name_len, tail, sizeof tail);
    return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | (uint32_t)h[3];
}

static bool type_known(uint8_t type)
{
    return type == TL_KEY_ED25519 || type == TL_KEY_COSIG_V1;
}

/* Position of the first '+' in s[0..len), or len if none. */
static size_t find_plus(const char *s, size_t len)
{
    const char *p = memchr(s, '+', len);
    return p ? (size_t)(p - s) : len;
}

/* Parses exactly 8 hex digits (either case), as Go's strconv.ParseUint(s, 16, 32) with the
 * length check of x/mod NewVerifier. */
static bool parse_hex32(uint32_t *out, const char *s, size_t len)
{
    if (len != 8)
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < 8; i++) {
        char c = s[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return false;
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

static tl_err check_name(const char *name, size_t len, tl_diag *d)
{
    if (len > TL_KEYNAME_MAX)
        return tl_fail(d, TL_ERR_FORMAT, "key name longer than %d bytes", TL_KEYNAME_MAX);
    if (!tl_keyname_valid(name, len))
        return tl_fail(d, TL_ERR_FORMAT,
                       "invalid key name (empty, not UTF-8, or contains '+' or a space)");
    return TL_OK;
}

/* The common tail of both forms: <name> "+" <hex id> "+" <base64 33 bytes>. Splits s, checks
 * the name and the id syntax, decodes the payload. */
static tl_err parse_tail(const char **name, size_t *name_len, uint32_t *id,
                         uint8_t payload[1 + TL_PUBKEY_LEN], const char *s, size_t len,
                         tl_diag *d)
{
    size_t p1 = find_plus(s, len);
    if (p1 == len)
        return tl_fail(d, TL_ERR_FORMAT, "key has no '+' after the name");
    size_t rest = len - p1 - 1;
    size_t p2 = find_plus(s + p1 + 1, rest);
    if (p2 == rest)
        return tl_fail(d, TL_ERR_FORMAT, "key has no '+' after the key id");
    tl_err e = check_name(s, p1, d);
    if (e != TL_OK)
        return e;
    if (!parse_hex32(id, s + p1 + 1, p2))
        return tl_fail(d, TL_ERR_FORMAT, "key id is not 8 hex digits");
    const char *b64 = s + p1 + 1 + p2 + 1;
    size_t b64_len = rest - p2 - 1;
    size_t n = 0;
    if (b64_len != KEY_B64_LEN ||
        tl_b64_decode(payload, 1 + TL_PUBKEY_LEN, &n, b64, b64_len) != TL_OK ||
        n != 1 + TL_PUBKEY_LEN)
        return tl_fail(d, TL_ERR_FORMAT, "key is not base64 of a type byte and 32 bytes");
    if (!type_known(payload[0]))
        return tl_fail(d, TL_ERR_FORMAT, "unsupported key type 0x%02x", payload[0]);
    *name = s;
    *name_len = p1;
    return TL_OK;
}

tl_err tl_vkey_parse(tl_vkey *out, const char *text, size_t len, tl_diag *d)
{
    const char *name;
    size_t name_len;
    uint32_t id;
    uint8_t payload[1 + TL_PUBKEY_LEN];
    tl_err e = parse_tail(&name, &name_len, &id, payload, text, len, d);
    if (e != TL_OK)
        return tl_diag_prefix(d, e, "verifier key");
    if (tl_key_id(name, name_len, payload[0], payload + 1) != id)
        return tl_fail(d, TL_ERR_FORMAT, "verifier key: key id %08x does not match the key", id);
    memset(out, 0, sizeof *out);
    memcpy(out->name, name, name_len);
    out->name[name_len] = '\0';
    out->name_len = name_len;
    out->id = id;
    out->type = payload[0];
    memcpy(out->pub, payload + 1, TL_PUBKEY_LEN);
    return TL_OK;
}

tl_err tl_skey_parse(tl_skey *out, const char *text, size_t len, tl_diag *d)
{
    if (len < SKEY_PREFIX_LEN || memcmp(text, SKEY_PREFIX, SKEY_PREFIX_LEN) != 0)
        return tl_fail(d, TL_ERR_FORMAT, "signer key: does not start with PRIVATE+KEY+");
    const char *name;
    size_t name_len;
    uint32_t id;
    uint8_t payload[1 + TL_PUBKEY_LEN];
    tl_err e = parse_tail(&name, &name_len, &id, payload, text + SKEY_PREFIX_LEN,
                          len - SKEY_PREFIX_LEN, d);
    if (e != TL_OK) {
        sodium_memzero(payload, sizeof payload);
        return tl_diag_prefix(d, e, "signer key");
    }
    tl_skey k;
    e = tl_skey_from_seed(&k, name, name_len, payload[0], payload + 1, d);
    sodium_memzero(payload, sizeof payload);
    if (e != TL_OK)
        return tl_diag_prefix(d, e, "signer key");
    if (k.vkey.id != id) {
        tl_skey_wipe(&k);
        return tl_fail(d, TL_ERR_FORMAT, "signer key: key id %08x does not match the key", id);
    }
    *out = k;
    tl_skey_wipe(&k);
    return TL_OK;
}

/* Writes <name> "+" <id> "+" base64(type || key32) at out; returns its length. */
static size_t format_tail(char *out, const tl_vkey *k, const uint8_t key32[static 32])
{
    size_t n = k->name_len;
    memcpy(out, k->name, n);
    static const char hex[] = "0123456789abcdef"; /* treatylog emits lower-case ids */
    out[n++] = '+';
    for (int shift = 28; shift >= 0; shift -= 4)
        out[n++] = hex[(k->id >> shift) & 0xF];
    out[n++] = '+';
    uint8_t payload[1 + TL_PUBKEY_LEN];
    payload[0] = k->type;
    memcpy(payload + 1, key32, 32);
    n += tl_b64_encode(out + n, payload, sizeof payload);
    sodium_memzero(payload, sizeof payload);
    return n;
}

size_t tl_vkey_format(char out[static TL_VKEY_TEXT_MAX], const tl_vkey *k)
{
    return format_tail(out, k, k->pub);
}

size_t tl_skey_format(char out[static TL_SKEY_TEXT_MAX], const tl_skey *k)
{
    memcpy(out, SKEY_PREFIX, SKEY_PREFIX_LEN);
    /* libsodium's secret key is seed[32] || pubkey[32]. */
    return SKEY_PREFIX_LEN + format_tail(out + SKEY_PREFIX_LEN, &k->vkey, k->sk);
}

tl_err tl_skey_from_seed(tl_skey *out, const char *name, size_t name_len, uint8_t type,
                         const uint8_t seed[static TL_SEED_LEN], tl_diag *d)
{
    tl_err e = check_name(name, name_len, d);
    if (e != TL_OK)
        return e;
    if (!type_known(type))
        return tl_fail(d, TL_ERR_FORMAT, "unsupported key type 0x%02x", type);
    tl_skey k;
    memset(&k, 0, sizeof k);
    if (crypto_sign_seed_keypair(k.vkey.pub, k.sk, seed) != 0) {
        tl_skey_wipe(&k);
        return tl_fail(d, TL_ERR_INTERNAL, "crypto_sign_seed_keypair failed");
    }
    memcpy(k.vkey.name, name, name_len);
    k.vkey.name[name_len] = '\0';
    k.vkey.name_len = name_len;
    k.vkey.type = type;
    k.vkey.id = tl_key_id(name, name_len, type, k.vkey.pub);
    *out = k;
    tl_skey_wipe(&k);
    return TL_OK;
}

tl_err tl_skey_generate(tl_skey *out, const char *name, size_t name_len, uint8_t type,
                        tl_diag *d)
{
    uint8_t seed[TL_SEED_LEN];
    randombytes_buf(seed, sizeof seed);
    tl_err e = tl_skey_from_seed(out, name, name_len, type, seed, d);
    sodium_memzero(seed, sizeof seed);
    return e;
}

void tl_skey_wipe(tl_skey *k)
{
    sodium_memzero(k, sizeof *k);
}

bool tl_vkey_equal(const tl_vkey *a, const tl_vkey *b)
{
    return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0 &&
           a->id == b->id && a->type == b->type &&
           memcmp(a->pub, b->pub, TL_PUBKEY_LEN) == 0;
}
