/* hash.c - SHA-256 (FIPS 180-4) and the RFC 6962 leaf and node hashes.
 *
 * Small inputs dominate (65-byte node hashes, entries of a few hundred bytes), so per-call
 * overhead, not the compression function, sets the rate. Two implementations:
 *   - x86-64 with SHA-NI (checked once with cpuid in tl_init): the compression function
 *     in SHA extension intrinsics, driven by a stack-only one-shot context: no allocation,
 *     no locking, no context reset. A node hash is exactly two blocks, laid out directly.
 *   - everywhere else: OpenSSL libcrypto, the EVP_MD fetched once in tl_init() and one
 *     context per thread, reset between uses.
 * Measured on the 2-core EPYC (Zen 3) of docs/benchmarks.md: the EVP path costs ~110 ns more
 * per call than its SHA-256 blocks (a provider context freed, cleansed and allocated per
 * digest); see bench/bench_hash.c, which also checks both paths against OpenSSL.
 */
#include "treatylog/hash.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TL_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

const uint8_t TL_EMPTY_ROOT[TL_HASH_LEN] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

/* One-time init state: written once under pthread_once, read-only afterwards. */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;
static int init_ok;
static bool use_shani;
static pthread_key_t ctx_key;

/* ---- SHA-NI ---- */

#ifdef TL_SHANI

static const uint32_t SHA256_IV[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static const uint32_t SHA256_K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define SHANI_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* True if the CPU has the SHA extensions and the SSSE3/SSE4.1 shuffles used with them. */
static bool cpu_has_shani(void)
{
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return false;
    bool ssse3 = (c >> 9) & 1, sse41 = (c >> 19) & 1;
    if (__get_cpuid_max(0, NULL) < 7)
        return false;
    __cpuid_count(7, 0, a, b, c, d);
    return ssse3 && sse41 && ((b >> 29) & 1);
}

/* Four rounds: message words w (already in host order) plus K[k..k+3]. */
SHANI_TARGET static inline void rounds4(__m128i *abef, __m128i *cdgh, __m128i w, unsigned k)
{
    __m128i m = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)(const void *)&SHA256_K[k]));
    *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, m);
    m = _mm_shuffle_epi32(m, 0x0E);
    *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, m);
}

/* Message schedule: W[t..t+3] from W[t-16..t-13] (w0), W[t-12..t-9] (w1), W[t-8..t-5] (w2)
 * and W[t-4..t-1] (w3). */
SHANI_TARGET static inline __m128i schedule(__m128i w0, __m128i w1, __m128i w2, __m128i w3)
{
    __m128i x = _mm_sha256msg1_epu32(w0, w1);
    x = _mm_add_epi32(x, _mm_alignr_epi8(w3, w2, 4));
    return _mm_sha256msg2_epu32(x, w3);
}

/* One block given as its four 16-byte quarters, in message (big-endian) byte order. The
 * state is kept as the SHA-NI register pair ABEF / CDGH. */
SHANI_TARGET static inline void block(__m128i *abef, __m128i *cdgh, __m128i m0, __m128i m1,
                                      __m128i m2, __m128i m3)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i abef0 = *abef, cdgh0 = *cdgh;
    __m128i w0 = _mm_shuffle_epi8(m0, bswap), w1 = _mm_shuffle_epi8(m1, bswap);
    __m128i w2 = _mm_shuffle_epi8(m2, bswap), w3 = _mm_shuffle_epi8(m3, bswap);
    rounds4(abef, cdgh, w0, 0);
    rounds4(abef, cdgh, w1, 4);
    rounds4(abef, cdgh, w2, 8);
    rounds4(abef, cdgh, w3, 12);
    for (unsigned k = 16; k < 64; k += 16) {
        w0 = schedule(w0, w1, w2, w3);
        rounds4(abef, cdgh, w0, k);
        w1 = schedule(w1, w2, w3, w0);
        rounds4(abef, cdgh, w1, k + 4);
        w2 = schedule(w2, w3, w0, w1);
        rounds4(abef, cdgh, w2, k + 8);
        w3 = schedule(w3, w0, w1, w2);
        rounds4(abef, cdgh, w3, k + 12);
    }
    *abef = _mm_add_epi32(*abef, abef0);
    *cdgh = _mm_add_epi32(*cdgh, cdgh0);
}

SHANI_TARGET static inline __m128i load16(const uint8_t *p)
{
    return _mm_loadu_si128((const __m128i *)(const void *)p);
}

/* n consecutive 64-byte blocks read straight from p. */
SHANI_TARGET static inline void blocks(__m128i *abef, __m128i *cdgh, const uint8_t *p, size_t n)
{
    for (; n > 0; n--, p += 64)
        block(abef, cdgh, load16(p), load16(p + 16), load16(p + 32), load16(p + 48));
}

/* h[0..7] (A..H) to the ABEF / CDGH pair and back. */
SHANI_TARGET static inline void state_load(__m128i *abef, __m128i *cdgh, const uint32_t h[8])
{
    __m128i tmp = _mm_loadu_si128((const __m128i *)(const void *)&h[0]); /* DCBA */
    __m128i s1 = _mm_loadu_si128((const __m128i *)(const void *)&h[4]);  /* HGFE */
    tmp = _mm_shuffle_epi32(tmp, 0xB1);                                 /* CDAB */
    s1 = _mm_shuffle_epi32(s1, 0x1B);                                   /* EFGH */
    *abef = _mm_alignr_epi8(tmp, s1, 8);                                /* ABEF */
    *cdgh = _mm_blend_epi16(s1, tmp, 0xF0);                             /* CDGH */
}

/* The pair as A..H in host order: lo = DCBA, hi = HGFE. */
SHANI_TARGET static inline void state_unpack(__m128i *lo, __m128i *hi, __m128i abef,
                                             __m128i cdgh)
{
    __m128i tmp = _mm_shuffle_epi32(abef, 0x1B); /* FEBA */
    cdgh = _mm_shuffle_epi32(cdgh, 0xB1);        /* DCHG */
    *lo = _mm_blend_epi16(tmp, cdgh, 0xF0);      /* DCBA */
    *hi = _mm_alignr_epi8(cdgh, tmp, 8);         /* HGFE */
}

SHANI_TARGET static inline void state_store(uint32_t h[8], __m128i abef, __m128i cdgh)
{
    __m128i lo, hi;
    state_unpack(&lo, &hi, abef, cdgh);
    _mm_storeu_si128((__m128i *)(void *)&h[0], lo);
    _mm_storeu_si128((__m128i *)(void *)&h[4], hi);
}

/* The digest: A..H big-endian, two 16-byte stores (which later 16-byte loads of the same
 * hash, e.g. the next node hash, can forward from). */
SHANI_TARGET static inline void digest_store(uint8_t out[static TL_HASH_LEN], __m128i abef,
                                             __m128i cdgh)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i lo, hi;
    state_unpack(&lo, &hi, abef, cdgh);
    _mm_storeu_si128((__m128i *)(void *)out, _mm_shuffle_epi8(lo, bswap));
    _mm_storeu_si128((__m128i *)(void *)(out + 16), _mm_shuffle_epi8(hi, bswap));
}

/* The last len (< 64) message bytes at p, then the padding for a total of `total` bytes. */
SHANI_TARGET static inline void tail(__m128i *abef, __m128i *cdgh, const uint8_t *p, size_t len,
                                     uint64_t total)
{
    uint8_t b[128];
    size_t n = len < 56 ? 64 : 128;
    if (len > 0)
        memcpy(b, p, len);
    b[len] = 0x80;
    memset(b + len + 1, 0, n - len - 1);
    uint64_t bits = total * 8;
    for (size_t i = 0; i < 8; i++)
        b[n - 8 + i] = (uint8_t)(bits >> (56 - 8 * i));
    blocks(abef, cdgh, b, n / 64);
}

/* The compression function over nblocks consecutive 64-byte blocks, state in memory. */
SHANI_TARGET static void compress_ni(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
    __m128i abef, cdgh;
    state_load(&abef, &cdgh, h);
    blocks(&abef, &cdgh, p, nblocks);
    state_store(h, abef, cdgh);
}

/* A one-shot SHA-256 on the stack: state, the partial block and the bytes so far. */
typedef struct ni_ctx {
    uint32_t h[8];
    uint8_t buf[64];
    size_t fill;
    uint64_t total;
} ni_ctx;

static void ni_init(ni_ctx *c)
{
    memcpy(c->h, SHA256_IV, sizeof c->h);
    c->fill = 0;
    c->total = 0;
}

static void ni_update(ni_ctx *c, const uint8_t *p, size_t len)
{
    if (len == 0)
        return;
    c->total += len;
    if (c->fill > 0) {
        size_t take = 64 - c->fill < len ? 64 - c->fill : len;
        memcpy(c->buf + c->fill, p, take);
        c->fill += take;
        p += take;
        len -= take;
        if (c->fill < 64)
            return;
        compress_ni(c->h, c->buf, 1);
        c->fill = 0;
    }
    if (len >= 64) {
        size_t nb = len / 64;
        compress_ni(c->h, p, nb);
        p += nb * 64;
        len -= nb * 64;
    }
    if (len > 0) {
        memcpy(c->buf, p, len);
        c->fill = len;
    }
}

SHANI_TARGET static void ni_final(ni_ctx *c, uint8_t out[static TL_HASH_LEN])
{
    __m128i abef, cdgh;
    state_load(&abef, &cdgh, c->h);
    tail(&abef, &cdgh, c->buf, c->fill, c->total);
    digest_store(out, abef, cdgh);
}

/* LEAF(e) = SHA-256(0x00 || e). The first block, 0x00 || e[0..62], is assembled in
 * registers (e shifted by one byte); the blocks after it are e[63 + 64k ..] as they lie. */
SHANI_TARGET static void ni_leaf(uint8_t out[static TL_HASH_LEN], const uint8_t *e, size_t len)
{
    __m128i abef, cdgh;
    state_load(&abef, &cdgh, SHA256_IV);
    if (len < 63) {
        uint8_t b[64];
        b[0] = 0x00;
        if (len > 0)
            memcpy(b + 1, e, len);
        tail(&abef, &cdgh, b, len + 1, len + 1);
        digest_store(out, abef, cdgh);
        return;
    }
    __m128i first = _mm_alignr_epi8(load16(e), _mm_setzero_si128(), 15); /* 00 e0 .. e14 */
    block(&abef, &cdgh, first, load16(e + 15), load16(e + 31), load16(e + 47));
    size_t rest = len - 63, nb = rest / 64;
    blocks(&abef, &cdgh, e + 63, nb);
    tail(&abef, &cdgh, e + 63 + nb * 64, rest % 64, (uint64_t)len + 1);
    digest_store(out, abef, cdgh);
}

/* NODE(l, r) = SHA-256(0x01 || l || r): 65 bytes, exactly two blocks, built in registers:
 *   block 1 = 01 l0..l31 r0..r30          block 2 = r31 80 00 .. 00 02 08 (520 bits). */
SHANI_TARGET static void ni_node(uint8_t out[static TL_HASH_LEN], const uint8_t *l,
                                 const uint8_t *r)
{
    __m128i l0 = load16(l), l1 = load16(l + 16), r0 = load16(r), r1 = load16(r + 16);
    const __m128i one = _mm_set_epi8(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m128i pad = _mm_set_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (char)0x80);
    const __m128i bits = _mm_set_epi8(8, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m128i zero = _mm_setzero_si128();
    __m128i abef, cdgh;
    state_load(&abef, &cdgh, SHA256_IV);
    block(&abef, &cdgh, _mm_alignr_epi8(l0, one, 15), _mm_alignr_epi8(l1, l0, 15),
          _mm_alignr_epi8(r0, l1, 15), _mm_alignr_epi8(r1, r0, 15));
    block(&abef, &cdgh, _mm_alignr_epi8(pad, r1, 15), zero, zero, bits);
    digest_store(out, abef, cdgh); /* both inputs are in registers: out may alias them */
}

#else /* !TL_SHANI */

static bool cpu_has_shani(void)
{
    return false;
}

#endif

/* ---- OpenSSL EVP ---- */

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
    use_shani = cpu_has_shani();
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
    EVP_MD_CTX *c = pthread_getspecific(ctx_key);
    if (!c) {
        c = EVP_MD_CTX_new();
        if (!c || pthread_setspecific(ctx_key, c) != 0)
            abort(); /* out of memory for a 100-byte context at thread start */
    }
    return c;
}

static void evp_digest3(uint8_t out[static TL_HASH_LEN], const void *a, size_t alen,
                        const void *b, size_t blen, const void *c, size_t clen)
{
    EVP_MD_CTX *ctx = thread_ctx();
    unsigned int n = 0;
    /* With a fetched, valid MD and a live context these calls cannot fail. */
    if (!EVP_DigestInit_ex2(ctx, sha256_md, NULL) || (alen && !EVP_DigestUpdate(ctx, a, alen)) ||
        (blen && !EVP_DigestUpdate(ctx, b, blen)) || (clen && !EVP_DigestUpdate(ctx, c, clen)) ||
        !EVP_DigestFinal_ex(ctx, out, &n))
        abort();
}

/* ---- the API ---- */

/* Initialises on first use and tells which implementation to take. */
static bool shani(void)
{
    if (tl_init() != TL_OK)
        abort(); /* libcrypto unusable: no hashing is possible; not reachable from input */
    return use_shani;
}

static void digest3(uint8_t out[static TL_HASH_LEN], const void *a, size_t alen, const void *b,
                    size_t blen, const void *c, size_t clen)
{
#ifdef TL_SHANI
    if (shani()) {
        ni_ctx ctx;
        ni_init(&ctx);
        ni_update(&ctx, a, alen);
        ni_update(&ctx, b, blen);
        ni_update(&ctx, c, clen);
        ni_final(&ctx, out);
        return;
    }
#else
    (void)shani();
#endif
    evp_digest3(out, a, alen, b, blen, c, clen);
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
#ifdef TL_SHANI
    if (shani()) {
        ni_leaf(out, entry, len);
        return;
    }
#endif
    static const uint8_t zero = 0x00;
    digest3(out, &zero, 1, entry, len, NULL, 0);
}

void tl_node_hash(uint8_t out[static TL_HASH_LEN], const uint8_t left[static TL_HASH_LEN],
                  const uint8_t right[static TL_HASH_LEN])
{
#ifdef TL_SHANI
    if (shani()) {
        ni_node(out, left, right);
        return;
    }
#endif
    uint8_t buf[1 + 2 * TL_HASH_LEN];
    buf[0] = 0x01;
    memcpy(buf + 1, left, TL_HASH_LEN);
    memcpy(buf + 1 + TL_HASH_LEN, right, TL_HASH_LEN);
    digest3(out, buf, sizeof buf, NULL, 0, NULL, 0);
}

void tl_leaf_hash_many(uint8_t (*out)[TL_HASH_LEN], const uint8_t *const *entries,
                       const size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tl_leaf_hash(out[i], entries[i], lens[i]);
}
