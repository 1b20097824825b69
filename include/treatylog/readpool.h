/* readpool.h - readers for many threads: a pool of tl_readers over one store that share one
 * cache of level-0 tile summaries, for servers that answer proofs on several threads at once
 * (HTTP proof endpoints, the sequencer's answers).
 *
 * A thread takes a reader (tl_readpool_get), uses it alone, and gives it back
 * (tl_readpool_put); or calls tl_readpool_inclusion / _consistency, which do both. Readers are
 * made on demand (never blocks: as many as threads ask at once) and kept for reuse, so each
 * keeps its own hash tiles above level 0 (16 KB per tile, 2.5 MB at 10M entries) while the
 * level-0 summaries (512 bytes per tile, 20 MB at 10M entries) exist once, whatever the
 * number of threads. A proof served by any reader is byte-identical to one from a lone
 * tl_reader.
 *
 * THREAD SAFETY: every function here is thread-safe, but for tl_readpool_free. The store must
 * allow concurrent read() (and read_at()) calls, as the posix store does; the HTTP store
 * (one libcurl handle) does not.
 */
#ifndef TREATYLOG_READPOOL_H
#define TREATYLOG_READPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/hash.h"
#include "treatylog/log.h"
#include "treatylog/merkle.h"
#include "treatylog/store.h"

typedef struct tl_readpool tl_readpool;

/* A pool of readers over st (st stays owned by the caller and must outlive the pool).
 * max_idle: readers kept for reuse when given back (0 = 16); more are freed. */
TL_MUST_CHECK tl_err tl_readpool_new(tl_readpool **out, tl_store *st, unsigned max_idle,
                                     tl_diag *d);

/* Takes a reader for the tree of `size` leaves: an idle one moved to that size, or a new one.
 * The caller has it to itself until tl_readpool_put; it must not free it. */
TL_MUST_CHECK tl_err tl_readpool_get(tl_readpool *p, uint64_t size, tl_reader **r, tl_diag *d);

/* Gives a reader back (NULL-safe). Errors it hit leave nothing behind that a later caller
 * could see but its tl_reader_error() text. */
void tl_readpool_put(tl_readpool *p, tl_reader *r);

/* RFC 6962 PATH(index, D[0:size]) from a pooled reader: *n hashes, deepest first.
 * TL_ERR_RANGE if index >= size; a missing or bad tile is TL_ERR_NOTFOUND / TL_ERR_FORMAT /
 * TL_ERR_IO with the reader's message in d. */
TL_MUST_CHECK tl_err tl_readpool_inclusion(tl_readpool *p, uint64_t index, uint64_t size,
                                           uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN], size_t *n,
                                           tl_diag *d);

/* RFC 6962 PROOF(old, D[0:size]) from a pooled reader; errors as tl_readpool_inclusion
 * (TL_ERR_RANGE if old > size). */
TL_MUST_CHECK tl_err tl_readpool_consistency(tl_readpool *p, uint64_t old, uint64_t size,
                                             uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN], size_t *n,
                                             tl_diag *d);

/* Summarises every full level-0 tile of `size` not yet in the shared cache (tl_reader_warm
 * with a pooled reader), so that later proofs never read a tile whole. About 1 s of one core
 * per 10M entries: call it from a background thread after start-up, not before serving.
 * Returns early, TL_OK, once tl_readpool_stop_warm was called. */
TL_MUST_CHECK tl_err tl_readpool_warm(tl_readpool *p, uint64_t size, tl_diag *d);

/* Makes a running tl_readpool_warm return within a few tiles, and later ones at once (for a
 * clean shutdown: stop, join the warming thread, free). */
void tl_readpool_stop_warm(tl_readpool *p);

typedef struct tl_readpool_stats {
    unsigned readers; /* made and not freed: in use + idle */
    unsigned idle;
    size_t summary_bytes; /* memory of level-0 summaries written so far */
} tl_readpool_stats;

/* A snapshot of the pool's counters. */
void tl_readpool_stats_get(tl_readpool *p, tl_readpool_stats *out);

/* Frees the pool and its idle readers. Every reader must have been given back. NULL-safe. */
void tl_readpool_free(tl_readpool *p);

#endif
