/* journal.h - the submission journal: where an accepted entry becomes durable before it is
 * integrated into the tiles, with group commit (one write and one fdatasync for a whole
 * batch of submissions).
 *
 * File DIR/.treatylog/journal:
 *   header  "TLJRNL01" || u64be base                      base = log size when it started
 *   record  u32be len || u64be accepted_ms || entry[len] || u32be crc32(len..entry)
 * Record i of a journal stands for log index base + i: the sequencer integrates records in
 * journal order, so after a crash the records past the published size are re-added in the
 * same order and land at the same indexes. A torn or corrupt tail (a crash mid-write) ends the
 * journal and is cut off at open. The file is preallocated with zeros (fsynced before use) so
 * that a batch needs one fdatasync and no inode write; the zeros end the journal like a torn
 * tail.
 *
 * THREAD SAFETY: one owner thread.
 */
#ifndef TREATYLOG_JOURNAL_H
#define TREATYLOG_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/store.h"

typedef struct tl_journal tl_journal;

/* One recovered record (entry points into a buffer owned by the journal until the next call
 * that modifies it). */
typedef struct tl_journal_rec {
    const uint8_t *entry;
    size_t len;
    uint64_t accepted_ms;
} tl_journal_rec;

/* Opens (or creates, with base = log_size) the journal of the log in dir. Records whose
 * index is below log_size are already integrated; the others are returned in *recs and *nrecs
 * (valid until the next append or reset) to be integrated again, in order. A journal whose
 * base is past log_size is TL_ERR_CONFLICT (the log lost entries: refuse to start). */
TL_MUST_CHECK tl_err tl_journal_open(tl_journal **out, const char *dir, const tl_sys *sys,
                                     uint64_t log_size, tl_journal_rec **recs, size_t *nrecs,
                                     tl_diag *d);

/* Appends n records with one write and one fdatasync. On TL_OK all are durable; on error
 * none is acknowledged and the file is cut back to its previous length. */
TL_MUST_CHECK tl_err tl_journal_append(tl_journal *j, const uint8_t *const *entries,
                                       const size_t *lens, size_t n, uint64_t accepted_ms,
                                       tl_diag *d);

/* Starts an empty journal at base `log_size` (atomically replaces the file); only valid when
 * every record is integrated (base + records == log_size). */
TL_MUST_CHECK tl_err tl_journal_reset(tl_journal *j, uint64_t log_size, tl_diag *d);

/* Index of the next record to be appended (base + records). */
uint64_t tl_journal_next_index(const tl_journal *j);

/* Bytes of header and records (the file itself may be longer: preallocated zeros). */
uint64_t tl_journal_bytes(const tl_journal *j);

/* Closes the file. NULL-safe. */
void tl_journal_close(tl_journal *j);

#endif
