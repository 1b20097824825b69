/* qindex.h - the query index (issue 5, decision 0003): a SQLite database of every treaty-mode
 * entry's envelope fields (index, leaf, logged, kind, type, from, serial, sent, to, refs,
 * activity, start, end, troops, signers, the submission), behind GET /v1/entries, GET
 * /v1/entries/<index>, the stats page, `treatylog list/show`, and the lookups the treaty
 * validator makes (serials used, leaves and their types, registry entries).
 *
 * Derived data: rebuildable from the log at any time (`treatylog reindex`), and it records how
 * many entries it covers, so a server indexes only what is past `covered` after a restart.
 * Two indexes built from the same log entries (with the same operator key and schemas) have
 * the same rows: the JSON of tl_qindex_query over the whole range is byte-identical.
 *
 * Entries are indexed by kind:
 *   notification  a signed note whose text is a valid treatylog/notification/v1 document
 *   registry      a signed note whose text is a valid treatylog/registry/v1 document:
 *                 type "registry.<action>", from "operator"
 *   other         anything else (a raw entry, a document that does not validate): no fields,
 *                 never an error that stops indexing
 * ROW shapes (decision 0003 lists notification and registry rows): a registry row has
 * "to":["*"], "refs":[] and null serial, sent, activity, start, end, troops; an other row has
 * "kind":"other", null type, from, serial and sent, "to":[] and "refs":[], and logged null
 * unless the entry has the treatylog/entry/v1 header.
 * With an operator key, registry entries are applied in order (tl_registry_apply) and each
 * entry's `signers` are the registered parties whose current key signed it (as of that index);
 * without one, signers is null. The registry state is rebuilt on the first put after open from
 * the stored registry entries alone (no log read).
 *
 * THREAD SAFETY: a tl_qindex holds one SQLite connection serialised by a mutex: every function
 * may be called from any thread. HTTP readers may open more read-only handles on the same file
 * (WAL mode: readers never block the writer).
 */
#ifndef TREATYLOG_QINDEX_H
#define TREATYLOG_QINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "treatylog/err.h"
#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/note.h"
#include "treatylog/notification.h"
#include "treatylog/schema.h"
#include "treatylog/values.h"

#define TL_QINDEX_LIMIT_DEFAULT 100                       /* rows per page when no limit is given */
#define TL_QINDEX_LIMIT_MAX     1000                      /* largest page */
#define TL_QINDEX_TYPE_MAX      (TL_SCHEMA_TYPE_MAX + 16) /* longest type, "registry.<action>" */

typedef struct tl_qindex tl_qindex;

/* Opens (readonly: never creates, never writes) or opens-or-creates the index at path. WAL
 * mode. TL_ERR_NOTFOUND for a missing file when readonly, TL_ERR_FORMAT for a file of another
 * schema version (rebuild it), TL_ERR_IO for SQLite errors, TL_ERR_NOMEM. */
TL_MUST_CHECK tl_err tl_qindex_open(tl_qindex **out, const char *path, bool readonly, tl_diag *d);

/* Closes the index. NULL-safe. */
void tl_qindex_close(tl_qindex *q);

/* How many log entries the index covers (entries 0..covered-1 are indexed). */
uint64_t tl_qindex_covered(tl_qindex *q);

/* Indexes the n consecutive log entries entries[i] (lens[i] bytes) at indexes first..first+n-1,
 * in one transaction, and records covered = first + n. Re-putting entries already covered is a
 * no-op for them (only the part past `covered` is indexed, so a batch delivered twice after a
 * crash is harmless); first > covered (a gap) is TL_ERR_RANGE. operator_key (the log's key,
 * which signs registry documents) may be NULL: then registry entries are not applied and
 * signers are not recorded. schemas validates notifications (required). On error nothing is
 * written. TL_ERR_IO, TL_ERR_NOMEM, TL_ERR_USAGE (readonly handle). */
TL_MUST_CHECK tl_err tl_qindex_put(tl_qindex *q, uint64_t first, const uint8_t *const *entries,
                                   const size_t *lens, size_t n, const tl_vkey *operator_key,
                                   const tl_schemas *schemas, tl_diag *d);

/* What a caller that accepted an entry already established about it (treaty mode, entries this
 * process accepted live), so that tl_qindex_put_known need not parse and verify it again. It
 * applies only to the entry whose leaf hash is `leaf` (checked against the entry itself; a
 * hint for any other entry is ignored), and only to a notification entry:
 *   n        the entry's notification text as tl_notification_parse gave it with the same
 *            schemas the put gets (NULL, or one without doc: the put parses it)
 *   party    a party code; keys[0..nkeys) the keys tl_note_verify checked the entry's signed
 *            note against, with TL_OK, and results[] what it reported per key (nkeys 0: no
 *            verification to hand over)
 * The entry's signers are then decided without a signature verification whenever the
 * party's current keys (as of the entry's index) are among those keys: the signers are the
 * same as verifying would give. Other parties' signatures, or keys that changed, are verified
 * as without a hint. */
typedef struct tl_qindex_known {
    uint8_t leaf[TL_HASH_LEN];
    const tl_notification *n;
    char party[TL_PARTY_LEN + 1];
    size_t nkeys;
    const tl_vkey *keys;
    const tl_sigcheck *results;
} tl_qindex_known;

/* tl_qindex_put with a hint per entry: known[i] (NULL, or known NULL, for none) for
 * entries[i]. The rows are the same as tl_qindex_put would write. */
TL_MUST_CHECK tl_err tl_qindex_put_known(tl_qindex *q, uint64_t first,
                                         const uint8_t *const *entries, const size_t *lens,
                                         const tl_qindex_known *const *known, size_t n,
                                         const tl_vkey *operator_key, const tl_schemas *schemas,
                                         tl_diag *d);

/* The filters of GET /v1/entries, as the strings of the query parameters (NULL = absent), so
 * the HTTP layer passes them as they came: party (a party code, or "operator"), type (exact,
 * or a prefix ending in '*'), since/until (RFC 3339 date "2022-02-11" or UTC date-time
 * "2022-02-11T12:00:00Z", on logged; since inclusive, until exclusive), ref (base64 leaf hash:
 * entries whose refs contain it), after (an index: rows past it), limit (1..1000, default 100). */
typedef struct tl_qfilter {
    const char *party, *type, *since, *until, *ref, *after, *limit;
    const char *time; /* what since/until bound: "logged" (default), "sent" (the sender's
                         claim) or "activity" (an activity whose [start, end] overlaps them) */
} tl_qfilter;

/* The answer of GET /v1/entries: *out = {"entries":[ROW...],"next":N|null,"size":size}, rows in
 * ascending index (decision 0003; next is the `after` of the following page). A bad parameter
 * is TL_ERR_FORMAT with d naming it ("limit: must be a number from 1 to 1000"; HTTP 400).
 * The caller json_decref()s *out. */
TL_MUST_CHECK tl_err tl_qindex_query(tl_qindex *q, const tl_qfilter *f, uint64_t size, json_t **out,
                                     tl_diag *d);

/* The answer of GET /v1/entries/<index> without bounds and proof (the HTTP layer adds them):
 * the ROW plus "notification" (the JSON object; null for kind other), "signers" (party codes,
 * or null if unknown) and "submission" (the signed note text; null for a raw entry).
 * TL_ERR_NOTFOUND if index >= covered. The caller json_decref()s *out. */
TL_MUST_CHECK tl_err tl_qindex_entry(tl_qindex *q, uint64_t index, json_t **out, tl_diag *d);

/* The serial lookup of the treaty validator: TL_OK and the submission key of the first
 * notification from party (2-letter code) with that serial, or TL_ERR_NOTFOUND. A writable
 * handle keeps the (party, serial) pairs of the indexed notifications in memory (loaded on
 * first use or by tl_qindex_serials_load, updated by every put), so a serial never used is
 * answered without SQLite; only a used one reads its key from the index. */
TL_MUST_CHECK tl_err tl_qindex_serial_used(tl_qindex *q, const char *party, uint64_t serial,
                                           uint8_t key_out[static TL_HASH_LEN], tl_diag *d);

/* Loads the in-memory serial set of a writable handle now (rather than on the first
 * tl_qindex_serial_used). TL_ERR_IO, TL_ERR_NOMEM (the lookups then fall back to SQLite). */
TL_MUST_CHECK tl_err tl_qindex_serials_load(tl_qindex *q, tl_diag *d);

/* The refs lookup: TL_OK if an entry with this leaf hash is indexed, with its index (the first
 * one) and type (NUL-terminated, "" for kind other), or TL_ERR_NOTFOUND. */
TL_MUST_CHECK tl_err tl_qindex_leaf_type(tl_qindex *q, const uint8_t leaf[static TL_HASH_LEN],
                                         uint64_t *index, char type[static TL_QINDEX_TYPE_MAX + 1],
                                         tl_diag *d);

/* Calls cb with the index of every registry entry, ascending (those that applied, or all of
 * them if the index was built without an operator key): replaying them rebuilds the registry.
 * cb returns false to stop. */
TL_MUST_CHECK tl_err tl_qindex_registry_entries(tl_qindex *q, bool (*cb)(void *ctx, uint64_t index),
                                                void *ctx, tl_diag *d);

/* For GET /v1/stats: *out = {"per_day":[["2022-02-11",N],...],"parties":["UA",...]}: entries
 * per UTC day of logged (ascending; days without entries left out) and the parties that sent
 * notifications (sorted). The caller json_decref()s *out. */
TL_MUST_CHECK tl_err tl_qindex_stats(tl_qindex *q, json_t **out, tl_diag *d);

/* Writes logged_ms as "YYYY-MM-DDThh:mm:ss.mmmZ" (NUL-terminated) into out. */
void tl_qindex_format_ms(char out[static 32], int64_t logged_ms);

#endif
