/* hashindex.h - the persistent leaf-hash -> index map (SQLite) behind deduplication and
 * proof-by-hash lookups. It is derived data: rebuildable from the log at any time, and it
 * records the log size it covers, so a server re-indexes only what a crash left out.
 *
 * THREAD SAFETY: all functions may be called from any thread (one connection, serialised).
 */
#ifndef TREATYLOG_HASHINDEX_H
#define TREATYLOG_HASHINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/hash.h"

typedef struct tl_hashindex tl_hashindex;

/* Opens or creates the index database at path. */
TL_MUST_CHECK tl_err tl_hashindex_open(tl_hashindex **out, const char *path, tl_diag *d);

/* Records n leaf hashes for indexes first..first+n-1 and that the index now covers the log up
 * to `covered` entries, in one transaction. A hash already present keeps its first index. */
TL_MUST_CHECK tl_err tl_hashindex_put(tl_hashindex *h, const uint8_t (*leaves)[TL_HASH_LEN],
                                      uint64_t first, size_t n, uint64_t covered, tl_diag *d);

/* The same, also mapping keys[i] (if keys is non-NULL) to first+i: the dedup keys of keyed
 * (treaty) entries, which differ from their leaf hashes. */
TL_MUST_CHECK tl_err tl_hashindex_put_keyed(tl_hashindex *h, const uint8_t (*leaves)[TL_HASH_LEN],
                                            const uint8_t (*keys)[TL_HASH_LEN], uint64_t first,
                                            size_t n, uint64_t covered, tl_diag *d);

/* The index of a leaf hash: TL_OK, or TL_ERR_NOTFOUND. Lookups share one read transaction
 * (ended by any other call of this index, or after 100 ms): they always see this
 * connection's own writes, another process's within 100 ms. */
TL_MUST_CHECK tl_err tl_hashindex_get(tl_hashindex *h, const uint8_t leaf[static TL_HASH_LEN],
                                      uint64_t *index, tl_diag *d);

/* How many log entries the index covers (0 for a new index). */
uint64_t tl_hashindex_covered(tl_hashindex *h);

/* Removes entries with index >= size and sets covered = size (for a log shorter than the
 * index, which only a restored backup can cause). */
TL_MUST_CHECK tl_err tl_hashindex_truncate(tl_hashindex *h, uint64_t size, tl_diag *d);

/* Archives a witnessed checkpoint (DESIGN §4): per size, the first note that met the quorum
 * and the latest (re-cosigned later, with newer witness timestamps). */
TL_MUST_CHECK tl_err tl_hashindex_put_witnessed(tl_hashindex *h, uint64_t size, const char *note,
                                                size_t len, tl_diag *d);

/* Calls cb for each archived size >= from, ascending, at most max. The notes are valid
 * during the call only. */
typedef void (*tl_witnessed_fn)(void *ctx, uint64_t size, const char *first, size_t first_len,
                                const char *last, size_t last_len);
TL_MUST_CHECK tl_err tl_hashindex_witnessed(tl_hashindex *h, uint64_t from, size_t max,
                                            tl_witnessed_fn cb, void *ctx, tl_diag *d);

/* Calls cb once with the largest archived size, if any. */
TL_MUST_CHECK tl_err tl_hashindex_witnessed_latest(tl_hashindex *h, tl_witnessed_fn cb,
                                                   void *ctx, tl_diag *d);

/* Calls cb once with the archived witnessed checkpoint of the largest size <= index, if any
 * (the last one that did not contain entry `index`; tl_hashindex_witnessed from index + 1
 * gives the first that did). */
TL_MUST_CHECK tl_err tl_hashindex_witnessed_below(tl_hashindex *h, uint64_t index,
                                                  tl_witnessed_fn cb, void *ctx, tl_diag *d);

/* Closes the database (ending an open read transaction). NULL-safe. */
void tl_hashindex_close(tl_hashindex *h);

#endif
