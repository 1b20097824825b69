/* log.h - the log: a writer that appends entries and publishes signed checkpoints over a
 * store, and a reader that serves entries, hashes and proofs from the tiles of any store
 * (posix directory or HTTP), plus the full audit.
 *
 * THREAD SAFETY: a tl_log (writer) has one owner thread. A tl_reader is not thread-safe
 * (it caches tiles); use one per thread, or take them from a tl_readpool (readpool.h), whose
 * readers share one cache.
 */
#ifndef TREATYLOG_LOG_H
#define TREATYLOG_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/checkpoint.h"
#include "treatylog/err.h"
#include "treatylog/key.h"
#include "treatylog/merkle.h"
#include "treatylog/store.h"

/* ---- writer ---- */

typedef struct tl_log tl_log;

/* Creates a new empty log in directory dir (must not exist or be empty): stores the signing
 * key privately (mode 0600), and publishes the signed size-0 checkpoint. origin defaults to
 * the key name when NULL. The key must be type 0x01. */
TL_MUST_CHECK tl_err tl_log_create(const char *dir, const char *origin, const tl_skey *key,
                                   tl_diag *d);

/* Opens an existing log for writing: takes the one-writer lock, reads the checkpoint and
 * the right edge of the tiles (cost independent of the log size), and checks that they
 * agree. sys may be NULL. */
TL_MUST_CHECK tl_err tl_log_open(tl_log **out, const char *dir, const tl_sys *sys, tl_diag *d);

/* Stages one entry (1..TL_ENTRY_MAX bytes; 0 bytes allowed in raw mode too). Full tiles are
 * written as they complete; nothing is published until tl_log_publish(). *index (if
 * non-NULL) receives the entry's index. On error the staged batch is discarded. */
TL_MUST_CHECK tl_err tl_log_add(tl_log *l, const uint8_t *entry, size_t len, uint64_t *index,
                                tl_diag *d);

/* Writes the partial tiles of the new size, makes everything durable, signs and commits the
 * new checkpoint. On failure nothing new is published and the staged entries are discarded
 * (the writer returns to the last published state); if the commit point itself failed the
 * log refuses further writes (TL_ERR_IO) until reopened. */
TL_MUST_CHECK tl_err tl_log_publish(tl_log *l, tl_diag *d);

/* Discards staged entries, returning to the last published state. */
TL_MUST_CHECK tl_err tl_log_rollback(tl_log *l, tl_diag *d);

/* Size and root of the last published checkpoint; the staged size (>= published). */
uint64_t tl_log_size(const tl_log *l);
uint64_t tl_log_staged_size(const tl_log *l);

/* The last published checkpoint note (NUL-terminated, owned by l, valid until the next
 * publish). */
const char *tl_log_checkpoint(const tl_log *l, size_t *len);

/* The log's verifier key and origin. */
const tl_vkey *tl_log_vkey(const tl_log *l);
const char *tl_log_origin(const tl_log *l);

/* Signs arbitrary note text (not a checkpoint: callers use their own first line) with the log
 * key; *out is a fresh malloc'd note. Thread-safe (the key is read-only after open). */
TL_MUST_CHECK tl_err tl_log_sign(const tl_log *l, const char *text, size_t len, char **out,
                                 size_t *outlen, tl_diag *d);

/* Closes the writer, discarding anything staged. NULL-safe. */
void tl_log_close(tl_log *l);

/* ---- reader ---- */

typedef struct tl_reader tl_reader;

/* A reader of the tree of `size` leaves stored in st (st stays owned by the caller).
 * Memory: about 40 KB, plus 16 KB per tile above level 0 (and right-edge tile) it has used,
 * at most 512 of them (8 MiB), plus 520 bytes per full level-0 tile it has proved from (20 MB
 * at 10M entries; at most 34 MiB). */
TL_MUST_CHECK tl_err tl_reader_new(tl_reader **out, tl_store *st, uint64_t size, tl_diag *d);

/* Moves the reader to another tree size (cached tiles stay valid where they still apply). */
void tl_reader_set_size(tl_reader *r, uint64_t size);

/* The reader's tree size. */
uint64_t tl_reader_size(const tl_reader *r);

/* Hash source for merkle.h (ctx = the reader). */
tl_err tl_reader_hash(void *reader, unsigned height, uint64_t index, uint8_t out[TL_HASH_LEN]);

/* The last error a hash source call hit, with its message. */
const char *tl_reader_error(const tl_reader *r);

/* The bytes of entry `index` (< size), checked against its leaf hash in the tiles. Fresh
 * malloc'd buffer. */
TL_MUST_CHECK tl_err tl_reader_entry(tl_reader *r, uint64_t index, uint8_t **buf, size_t *len,
                                     tl_diag *d);

/* Reads every full level-0 tile of the reader's size that the reader's summary cache does
 * not hold yet (in order, one read and 240 node hashes each) and the hash tiles above level 0:
 * afterwards an inclusion proof at that size reads 512 bytes of one tile and no tile whole.
 * About 1 s per 10M entries with a warm page cache; meant for a background thread at start-up
 * (through tl_readpool_warm) or a benchmark. *tiles (if non-NULL) receives the number of
 * level-0 tiles summarised. The reader's other results do not depend on it. */
TL_MUST_CHECK tl_err tl_reader_warm(tl_reader *r, uint64_t *tiles, tl_diag *d);

/* Root of the reader's tree, computed from the tiles. */
TL_MUST_CHECK tl_err tl_reader_root(tl_reader *r, uint8_t out[static TL_HASH_LEN], tl_diag *d);

void tl_reader_free(tl_reader *r);

/* Reads and verifies the store's checkpoint under key: fills cp and, if note/len are
 * non-NULL, a malloc'd copy of the note. */
TL_MUST_CHECK tl_err tl_read_checkpoint(tl_store *st, const tl_vkey *key, tl_checkpoint *cp,
                                        char **note, size_t *len, tl_diag *d);

/* ---- audit ---- */

typedef struct tl_audit_result {
    uint64_t entries;      /* entries re-hashed */
    uint64_t tiles;        /* hash tiles compared */
    uint64_t bundles;      /* entry bundles read */
    uint64_t bytes;        /* entry bytes hashed */
} tl_audit_result;

/* Recomputes every tile of the tree (cp->size, cp->root) from the entry bundles alone and
 * compares byte for byte with the stored tiles and the root. If old is non-NULL, also
 * checks that old is a prefix of that tree (old->root == root of the first old->size
 * entries). Where the store can list (posix), also every leftover partial tile and bundle
 * and every archived checkpoint (checkpoints/<size>, verified under key). Returns TL_OK, TL_ERR_PROOF (first mismatch named in d), TL_ERR_FORMAT,
 * TL_ERR_NOTFOUND (a missing tile or bundle) or TL_ERR_IO. */
TL_MUST_CHECK tl_err tl_audit(tl_store *st, const tl_vkey *key, const tl_checkpoint *cp,
                              const tl_checkpoint *old, tl_audit_result *res, tl_diag *d);

#endif
