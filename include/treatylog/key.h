/* key.h - signed-note keys: Ed25519 log keys (type 0x01) and Ed25519 cosignature/v1 witness
 * keys (type 0x04), in their C2SP / Go x/mod text forms:
 *   verifier key  <name>+<8 hex key id>+base64(type || pubkey)
 *   signer key    PRIVATE+KEY+<name>+<8 hex key id>+base64(type || seed)
 * Key id = first 4 bytes (big-endian) of SHA-256(name || 0x0A || type || pubkey).
 *
 * Structs are fixed-size and caller-owned: copy freely, nothing to free. A tl_skey holds a
 * secret: wipe it with tl_skey_wipe() when done. Thread-safe.
 */
#ifndef TREATYLOG_KEY_H
#define TREATYLOG_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"

#define TL_KEY_ED25519 0x01   /* signed-note Ed25519 (log signatures, party signatures) */
#define TL_KEY_COSIG_V1 0x04  /* tlog-cosignature Ed25519 cosignature/v1 (witnesses) */
#define TL_KEYNAME_MAX 255    /* longest key name treatylog accepts, in bytes */
#define TL_PUBKEY_LEN 32
#define TL_SEED_LEN 32
#define TL_SIG_LEN 64         /* Ed25519 signature */
#define TL_KEYID_LEN 4
#define TL_VKEY_TEXT_MAX (TL_KEYNAME_MAX + 1 + 8 + 1 + 44 + 1)              /* with NUL */
#define TL_SKEY_TEXT_MAX (12 + TL_KEYNAME_MAX + 1 + 8 + 1 + 44 + 1)         /* with NUL */

typedef struct tl_vkey {
    char name[TL_KEYNAME_MAX + 1]; /* NUL-terminated */
    size_t name_len;
    uint32_t id;
    uint8_t type; /* TL_KEY_ED25519 or TL_KEY_COSIG_V1 */
    uint8_t pub[TL_PUBKEY_LEN];
} tl_vkey;

typedef struct tl_skey {
    tl_vkey vkey;    /* the matching verifier key */
    uint8_t sk[64];  /* libsodium secret key: seed || pubkey */
} tl_skey;

/* Key id for (name, type, pub). */
uint32_t tl_key_id(const char *name, size_t name_len, uint8_t type,
                   const uint8_t pub[static TL_PUBKEY_LEN]);

/* Parses a verifier key text (no trailing newline; callers strip one). Checks the name, the
 * 8 lower- or upper-case hex digits, the type (0x01 or 0x04), the key length and that the id
 * matches. Returns TL_OK or TL_ERR_FORMAT with the reason in d. */
TL_MUST_CHECK tl_err tl_vkey_parse(tl_vkey *out, const char *text, size_t len, tl_diag *d);

/* Parses a signer key text (PRIVATE+KEY+...); derives the public key from the seed and checks
 * the id. Returns TL_OK or TL_ERR_FORMAT. */
TL_MUST_CHECK tl_err tl_skey_parse(tl_skey *out, const char *text, size_t len, tl_diag *d);

/* Writes the verifier key text (NUL-terminated, lower-case hex) into out; returns its length. */
size_t tl_vkey_format(char out[static TL_VKEY_TEXT_MAX], const tl_vkey *k);

/* Writes the signer key text (NUL-terminated) into out; returns its length. */
size_t tl_skey_format(char out[static TL_SKEY_TEXT_MAX], const tl_skey *k);

/* Makes a key from a 32-byte seed (deterministic). TL_ERR_FORMAT for a bad name or type. */
TL_MUST_CHECK tl_err tl_skey_from_seed(tl_skey *out, const char *name, size_t name_len,
                                       uint8_t type, const uint8_t seed[static TL_SEED_LEN],
                                       tl_diag *d);

/* Makes a fresh random key. */
TL_MUST_CHECK tl_err tl_skey_generate(tl_skey *out, const char *name, size_t name_len,
                                      uint8_t type, tl_diag *d);

/* Wipes the secret (sodium_memzero). */
void tl_skey_wipe(tl_skey *k);

/* True if two verifier keys are the same (name, id, type, pub). */
bool tl_vkey_equal(const tl_vkey *a, const tl_vkey *b);

#endif
