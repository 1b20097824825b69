/* merkle.h - RFC 6962 Merkle tree math: roots, inclusion and consistency proofs generated
 * from any source of perfect-subtree hashes, verified per RFC 9162 §2.1.3.2 / §2.1.4.2, and
 * the append frontier (compact range) the sequencer integrates with.
 *
 * A perfect subtree is named (height h, index k): it covers leaves [k*2^h, (k+1)*2^h).
 * Pure code, no I/O, no allocation. Thread-safe; tl_frontier is a plain copyable struct.
 */
#ifndef TREATYLOG_MERKLE_H
#define TREATYLOG_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/hash.h"

#define TL_PROOF_MAX 64 /* max hashes in any proof of a tree below 2^63 leaves */

/* Source of perfect-subtree hashes: writes MTH of subtree (height, index) into out.
 * Returns TL_OK or an error that the caller passes through unchanged. */
typedef tl_err (*tl_hash_source)(void *ctx, unsigned height, uint64_t index,
                                 uint8_t out[TL_HASH_LEN]);

/* MTH of leaves [0, size) (the tree root). size 0 gives TL_EMPTY_ROOT. */
TL_MUST_CHECK tl_err tl_merkle_root(uint8_t out[static TL_HASH_LEN], uint64_t size,
                                    tl_hash_source src, void *ctx);

/* MTH of leaves [begin, end), any range, built from perfect subtrees. begin < end. */
TL_MUST_CHECK tl_err tl_merkle_range_hash(uint8_t out[static TL_HASH_LEN], uint64_t begin,
                                          uint64_t end, tl_hash_source src, void *ctx);

/* RFC 6962 PATH(index, D[0:size]): writes *n hashes (deepest first) into proof.
 * TL_ERR_RANGE if index >= size. */
TL_MUST_CHECK tl_err tl_merkle_inclusion_proof(uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN],
                                               size_t *n, uint64_t index, uint64_t size,
                                               tl_hash_source src, void *ctx);

/* RFC 6962 PROOF(m, D[0:size]). m == 0 or m == size gives an empty proof.
 * TL_ERR_RANGE if m > size. */
TL_MUST_CHECK tl_err tl_merkle_consistency_proof(uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN],
                                                 size_t *n, uint64_t m, uint64_t size,
                                                 tl_hash_source src, void *ctx);

/* RFC 9162 §2.1.3.2. Returns TL_OK if leaf is at index in the tree (size, root), else
 * TL_ERR_PROOF. */
TL_MUST_CHECK tl_err tl_merkle_verify_inclusion(uint64_t index, uint64_t size,
                                                const uint8_t leaf[static TL_HASH_LEN],
                                                const uint8_t (*proof)[TL_HASH_LEN], size_t n,
                                                const uint8_t root[static TL_HASH_LEN]);

/* RFC 9162 §2.1.4.2 plus the edge cases of reference/c2sp-formats.md §2.4 (m == n needs an
 * empty proof and equal roots; m == 0 needs an empty proof and root_m == TL_EMPTY_ROOT).
 * Returns TL_OK or TL_ERR_PROOF. */
TL_MUST_CHECK tl_err tl_merkle_verify_consistency(uint64_t m, uint64_t n,
                                                  const uint8_t root_m[static TL_HASH_LEN],
                                                  const uint8_t root_n[static TL_HASH_LEN],
                                                  const uint8_t (*proof)[TL_HASH_LEN],
                                                  size_t np);

/* The right edge of a tree: for each set bit h of size, the root of the perfect subtree of
 * height h that the bit stands for. Enough to append and to compute the root. */
typedef struct tl_frontier {
    uint64_t size;
    uint8_t h[64][TL_HASH_LEN]; /* h[i] valid iff bit i of size is set */
} tl_frontier;

/* Called for every perfect-subtree node completed by an append, leaves included (height 0),
 * in bottom-up order. */
typedef void (*tl_node_sink)(void *ctx, unsigned height, uint64_t index,
                             const uint8_t hash[TL_HASH_LEN]);

/* Empty frontier. */
void tl_frontier_init(tl_frontier *f);

/* Appends one leaf hash; reports each completed node to sink (if non-NULL). Cannot fail
 * below 2^63 leaves; returns TL_ERR_RANGE at that bound. */
TL_MUST_CHECK tl_err tl_frontier_append(tl_frontier *f, const uint8_t leaf[static TL_HASH_LEN],
                                        tl_node_sink sink, void *ctx);

/* Root of the tree the frontier stands for (TL_EMPTY_ROOT if empty). */
void tl_frontier_root(const tl_frontier *f, uint8_t out[static TL_HASH_LEN]);

/* Rebuilds the frontier of a tree of `size` leaves from a hash source (reads one perfect
 * subtree per set bit of size). */
TL_MUST_CHECK tl_err tl_frontier_load(tl_frontier *f, uint64_t size, tl_hash_source src,
                                      void *ctx);

#endif
