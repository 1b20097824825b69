/* reader_shared.h - internal to src/log: the cache of level-0 tile summaries that the readers
 * of a tl_readpool share (one copy for all threads), and the constructor of such a reader.
 * The public faces are tl_reader (log.h) and tl_readpool (readpool.h).
 */
#ifndef TREATYLOG_LOG_READER_SHARED_H
#define TREATYLOG_LOG_READER_SHARED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/log.h"
#include "treatylog/store.h"

/* Summaries of full level-0 tiles (their 16 nodes of height 4, 512 bytes each), direct-mapped
 * by tile index: 2^16 slots, so every tile of a log below 16.7M entries has its own; above
 * that, a newer tile replaces an older one in its slot. Memory is taken as slots are first
 * written (calloc'd pages), about 520 bytes per tile seen: 20 MB at 10M entries. */
typedef struct tl_sumcache tl_sumcache;

/* A cache for one reader (no locking) or, with `shared`, for many threads (striped mutexes;
 * entries are copied out under the lock, so no reader holds a pointer into the cache). */
TL_MUST_CHECK tl_err tl_sumcache_new(tl_sumcache **out, bool shared, tl_diag *d);

/* Bytes of summary slots written so far (an upper bound on what the cache holds). */
size_t tl_sumcache_bytes(const tl_sumcache *c);

/* NULL-safe. No reader may still use it. */
void tl_sumcache_free(tl_sumcache *c);

/* tl_reader_new with the level-0 summaries kept in sc (not owned; must outlive the reader,
 * and be shared if other threads' readers use it too). */
TL_MUST_CHECK tl_err tl_reader_new_shared(tl_reader **out, tl_store *st, uint64_t size,
                                          tl_sumcache *sc, tl_diag *d);

/* tl_reader_warm that returns early (TL_OK, part done) once *stop is true; stop may be NULL. */
TL_MUST_CHECK tl_err tl_reader_warm_until(tl_reader *r, uint64_t *tiles, const _Atomic bool *stop,
                                          tl_diag *d);

#endif
