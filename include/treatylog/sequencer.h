/* sequencer.h - the log as a service (DESIGN §5): submissions are deduplicated, made durable in
 * the journal with group commit, integrated into the tiles in batches, published as signed
 * checkpoints, and answered with receipts (durable) or tlog-proofs (integrated).
 *
 * Threads: a journal thread (group commit) and an integration thread own the journal and the
 * log writer; any thread may submit and read. Completion callbacks run on the sequencer's
 * threads and must not block.
 */
#ifndef TREATYLOG_SEQUENCER_H
#define TREATYLOG_SEQUENCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/hash.h"
#include "treatylog/hashindex.h"
#include "treatylog/key.h"
#include "treatylog/store.h"

/* Optional check of a submission before it is journaled (treaty mode plugs in here). Return
 * TL_OK to accept; TL_ERR_FORMAT (400), TL_ERR_SIGNATURE (403) or TL_ERR_CONFLICT (409) with
 * the reason in d to refuse. Called on the submitting thread. */
typedef tl_err (*tl_validate_fn)(void *ctx, const uint8_t *body, size_t len, tl_diag *d);

/* Keyed mode (treaty entries): splits a logged entry into its dedup key and the length of the
 * header that tlog-proofs carry as `extra` (entry = header || submission). Returns false for
 * an entry that has no such split (it is then keyed by its leaf hash, with no extra). */
typedef bool (*tl_entry_split_fn)(const uint8_t *entry, size_t len, uint8_t key[TL_HASH_LEN],
                                  size_t *head_len);

/* Called on the integration thread after entries first..first+n-1 are published (and in the
 * hash index), before their submitters are answered. Must not block for long. */
typedef void (*tl_integrated_fn)(void *ctx, uint64_t first, const uint8_t *const *entries,
                                 const size_t *lens, size_t n);

typedef struct tl_seq_config {
    unsigned batch_ms;          /* integrate at most this long after the first waiting entry */
    unsigned max_batch;         /* most entries per integration (and per journal write) */
    unsigned journal_limit;     /* most accepted-but-unintegrated entries before 429 */
    unsigned integrate_promise_ms; /* receipts promise integration within this */
    unsigned wait_timeout_ms;   /* a waiting submitter gets 503 after this (entry stays durable) */
    uint64_t journal_reset_bytes; /* start a fresh journal past this size, once all integrated */
    const tl_sys *sys;          /* NULL: real system calls */
    tl_validate_fn validate;    /* NULL: raw mode, any bytes are an entry */
    void *validate_ctx;
    tl_entry_split_fn split;    /* NULL: entries are keyed by their leaf hash (raw mode) */
    tl_integrated_fn integrated; /* NULL: nobody follows integration */
    void *integrated_ctx;
    /* Called (on the caller's thread) after each tl_seq_set_witnessed archived a note. */
    void (*witnessed)(void *ctx, uint64_t size, const char *note, size_t len);
    void *witnessed_ctx;
} tl_seq_config;

/* The defaults: 50 ms, 10000, 100000, 10000 ms, 30000 ms, 64 MiB, NULL, NULL. */
void tl_seq_config_default(tl_seq_config *c);

typedef enum tl_answer_kind {
    TL_ANSWER_ERROR = 0,   /* err/msg say why */
    TL_ANSWER_RECEIPT = 1, /* body: a treatylog receipt (durable, not yet integrated) */
    TL_ANSWER_PROOF = 2,   /* body: a c2sp.org/tlog-proof@v1 */
} tl_answer_kind;

typedef struct tl_answer {
    tl_answer_kind kind;
    tl_err err;
    char msg[TL_DIAG_LEN];
    char *body; /* malloc'd; the callback takes ownership */
    size_t body_len;
    uint64_t index;     /* for proofs */
    bool duplicate;     /* the entry was already submitted */
} tl_answer;

/* Called exactly once per accepted submission, on a sequencer thread. */
typedef void (*tl_answer_fn)(void *ctx, tl_answer *a);

typedef struct tl_seq tl_seq;

/* Opens the log in dir as its one writer, recovers (re-integrates the journal past the
 * published size, re-indexes what the hash index misses) and starts the threads. */
TL_MUST_CHECK tl_err tl_seq_open(tl_seq **out, const char *dir, const tl_seq_config *cfg,
                                 tl_diag *d);

/* Submits one entry. wait: answer once integrated (a tlog-proof) rather than once durable
 * (a receipt). On TL_OK, cb will be called exactly once. Otherwise nothing was accepted:
 * TL_ERR_PUSHBACK (journal full: 429), TL_ERR_IO (the log cannot write now: 503),
 * TL_ERR_TOOBIG, TL_ERR_FORMAT/SIGNATURE/CONFLICT from the validation hook. */
TL_MUST_CHECK tl_err tl_seq_submit(tl_seq *s, const uint8_t *body, size_t len, bool wait,
                                   tl_answer_fn cb, void *ctx, tl_diag *d);

/* Submits one entry in keyed mode (cfg.split set): `entry` is already built (header ||
 * submission), key (from cfg.split of the entry) deduplicates, and head_len bytes of the entry
 * go into the answer's tlog-proof as `extra`. The validation hook is NOT called: the caller
 * has validated. Otherwise as tl_seq_submit. */
TL_MUST_CHECK tl_err tl_seq_submit_keyed(tl_seq *s, const uint8_t *entry, size_t len,
                                         const uint8_t key[static TL_HASH_LEN], size_t head_len,
                                         bool wait, tl_answer_fn cb, void *ctx, tl_diag *d);

/* Whether an entry with this leaf hash is in the log: TL_OK with *index if integrated,
 * TL_ERR_PUSHBACK if accepted and durable-or-queued but not yet integrated, TL_ERR_NOTFOUND. */
TL_MUST_CHECK tl_err tl_seq_lookup_leaf(tl_seq *s, const uint8_t leaf[static TL_HASH_LEN],
                                        uint64_t *index, tl_diag *d);

/* The published size (cheap). */
uint64_t tl_seq_size(tl_seq *s);

/* Stops accepting, integrates and publishes everything accepted, answers every waiter and
 * stops the threads. Reads (checkpoint, proofs) keep working until tl_seq_close, so an HTTP
 * front can finish its in-flight requests in between. Idempotent, NULL-safe. */
void tl_seq_stop(tl_seq *s);

/* tl_seq_stop, then frees everything. Nothing may use s afterwards. NULL-safe. */
void tl_seq_close(tl_seq *s);

/* The latest published checkpoint note (a malloc'd copy) and its size. */
TL_MUST_CHECK tl_err tl_seq_checkpoint(tl_seq *s, char **note, size_t *len, uint64_t *size,
                                       tl_diag *d);

/* A tlog-proof for the entry with this leaf hash against the latest checkpoint (malloc'd).
 * TL_ERR_NOTFOUND if unknown; TL_ERR_PUSHBACK if accepted but not yet integrated. */
TL_MUST_CHECK tl_err tl_seq_proof_by_hash(tl_seq *s, const uint8_t leaf[static TL_HASH_LEN],
                                          char **body, size_t *len, tl_diag *d);

/* A tlog-proof for entry index against the published checkpoint of `size` (0 = latest). */
TL_MUST_CHECK tl_err tl_seq_proof_inclusion(tl_seq *s, uint64_t index, uint64_t size,
                                            char **body, size_t *len, tl_diag *d);

/* Consistency proof lines (base64, one a line) from old to size (0 = latest). */
TL_MUST_CHECK tl_err tl_seq_proof_consistency(tl_seq *s, uint64_t old, uint64_t size,
                                              char **body, size_t *len, tl_diag *d);

/* Waits until a checkpoint larger than known_size is published, or timeout_ms passes, or
 * the sequencer stops; then returns the latest published checkpoint (a malloc'd copy). */
TL_MUST_CHECK tl_err tl_seq_wait_published(tl_seq *s, uint64_t known_size, unsigned timeout_ms,
                                           char **note, size_t *len, uint64_t *size,
                                           tl_diag *d);

/* Records a checkpoint whose cosignatures met the witness quorum: archived durably, and the
 * newest is what GET /checkpoint serves when witnessing is on. */
TL_MUST_CHECK tl_err tl_seq_set_witnessed(tl_seq *s, const char *note, size_t len, uint64_t size,
                                          tl_diag *d);

/* The newest witnessed checkpoint (a malloc'd copy); TL_ERR_NOTFOUND if none yet. */
TL_MUST_CHECK tl_err tl_seq_witnessed(tl_seq *s, char **note, size_t *len, uint64_t *size,
                                      tl_diag *d);

/* The archived witnessed checkpoints of size >= from (at most max), ascending. */
TL_MUST_CHECK tl_err tl_seq_witnessed_list(tl_seq *s, uint64_t from, size_t max,
                                           tl_witnessed_fn cb, void *ctx, tl_diag *d);

/* The witnessed checkpoints around entry `index` (DESIGN §4): cb is called for the last
 * archived one that did not contain it (size <= index), if any, then for the first that did
 * (size > index), if any; each with its first and latest archived notes. */
TL_MUST_CHECK tl_err tl_seq_witnessed_bounds(tl_seq *s, uint64_t index, tl_witnessed_fn below,
                                             tl_witnessed_fn above, void *ctx, tl_diag *d);

/* The log's verifier key. */
const tl_vkey *tl_seq_log_key(const tl_seq *s);

/* The read-only store of the log (for serving tiles), owned by the sequencer. */
tl_store *tl_seq_store(tl_seq *s);

#define TL_LATENCY_BUCKETS 12

typedef struct tl_seq_stats {
    uint64_t size, checkpoints, submitted, accepted, duplicates, rejected, pushback, io_errors;
    uint64_t journal_depth, journal_bytes, batches, batch_entries;
    uint64_t latency_le_ms[TL_LATENCY_BUCKETS]; /* cumulative histogram: submit -> integrated */
    uint64_t latency_count;
    double latency_sum_s;
    bool healthy;           /* false once the sequencer stopped on a commit failure */
    bool writable;          /* false while the journal cannot write (disk full, I/O error) */
    char last_error[TL_DIAG_LEN];
} tl_seq_stats;

/* Upper bounds (ms) of the latency buckets. */
extern const unsigned tl_seq_latency_bounds_ms[TL_LATENCY_BUCKETS];

/* A consistent snapshot of the counters. */
void tl_seq_stats_get(tl_seq *s, tl_seq_stats *out);

#endif
