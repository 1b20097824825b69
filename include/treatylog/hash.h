/* hash.h - SHA-256 (OpenSSL libcrypto, SHA-NI where the CPU has it) and the RFC 6962
 * leaf/node hashes every Merkle computation in treatylog rests on.
 *
 * THREAD SAFETY: all functions are thread-safe once tl_init() has returned.
 */
#ifndef TREATYLOG_HASH_H
#define TREATYLOG_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"

#define TL_HASH_LEN 32

/* One-time library initialisation: sodium_init() and fetching the SHA-256 implementation
 * once. Call before anything else (idempotent, thread-safe to call again). Returns TL_OK,
 * or TL_ERR_INTERNAL if libsodium or libcrypto cannot initialise. */
TL_MUST_CHECK tl_err tl_init(void);

/* out = SHA-256(data). Cannot fail. */
void tl_sha256(uint8_t out[static TL_HASH_LEN], const void *data, size_t len);

/* out = SHA-256(a || b): two-part input without a copy. Cannot fail. */
void tl_sha256_2(uint8_t out[static TL_HASH_LEN], const void *a, size_t alen, const void *b,
                 size_t blen);

/* RFC 6962 leaf hash: out = SHA-256(0x00 || entry). Cannot fail. */
void tl_leaf_hash(uint8_t out[static TL_HASH_LEN], const void *entry, size_t len);

/* RFC 6962 node hash: out = SHA-256(0x01 || left || right). out may alias left or right. */
void tl_node_hash(uint8_t out[static TL_HASH_LEN], const uint8_t left[static TL_HASH_LEN],
                  const uint8_t right[static TL_HASH_LEN]);

/* Leaf hashes of n entries at once (entries[i], lens[i]); out holds n hashes. Faster than n
 * calls for small entries (reuses one context). Cannot fail. */
void tl_leaf_hash_many(uint8_t (*out)[TL_HASH_LEN], const uint8_t *const *entries,
                       const size_t *lens, size_t n);

/* The RFC 6962 empty-tree root, SHA-256(""). */
extern const uint8_t TL_EMPTY_ROOT[TL_HASH_LEN];

#endif
