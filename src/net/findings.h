/* findings.h - the live findings of `serve` (GET /v1/findings, /v1/findings/<id>/evidence):
 * a rules follower kept current by the sequencer's hooks. At start-up it evaluates the log
 * already there in a background thread, so serving starts at once (DESIGN §5); until it has
 * caught up, the findings endpoints answer 503 with the progress.
 */
#ifndef TREATYLOG_NET_FINDINGS_H
#define TREATYLOG_NET_FINDINGS_H

#include "api.h"
#include "treatylog/policy.h"
#include "treatylog/ruleset.h"
#include "treatylog/schema.h"
#include "treatylog/sequencer.h"
#include "treatylog/treaty.h"

typedef struct tl_live_findings tl_live_findings;

/* A findings service for the ruleset rs (its file name and text hash are what evidence files
 * name). All arguments must outlive it. Call tl_live_findings_hooks before tl_seq_open and
 * tl_live_findings_start after. */
TL_MUST_CHECK tl_err tl_live_findings_new(tl_live_findings **out, const tl_ruleset *rs,
                                          const char *ruleset_name,
                                          const uint8_t ruleset_sha256[32],
                                          const tl_schemas *schemas, const tl_vkey *op_key,
                                          const tl_policy *policy, tl_diag *d);

/* Wires the hooks: the treaty layer's integration chain and the sequencer's witnessed hook. */
void tl_live_findings_hooks(tl_live_findings *f, tl_treaty *t, tl_seq_config *cfg);

/* Starts catching up with the log of seq (background thread). */
TL_MUST_CHECK tl_err tl_live_findings_start(tl_live_findings *f, tl_seq *seq, tl_diag *d);

/* The source for the HTTP API. */
const tl_findings_src *tl_live_findings_src(tl_live_findings *f);

/* Calls fn for each finding whose (id, state) was not reported before: the demo prints them
 * as they appear. Returns how many. */
size_t tl_live_findings_news(tl_live_findings *f, void (*fn)(void *ctx, const char *json),
                             void *ctx);

/* The largest witnessed size the rules have applied. */
uint64_t tl_live_findings_witnessed_size(tl_live_findings *f);

/* The witness time (Unix seconds) of the last witnessed note the rules applied; 0 before. */
int64_t tl_live_findings_witnessed_time(tl_live_findings *f);

/* Calls fn with every current finding line (as of that size). */
void tl_live_findings_all(tl_live_findings *f, void (*fn)(void *ctx, const char *json),
                          void *ctx);

/* Stops the thread and frees (after the sequencer is closed). NULL-safe. */
void tl_live_findings_free(tl_live_findings *f);

#endif
