/* hash.c - SHA-256 through OpenSSL libcrypto (EVP, fetched once), RFC 6962 leaf and node
 * hashes. OpenSSL picks the SHA-NI code path at run time where the CPU has it.
 *
 * Small inputs dominate (64-byte node hashes, ~256-byte entries), so the per-call cost of
 * EVP_MD_CTX setup matters: we fetch the EVP_MD once in tl_init() and keep one context per
 * thread, reset between uses, instead of EVP_Digest()'s implicit fetch + alloc per call.
 */
#include "treatylog/hash.h"

#include <pthread.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <sodium.h>

const uint8_t TL_EMPTY_ROOT[TL_HASH_LEN] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

/* One-time init state: written once under pthread_once, read-only afterwards. */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;
static int init_ok;
static pthread_key_t ctx_key;

static void free_ctx(void *p)
{
    EVP_MD_CTX_free(p);
}

static void do_init(void)
{
    if (sodium_init() < 0)
        return;
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!sha256_md)
        return;
    if (pthread_key_create(&ctx_key, free_ctx) != 0)
        return;
    init_ok = 1;
}

tl_err tl_init(void)
{
    if (pthread_once(&init_once, do_init) != 0 || !init_ok)
        return TL_ERR_INTERNAL;
    return TL_OK;
}

/* The calling thread's reusable digest context. */
static EVP_MD_CTX *thread_ctx(void)
{
    if (tl_init() != TL_OK)
        abort(); /* libcrypto unusable: no hashing is possible; not reachable from input */
    EVP_MD_CTX *c = pthread_getspecific(ctx_key);
    if (!c) {
        c = EVP_MD_CTX_new();
        if (!c || pthread_setspecific(ctx_key, c) != 0)
            abort(); /* out of memory for a 100-byte context at thread start */
    }
    return c;
}

static void digest3(uint8_t out[static TL_HASH_LEN], const void *a, size_t alen, const void *b,
                    size_t blen, const void *c, size_t clen)
{
    EVP_MD_CTX *ctx = thread_ctx();
    unsigned int n = 0;
    /* With a fetched, valid MD and a live context these calls cannot fail. */
    if (!EVP_DigestInit_ex2(ctx, sha256_md, NULL) || (alen && !EVP_DigestUpdate(ctx, a, alen)) ||
        (blen && !EVP_DigestUpdate(ctx, b, blen)) || (clen && !EVP_DigestUpdate(ctx, c, clen)) ||
        !EVP_DigestFinal_ex(ctx, out, &n))
        abort();
}

void tl_sha256(uint8_t out[static TL_HASH_LEN], const void *data, size_t len)
{
    digest3(out, data, len, NULL, 0, NULL, 0);
}

void tl_sha256_2(uint8_t out[static TL_HASH_LEN], const void *a, size_t alen, const void *b,
                 size_t blen)
{
    digest3(out, a, alen, b, blen, NULL, 0);
}

void tl_leaf_hash(uint8_t out[static TL_HASH_LEN], const void *entry, size_t len)
{
    static const uint8_t zero = 0x00;
    digest3(out, &zero, 1, entry, len, NULL, 0);
}

void tl_node_hash(uint8_t out[static TL_HASH_LEN], const uint8_t left[static TL_HASH_LEN],
                  const uint8_t right[static TL_HASH_LEN])
{
    uint8_t buf[1 + 2 * TL_HASH_LEN];
    buf[0] = 0x01;
    for (size_t i = 0; i < TL_HASH_LEN; i++) {
        buf[1 + i] = left[i];
        buf[1 + TL_HASH_LEN + i] = right[i];
    }
    digest3(out, buf, sizeof buf, NULL, 0, NULL, 0);
}

void tl_leaf_hash_many(uint8_t (*out)[TL_HASH_LEN], const uint8_t *const *entries,
                       const size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tl_leaf_hash(out[i], entries[i], lens[i]);
}
