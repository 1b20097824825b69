/* treaty.h - treaty mode (issue 5, DESIGN §3, decision 0003): the log accepts only signed
 * notifications from registered parties and registry changes signed by the operator, wraps
 * each into a treatylog/entry/v1 entry with the operator's `logged` time, and keeps the query
 * index (qindex.h) current as entries are integrated.
 *
 * A submission is accepted only if it parses, validates against its type's schema, its `from`
 * is a registered party whose current key signed it (and holds the role the type requires),
 * its `serial` is new for that sender, and every `refs` entry exists with a permitted type.
 * Refusals: TL_ERR_FORMAT (HTTP 400), TL_ERR_SIGNATURE (403), TL_ERR_CONFLICT (409), with the
 * reason in d; nothing is logged. The same bytes submitted again are a duplicate, not a
 * replay: they get the first entry's answer.
 *
 * Use: tl_treaty_open (before the sequencer: it brings the query index up to the published
 * log and rebuilds the registry from the registry entries alone), tl_treaty_seq_config (the
 * sequencer hooks), tl_seq_open, tl_treaty_attach, then tl_treaty_submit from any thread.
 *
 * THREAD SAFETY: tl_treaty_submit and the query functions may be called from any thread.
 */
#ifndef TREATYLOG_TREATY_H
#define TREATYLOG_TREATY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/qindex.h"
#include "treatylog/registry.h"
#include "treatylog/schema.h"
#include "treatylog/sequencer.h"

typedef struct tl_treaty tl_treaty;

/* True if the log in dir is a treaty log: its entry 0 is a treatylog/entry/v1 entry holding a
 * registry document (as `treatylog init --registry` writes). False for raw logs and on error. */
bool tl_treaty_is_treaty_log(const char *dir);

/* Opens treaty mode for the log in dir (the log must exist; nobody else may write the query
 * index): the query index DIR/.treatylog/query.db, brought up to the published size, and the
 * registry in force. schemas must outlive the tl_treaty. */
TL_MUST_CHECK tl_err tl_treaty_open(tl_treaty **out, const char *dir, const tl_schemas *schemas,
                                    tl_diag *d);

/* Fills the keyed-mode hooks of a sequencer configuration (split, integrated). */
void tl_treaty_seq_config(tl_treaty *t, tl_seq_config *cfg);

/* Another integration hook, called after the query index took each batch (e.g. the rules). */
void tl_treaty_chain(tl_treaty *t, tl_integrated_fn next, void *ctx);

/* Gives the treaty layer the sequencer it submits to (once, after tl_seq_open). */
void tl_treaty_attach(tl_treaty *t, tl_seq *s);

/* Checks a submission (a signed note) and, if it passes, submits the entry it becomes: as
 * tl_seq_submit_keyed, with the refusals above. */
TL_MUST_CHECK tl_err tl_treaty_submit(tl_treaty *t, const uint8_t *body, size_t len, bool wait,
                                      tl_answer_fn cb, void *ctx, tl_diag *d);

/* The query index (shared; thread-safe). */
tl_qindex *tl_treaty_qindex(tl_treaty *t);

/* A snapshot of the registry in force, including changes accepted but not yet integrated
 * (free with tl_registry_free). NULL when out of memory. */
tl_registry *tl_treaty_registry(tl_treaty *t);

/* Counters: submissions refused by reason class. */
typedef struct tl_treaty_stats {
    uint64_t accepted, refused_format, refused_signature, refused_conflict;
} tl_treaty_stats;
void tl_treaty_stats_get(tl_treaty *t, tl_treaty_stats *out);

/* The sequencer split for treaty entries (tl_entry_split_fn): key = the submission key, head =
 * the entry header. Pure. */
bool tl_treaty_split(const uint8_t *entry, size_t len, uint8_t key[TL_HASH_LEN],
                     size_t *head_len);

/* The clock that gives `logged` (NULL, the default: the real clock). Set before submitting. */
struct tl_clock;
void tl_treaty_set_clock(tl_treaty *t, const struct tl_clock *c);

/* Closes (after the sequencer is closed). NULL-safe. */
void tl_treaty_close(tl_treaty *t);

#endif
