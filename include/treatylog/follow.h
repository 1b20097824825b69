/* follow.h - a rules engine fed from a treaty log: entries in log order (decoded here: the
 * entry header, the signed submission, the notification or registry document inside) and
 * witnessed checkpoints (their witness time under the policy, decision 0003). `check` feeds it
 * a whole log, `serve` feeds it as entries are integrated and checkpoints witnessed, and
 * `verify-evidence` feeds it the entries of an evidence file.
 *
 * A call with many entries decodes them on two threads (the caller's and a worker the follower
 * starts on first need and joins in tl_follow_free) while the caller feeds the engine in log
 * order: the findings are the same as when fed one entry per call.
 *
 * THREAD SAFETY: every function locks the follower; any thread may call.
 */
#ifndef TREATYLOG_FOLLOW_H
#define TREATYLOG_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/key.h"
#include "treatylog/policy.h"
#include "treatylog/rules.h"
#include "treatylog/ruleset.h"
#include "treatylog/schema.h"

typedef struct tl_follow tl_follow;

/* A follower for ruleset rs (which, like schemas, op_key and policy, must outlive it).
 * op_key signs registry documents (the log's key); policy decides witness times (NULL: none,
 * then no deadline can pass). */
TL_MUST_CHECK tl_err tl_follow_new(tl_follow **out, const tl_ruleset *rs,
                                   const tl_schemas *schemas, const tl_vkey *op_key,
                                   const tl_policy *policy, tl_diag *d);

void tl_follow_free(tl_follow *f);

/* With verify on, a notification counts only if a current key of its `from` party (in the
 * registry as of its index) signed it; others are stepped over like raw entries. `check` and
 * `verify-evidence` turn it on (they trust nothing the operator wrote); `serve` leaves it off
 * (it checked each signature when the submission arrived). Off by default. */
void tl_follow_set_verify(tl_follow *f, bool verify);

/* Entries first..first+n-1 of the log. Entries before the follower's size are ignored; a gap
 * (first past its size) is TL_ERR_RANGE. An entry that is neither a notification nor a registry
 * document that applies is stepped over (it is logged, but rules read nothing in it). */
TL_MUST_CHECK tl_err tl_follow_entries(tl_follow *f, uint64_t first,
                                       const uint8_t *const *entries, const size_t *lens,
                                       size_t n, tl_diag *d);

/* Steps over entry `index` without its bytes (evidence files hold only the entries a finding
 * rests on). index must be the follower's size. */
TL_MUST_CHECK tl_err tl_follow_skip(tl_follow *f, uint64_t index, tl_diag *d);

/* A witnessed checkpoint: note must meet the policy; its witness time is the latest
 * timestamp among the listed witnesses' cosignatures. Feed each size's first archived note,
 * then its re-cosignings (the same size, later times: on a quiet log they are what moves
 * deadlines past). A smaller size, or the same size at no later time, is ignored; one past
 * the entries fed so far waits until they are. TL_ERR_SIGNATURE / TL_ERR_QUORUM /
 * TL_ERR_FORMAT for a note the policy rejects. */
TL_MUST_CHECK tl_err tl_follow_witnessed(tl_follow *f, uint64_t size, const char *note,
                                         size_t len, tl_diag *d);

/* A copy of the witnessed note applied last (the view's "now"), with its size: what evidence
 * files prove against. TL_ERR_NOTFOUND before any, TL_ERR_NOMEM. */
TL_MUST_CHECK tl_err tl_follow_witnessed_note(tl_follow *f, uint64_t *size, char **note,
                                              size_t *len);

/* The witness time (Unix seconds) of the note applied last; 0 before any. */
int64_t tl_follow_witnessed_time(tl_follow *f);

/* Entries fed so far, and the largest witnessed size applied. */
uint64_t tl_follow_size(tl_follow *f);
uint64_t tl_follow_witnessed_size(tl_follow *f);

/* The findings as of log size `size` (0: the largest witnessed size applied; see
 * tl_engine_findings), as canonical JSON lines (each ending in LF). *out is malloc'd. */
TL_MUST_CHECK tl_err tl_follow_findings_text(tl_follow *f, uint64_t size, char **out,
                                             size_t *len);

/* The log size as of time_s: the largest witnessed size whose witness time <= time_s. */
uint64_t tl_follow_size_at(tl_follow *f, int64_t time_s);

/* Calls fn for each finding as of size (0 as above) under the follower's lock. */
TL_MUST_CHECK tl_err tl_follow_findings(tl_follow *f, uint64_t size, tl_finding_fn fn,
                                        void *ctx);

/* tl_engine_findings_pick under the follower's lock (size 0 as above). */
TL_MUST_CHECK tl_err tl_follow_findings_pick(tl_follow *f, uint64_t size, tl_finding_fn pick,
                                             tl_finding_fn fn, void *ctx);

/* The indexes of the registry entries applied so far, ascending (*out malloc'd). */
TL_MUST_CHECK tl_err tl_follow_registry_entries(tl_follow *f, uint64_t **out, size_t *n);

#endif
