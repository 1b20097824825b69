/* rules.h - the rules engine (DESIGN §6, docs/rules.md): a deterministic, incremental
 * evaluator of a ruleset over the notifications of a log, giving findings in the FINDING
 * shape of docs/decisions/0003-treaty-api.md.
 *
 * Feed it the log in order: tl_engine_add() for every notification entry, tl_engine_witnessed()
 * for every witnessed checkpoint, tl_engine_set_registry() whenever the registry changes. "Now"
 * only advances with witnessed checkpoints: a deadline is missed once a witnessed checkpoint
 * whose witness time is past it exists. Findings are a pure function of (ruleset, the log
 * prefix of a size, the witnessed checkpoints up to that size): tl_engine_findings() gives
 * them for any size up to what was fed ("as of" that checkpoint), byte for byte the same
 * however the calls were interleaved.
 *
 * No I/O. THREAD SAFETY: an engine has one owner; no internal locking.
 */
#ifndef TREATYLOG_RULES_H
#define TREATYLOG_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/hash.h"
#include "treatylog/notification.h"
#include "treatylog/registry.h"
#include "treatylog/ruleset.h"

#define TL_FINDING_PARTIES_MAX 8 /* parties named by one finding */
#define TL_RULES_NONE          UINT64_MAX

typedef struct tl_engine tl_engine;

/* Finding states (0003). */
typedef enum tl_finding_state {
    TL_FINDING_PENDING,
    TL_FINDING_MET,
    TL_FINDING_MISSED,
    TL_FINDING_LATE,
    TL_FINDING_BREACH,
    TL_FINDING_ADVISORY,
    TL_FINDING_VOID,
    TL_FINDING_OPERATOR_TIME,
} tl_finding_state;

/* One finding as of a view, handed to a tl_finding_fn; valid only during the call. */
typedef struct tl_finding {
    const char *id;   /* "<rule>/<trigger>[/<n>]" */
    const char *rule; /* rule id */
    tl_finding_state state;
    const char *state_name; /* "missed", ... */
    const char *severity;   /* state, or the rule's severity for missed/late */
    size_t nparties;
    const char (*parties)[TL_PARTY_LEN + 1];
    uint64_t trigger; /* log index */
    size_t nentries;
    const uint64_t *entries; /* log indices the finding rests on, ascending */
    bool has_due;
    int64_t due_ms; /* Unix milliseconds */
    bool has_range;
    uint64_t range_from, range_to; /* absence findings: inclusive log index range */
    const char *json;              /* the canonical FINDING line, no LF */
    size_t json_len;
} tl_finding;

/* Called once per finding, in order; a non-zero return stops the listing. */
typedef int (*tl_finding_fn)(void *ctx, const tl_finding *f);

/* A new engine for the ruleset rs, which must outlive it. NULL when out of memory. */
tl_engine *tl_engine_new(const tl_ruleset *rs);

/* Frees an engine. NULL-safe. */
void tl_engine_free(tl_engine *e);

/* The registry in force from now on (copied: r may change or go afterwards). Call it before
 * the first tl_engine_add and after every registry entry, in log order. It decides "every
 * registered party" (due-date rules) and roles (party role:<name>). TL_OK or TL_ERR_NOMEM. */
TL_MUST_CHECK tl_err tl_engine_set_registry(tl_engine *e, const tl_registry *r);

/* Notes a log entry that is not a notification (a registry entry, or one that does not parse),
 * so that indices keep step: index must be the next index. A logged_ms below the previous
 * entry's (e.g. 0 for an entry without a time) is taken as the previous entry's. TL_OK,
 * TL_ERR_USAGE (index out of order), TL_ERR_NOMEM. */
TL_MUST_CHECK tl_err tl_engine_skip(tl_engine *e, uint64_t index, uint64_t logged_ms);

/* Evaluates the notification entry at log index `index` (the next index: every entry, including
 * skipped ones, is given in order), sequenced at logged_ms (Unix ms, never decreasing), with
 * leaf hash leaf. n is read during the call only (what is needed is copied). Returns TL_OK,
 * TL_ERR_USAGE (index not the next one, logged_ms decreasing or after the year 9999; the
 * engine is unchanged),
 * TL_ERR_NOMEM (the engine must then be discarded). d gets the reason. */
TL_MUST_CHECK tl_err tl_engine_add(tl_engine *e, uint64_t index, uint64_t logged_ms,
                                   const uint8_t leaf[TL_HASH_LEN], const tl_notification *n,
                                   tl_diag *d);

/* A witnessed checkpoint of `size` entries whose witness time (0003) is witness_time_s (Unix
 * seconds). Checkpoints come in order of size (equal sizes allowed); every entry below size
 * must have been added. This is what moves "now": open deadlines before the witness time
 * become missed, due dates pass, operator times are checked. TL_OK, TL_ERR_USAGE (size
 * decreasing or beyond the entries added, or a time outside 1970..9999), TL_ERR_NOMEM. */
TL_MUST_CHECK tl_err tl_engine_witnessed(tl_engine *e, uint64_t size, int64_t witness_time_s,
                                         tl_diag *d);

/* Number of entries added so far (the next index). */
uint64_t tl_engine_size(const tl_engine *e);

/* The size of the latest witnessed checkpoint whose witness time is <= time_s, or 0 if none:
 * the view an analyst asking "as of TIME" gets. */
uint64_t tl_engine_size_at(const tl_engine *e, int64_t time_s);

/* Lists the findings as of the log prefix of `size` entries (size <= tl_engine_size; pass
 * tl_engine_size(e) for "now"), with the witnessed checkpoints of size <= size, sorted by
 * trigger index, then rule id, then id. Calls fn for each. Returns TL_OK, TL_ERR_USAGE
 * (size too large), TL_ERR_NOMEM, or TL_ERR_CONFLICT if fn stopped the listing. */
TL_MUST_CHECK tl_err tl_engine_findings(const tl_engine *e, uint64_t size, tl_finding_fn fn,
                                        void *ctx);

/* As tl_engine_findings, but each finding is first offered to `pick` with only its key set
 * (id, rule, state, state_name, severity, parties, trigger; no entries, due, range or json):
 * pick returns 1 to have it formatted and given to fn, 0 to pass it by unformatted, and
 * anything else to stop the listing (TL_ERR_CONFLICT). A page deep in a long list, a filter or
 * a count then formats only what it returns. pick NULL: every finding goes to fn. */
TL_MUST_CHECK tl_err tl_engine_findings_pick(const tl_engine *e, uint64_t size, tl_finding_fn pick,
                                             tl_finding_fn fn, void *ctx);

/* All findings as of `size` as canonical JSON lines, each ending in LF, in the order above.
 * *out is malloc'd and NUL-terminated (caller frees), *len its length. TL_OK, TL_ERR_USAGE,
 * TL_ERR_NOMEM. */
TL_MUST_CHECK tl_err tl_engine_findings_text(const tl_engine *e, uint64_t size, char **out,
                                             size_t *len);

/* The name of a finding state ("pending", ..., "operator-time"). */
const char *tl_finding_state_name(tl_finding_state s);

#endif
