/* witness_state.h - the witness's state directory (private to src/net): one durable record per
 * origin (in memory, made durable by an append-only journal), replaced by compare-and-swap
 * with group commit, a one-process lock, the key the directory belongs to, and evidence
 * files. Layout and write protocol: witness_state.c.
 *
 * THREAD SAFETY: every function but open and close may be called from any thread. Replacing
 * one origin's record from two threads at once is safe (the second CAS fails), but callers
 * serialise per origin anyway (src/net/witness.c holds the origin's mutex).
 */
#ifndef TREATYLOG_NET_WITNESS_STATE_H
#define TREATYLOG_NET_WITNESS_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/key.h"
#include "treatylog/store.h"

#define TL_WSTATE_BATCH_MAX 1024 /* most records one group commit writes */

typedef struct tl_wstate tl_wstate;

typedef struct tl_wstate_stats {
    uint64_t commits;       /* records replaced */
    uint64_t batches;       /* group commits (one journal write and one fdatasync each) */
    uint64_t conflicts;     /* CAS failures */
    uint64_t io_errors;     /* failed writes, syncs or renames (compactions included) */
    uint64_t evidence;      /* evidence files written */
    uint64_t compactions;   /* journal compactions done */
    uint64_t journal_bytes; /* size of DIR/state.journal */
    uint64_t torn_bytes;    /* bytes of a torn tail cut off the journal at open */
    uint64_t records;       /* origins with a record */
    bool healthy;           /* false once the outcome of a write is unknown: restart needed */
    char last_error[TL_DIAG_LEN];
} tl_wstate_stats;

/* Opens (creating if needed) state directory dir for witness key `witness`: takes DIR/lock
 * (TL_ERR_LOCKED if another process holds it), checks or writes DIR/witness.pub (TL_ERR_USAGE
 * if the directory belongs to another key), creates cosigned/ and evidence/, loads (or
 * creates) DIR/state.journal, cutting off a torn tail (TL_ERR_FORMAT if it is damaged before
 * its end), imports the records found in cosigned/ (the older layout), removes leftover
 * temporary files and starts the committer thread. sys may be NULL (real calls). */
TL_MUST_CHECK tl_err tl_wstate_open(tl_wstate **out, const char *dir, const tl_vkey *witness,
                                    const tl_sys *sys, tl_diag *d);

/* Stops the committer (after the batch in hand) and releases the lock. NULL-safe. */
void tl_wstate_close(tl_wstate *s);

/* Reads the record named hex (64 lower-case hex digits) into a fresh malloc'd NUL-terminated
 * buffer (from memory: the last durable record). TL_ERR_NOTFOUND if there is none. */
TL_MUST_CHECK tl_err tl_wstate_read(tl_wstate *s, const char *hex, char **buf, size_t *len,
                                    tl_diag *d);

/* Durably replaces record hex with rec[0..len) if its current content is exactly
 * expect[0..elen) (elen 0: the record must not exist). Blocks until the group commit that
 * carries it is durable. Returns TL_OK (durable), TL_ERR_CONFLICT (the record was not
 * `expect`; nothing written), TL_ERR_TOOBIG (over 1 MiB), TL_ERR_IO (nothing changed; or,
 * if the failed write could not be undone, unknown, and the store is unhealthy from then
 * on). */
TL_MUST_CHECK tl_err tl_wstate_replace(tl_wstate *s, const char *hex, const char *expect,
                                       size_t elen, const char *rec, size_t len, tl_diag *d);

/* Writes evidence/<now>-<hex>[-N]: a header (time, origin, status, reason), the stored record
 * and the request body, each length-prefixed, then fsyncs it and the directory. The name used
 * goes to name (at least 96 bytes) if non-NULL. */
TL_MUST_CHECK tl_err tl_wstate_evidence(tl_wstate *s, const char *hex, uint64_t now,
                                        const char *origin, unsigned status, const char *reason,
                                        const char *stored, size_t slen, const char *body,
                                        size_t blen, char *name, tl_diag *d);

/* A snapshot of the counters. */
void tl_wstate_stats_get(tl_wstate *s, tl_wstate_stats *out);

#endif
