/* merkle.c - RFC 6962 §2.1 Merkle tree math (roots, PATH, PROOF) over a source of perfect-
 * subtree hashes, and the RFC 9162 §2.1.3.2 / §2.1.4.2 verifiers; see
 * reference/c2sp-formats.md §2.
 *
 *   LEAF(d)     = SHA-256(0x00 || d)
 *   NODE(l, r)  = SHA-256(0x01 || l || r)
 *   MTH(D[0:n]) = NODE(MTH(D[0:k]), MTH(D[k:n])), k = largest power of two < n
 *
 * A perfect subtree (h, k) covers leaves [k*2^h, (k+1)*2^h). Every range a proof needs is
 * "aligned" (it starts at a multiple of a power of two at least its length), so it is the
 * right-fold of one perfect subtree per set bit of its length; unaligned ranges fall back to
 * the RFC recursion. No allocation: proofs are built top-down into caller arrays and then
 * reversed (RFC order is deepest sibling first).
 */
#include "treatylog/merkle.h"

#include <assert.h>
#include <string.h>

/* Largest tree (and proof-relevant size) accepted: Go peers read sizes as int64. */
#define TREE_MAX UINT64_C(0x7fffffffffffffff)

/* Largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    assert(n >= 2);
    uint64_t k = UINT64_C(1) << (63 - __builtin_clzll(n - 1));
    assert(k < n && 2 * k >= n);
    return k;
}

static bool is_pow2(uint64_t n)
{
    return n != 0 && (n & (n - 1)) == 0;
}

/* MTH of [begin, begin+n) when begin is a multiple of 2^bitlen(n): the right-fold of one
 * perfect subtree per set bit of n, highest bit leftmost. */
static tl_err aligned_hash(uint8_t out[TL_HASH_LEN], uint64_t begin, uint64_t n,
                           tl_hash_source src, void *ctx)
{
    assert(n > 0);
    /* Walk the set bits from lowest (rightmost subtree) to highest, folding leftwards. */
    uint64_t end = begin + n;
    uint64_t rest = n;
    bool have = false;
    uint8_t acc[TL_HASH_LEN];
    while (rest != 0) {
        unsigned h = (unsigned)__builtin_ctzll(rest);
        uint64_t width = UINT64_C(1) << h;
        uint64_t start = end - width;
        uint8_t sub[TL_HASH_LEN];
        tl_err e = src(ctx, h, start >> h, sub);
        if (e != TL_OK)
            return e;
        if (have) {
            tl_node_hash(acc, sub, acc);
        } else {
            memcpy(acc, sub, TL_HASH_LEN);
            have = true;
        }
        end = start;
        rest &= rest - 1;
    }
    memcpy(out, acc, TL_HASH_LEN);
    return TL_OK;
}

/* True if [begin, begin+n) starts at a multiple of the power of two that covers n, so it is
 * an RFC 6962 subtree built from aligned perfect subtrees. */
static bool range_aligned(uint64_t begin, uint64_t n)
{
    unsigned top = 63u - (unsigned)__builtin_clzll(n);
    uint64_t cover = is_pow2(n) ? n : (UINT64_C(1) << top) << 1; /* 0 means 2^64 */
    if (cover == 0)
        return begin == 0;
    return (begin & (cover - 1)) == 0;
}

/* General MTH(D[begin:end]) by the RFC recursion; depth <= 65 (the length halves each
 * level), each frame holds one hash. */
static tl_err range_hash(uint8_t out[TL_HASH_LEN], uint64_t begin, uint64_t end,
                         tl_hash_source src, void *ctx)
{
    uint64_t n = end - begin;
    assert(n > 0);
    if (range_aligned(begin, n))
        return aligned_hash(out, begin, n, src, ctx);
    uint64_t k = split_point(n); /* n >= 2: a single leaf is always aligned */
    uint8_t left[TL_HASH_LEN];
    tl_err e = range_hash(left, begin, begin + k, src, ctx);
    if (e != TL_OK)
        return e;
    e = range_hash(out, begin + k, end, src, ctx);
    if (e != TL_OK)
        return e;
    tl_node_hash(out, left, out);
    return TL_OK;
}

tl_err tl_merkle_root(uint8_t out[static TL_HASH_LEN], uint64_t size, tl_hash_source src,
                      void *ctx)
{
    if (size == 0) {
        memcpy(out, TL_EMPTY_ROOT, TL_HASH_LEN);
        return TL_OK;
    }
    uint8_t h[TL_HASH_LEN];
    tl_err e = aligned_hash(h, 0, size, src, ctx);
    if (e != TL_OK)
        return e;
    memcpy(out, h, TL_HASH_LEN);
    return TL_OK;
}

tl_err tl_merkle_range_hash(uint8_t out[static TL_HASH_LEN], uint64_t begin, uint64_t end,
                            tl_hash_source src, void *ctx)
{
    if (begin >= end)
        return TL_ERR_RANGE;
    uint8_t h[TL_HASH_LEN];
    tl_err e = range_hash(h, begin, end, src, ctx);
    if (e != TL_OK)
        return e;
    memcpy(out, h, TL_HASH_LEN);
    return TL_OK;
}

/* Reverses proof[0..n) in place: generation runs top-down, RFC order is bottom-up. */
static void reverse(uint8_t proof[][TL_HASH_LEN], size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        uint8_t t[TL_HASH_LEN];
        memcpy(t, proof[i], TL_HASH_LEN);
        memcpy(proof[i], proof[n - 1 - i], TL_HASH_LEN);
        memcpy(proof[n - 1 - i], t, TL_HASH_LEN);
    }
}

tl_err tl_merkle_inclusion_proof(uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN], size_t *n,
                                 uint64_t index, uint64_t size, tl_hash_source src, void *ctx)
{
    if (size > TREE_MAX || index >= size)
        return TL_ERR_RANGE;
    /* PATH(m, D[lo:hi]), unrolled: at each level keep the half holding the leaf and record
     * the MTH of the other half. Every half is an aligned range. */
    size_t cnt = 0;
    uint64_t lo = 0, hi = size;
    while (hi - lo > 1) {
        uint64_t k = split_point(hi - lo);
        if (cnt >= TL_PROOF_MAX)
            return TL_ERR_INTERNAL; /* unreachable: at most ceil(log2 size) <= 63 levels */
        tl_err e;
        if (index < lo + k) {
            e = aligned_hash(proof[cnt], lo + k, hi - (lo + k), src, ctx);
            hi = lo + k;
        } else {
            e = aligned_hash(proof[cnt], lo, k, src, ctx);
            lo += k;
        }
        if (e != TL_OK)
            return e;
        cnt++;
    }
    reverse(proof, cnt);
    *n = cnt;
    return TL_OK;
}

tl_err tl_merkle_consistency_proof(uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN], size_t *n,
                                   uint64_t m, uint64_t size, tl_hash_source src, void *ctx)
{
    if (size > TREE_MAX || m > size)
        return TL_ERR_RANGE;
    size_t cnt = 0;
    if (m == 0 || m == size) {
        *n = 0;
        return TL_OK;
    }
    /* SUBPROOF(m, D[lo:hi], b), unrolled; m is relative to lo. */
    uint64_t lo = 0, hi = size;
    bool whole = true; /* b: the old tree's root is the subtree we are in */
    for (;;) {
        if (cnt >= TL_PROOF_MAX)
            return TL_ERR_INTERNAL; /* unreachable: at most ceil(log2 size) + 1 <= 64 */
        tl_err e;
        if (m == hi - lo) {
            if (whole)
                break;
            e = aligned_hash(proof[cnt], lo, m, src, ctx);
            if (e != TL_OK)
                return e;
            cnt++;
            break;
        }
        uint64_t k = split_point(hi - lo);
        if (m <= k) {
            e = aligned_hash(proof[cnt], lo + k, hi - (lo + k), src, ctx);
            hi = lo + k;
        } else {
            e = aligned_hash(proof[cnt], lo, k, src, ctx);
            lo += k;
            m -= k;
            whole = false;
        }
        if (e != TL_OK)
            return e;
        cnt++;
    }
    reverse(proof, cnt);
    *n = cnt;
    return TL_OK;
}

static bool hash_eq(const uint8_t a[TL_HASH_LEN], const uint8_t b[TL_HASH_LEN])
{
    return memcmp(a, b, TL_HASH_LEN) == 0;
}

tl_err tl_merkle_verify_inclusion(uint64_t index, uint64_t size,
                                  const uint8_t leaf[static TL_HASH_LEN],
                                  const uint8_t (*proof)[TL_HASH_LEN], size_t n,
                                  const uint8_t root[static TL_HASH_LEN])
{
    if (index >= size)
        return TL_ERR_PROOF;
    uint64_t fn = index, sn = size - 1;
    uint8_t r[TL_HASH_LEN];
    memcpy(r, leaf, TL_HASH_LEN);
    for (size_t i = 0; i < n; i++) {
        if (sn == 0)
            return TL_ERR_PROOF; /* proof too long */
        if ((fn & 1) == 1 || fn == sn) {
            tl_node_hash(r, proof[i], r);
            while ((fn & 1) == 0 && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            tl_node_hash(r, r, proof[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || !hash_eq(r, root))
        return TL_ERR_PROOF; /* too short, or wrong root */
    return TL_OK;
}

tl_err tl_merkle_verify_consistency(uint64_t m, uint64_t n,
                                    const uint8_t root_m[static TL_HASH_LEN],
                                    const uint8_t root_n[static TL_HASH_LEN],
                                    const uint8_t (*proof)[TL_HASH_LEN], size_t np)
{
    if (m > n)
        return TL_ERR_PROOF;
    if (m == n)
        return np == 0 && hash_eq(root_m, root_n) ? TL_OK : TL_ERR_PROOF;
    if (m == 0)
        return np == 0 && hash_eq(root_m, TL_EMPTY_ROOT) ? TL_OK : TL_ERR_PROOF;
    if (np == 0)
        return TL_ERR_PROOF;
    /* If m is a power of two the old root is itself a node of the new tree and the proof
     * omits it: read it as proof = [root_m] ++ proof without copying. */
    const uint8_t *first = proof[0];
    size_t next = 1;
    if (is_pow2(m)) {
        first = root_m;
        next = 0;
    }
    uint64_t fn = m - 1, sn = n - 1;
    while ((fn & 1) == 1) {
        fn >>= 1;
        sn >>= 1;
    }
    uint8_t fr[TL_HASH_LEN], sr[TL_HASH_LEN];
    memcpy(fr, first, TL_HASH_LEN);
    memcpy(sr, first, TL_HASH_LEN);
    for (size_t i = next; i < np; i++) {
        if (sn == 0)
            return TL_ERR_PROOF; /* proof too long */
        if ((fn & 1) == 1 || fn == sn) {
            tl_node_hash(fr, proof[i], fr);
            tl_node_hash(sr, proof[i], sr);
            while ((fn & 1) == 0 && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            tl_node_hash(sr, sr, proof[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || !hash_eq(fr, root_m) || !hash_eq(sr, root_n))
        return TL_ERR_PROOF;
    return TL_OK;
}

void tl_frontier_init(tl_frontier *f)
{
    memset(f, 0, sizeof *f);
}

tl_err tl_frontier_append(tl_frontier *f, const uint8_t leaf[static TL_HASH_LEN],
                          tl_node_sink sink, void *ctx)
{
    if (f->size >= TREE_MAX)
        return TL_ERR_RANGE;
    uint64_t pos = f->size;
    uint8_t carry[TL_HASH_LEN];
    memcpy(carry, leaf, TL_HASH_LEN);
    if (sink)
        sink(ctx, 0, pos, carry);
    unsigned level = 0;
    /* Each set low bit of size is a left sibling waiting for this leaf's subtree. */
    while ((pos >> level) & 1) {
        tl_node_hash(carry, f->h[level], carry);
        level++;
        if (sink)
            sink(ctx, level, pos >> level, carry);
    }
    assert(level < 64);
    memcpy(f->h[level], carry, TL_HASH_LEN);
    f->size = pos + 1;
    return TL_OK;
}

void tl_frontier_root(const tl_frontier *f, uint8_t out[static TL_HASH_LEN])
{
    if (f->size == 0) {
        memcpy(out, TL_EMPTY_ROOT, TL_HASH_LEN);
        return;
    }
    uint64_t rest = f->size;
    uint8_t acc[TL_HASH_LEN];
    unsigned low = (unsigned)__builtin_ctzll(rest);
    memcpy(acc, f->h[low], TL_HASH_LEN);
    rest &= rest - 1;
    while (rest != 0) {
        unsigned h = (unsigned)__builtin_ctzll(rest);
        tl_node_hash(acc, f->h[h], acc);
        rest &= rest - 1;
    }
    memcpy(out, acc, TL_HASH_LEN);
}

tl_err tl_frontier_load(tl_frontier *f, uint64_t size, tl_hash_source src, void *ctx)
{
    if (size > TREE_MAX)
        return TL_ERR_RANGE;
    tl_frontier t;
    tl_frontier_init(&t);
    uint64_t off = 0;
    for (int h = 63; h >= 0; h--) {
        uint64_t width = UINT64_C(1) << h;
        if ((size & width) == 0)
            continue;
        tl_err e = src(ctx, (unsigned)h, off >> h, t.h[h]);
        if (e != TL_OK)
            return e;
        off += width;
    }
    t.size = size;
    *f = t;
    return TL_OK;
}
