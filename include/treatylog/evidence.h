/* evidence.h - evidence files (treatylog/evidence/v1, decision 0003, docs/formats.md): a
 * finding, the entries it rests on with RFC 6962 inclusion proofs against one witnessed
 * checkpoint, the registry entries in force, and the witnessed checkpoints that bound those
 * entries' logging times; checkable offline by anyone with the witness policy and the ruleset.
 */
#ifndef TREATYLOG_EVIDENCE_H
#define TREATYLOG_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/hash.h"
#include "treatylog/log.h"
#include "treatylog/policy.h"
#include "treatylog/rules.h"
#include "treatylog/ruleset.h"
#include "treatylog/schema.h"

#define TL_EVIDENCE_FORMAT "treatylog/evidence/v1"

/* Where the builder reads the log. */
typedef struct tl_evidence_src {
    tl_reader *reader; /* the log at size >= checkpoint size: entries and hashes */
    /* The witnessed checkpoints around entry `index`, as the rules saw them: the latest
     * archived (re-cosigned) note of the one just below (size <= index) and the first
     * archived note of the one just above (size > index, at most the checkpoint's size); a
     * missing one gets size 0 and note NULL. Notes are malloc'd (the builder frees them). */
    tl_err (*near)(void *ctx, uint64_t index, uint64_t *below, char **below_note,
                   size_t *below_len, uint64_t *above, char **above_note, size_t *above_len,
                   tl_diag *d);
    void *ctx;
    const char *checkpoint; /* the witnessed checkpoint the findings were computed at: the
                               latest archived note of its size (its time is "now") */
    size_t checkpoint_len;
    uint64_t size; /* its size */
    const char *ruleset_name;
    uint8_t ruleset_sha256[TL_HASH_LEN];
} tl_evidence_src;

/* Builds the evidence file of finding f (from tl_engine_findings at src->size): f's entries,
 * and for an absence finding every entry of its range; the registry entries regs[0..nregs);
 * the witnessed checkpoints next to each. *out is malloc'd JSON text ending in LF. */
TL_MUST_CHECK tl_err tl_evidence_build(const tl_evidence_src *src, const tl_finding *f,
                                       const uint64_t *regs, size_t nregs, char **out,
                                       size_t *len, tl_diag *d);

/* Checks an evidence file offline: its checkpoint and every witnessed checkpoint meet policy
 * (log key and witness quorum), every entry's inclusion proof verifies against the checkpoint,
 * the ruleset text hashes to the file's ruleset and is one the logged registry names (text
 * NULL: the text logged with the file's registry entries, TL_ERR_NOTFOUND if they carry none), and
 * replaying the file's entries and checkpoints through the rules re-derives the file's
 * finding byte for byte. On TL_OK, *finding (if non-NULL) gets a malloc'd copy of the finding
 * line. TL_ERR_FORMAT (malformed), TL_ERR_SIGNATURE / TL_ERR_QUORUM (checkpoint),
 * TL_ERR_PROOF (an entry is not in the log), TL_ERR_CONFLICT (ruleset or finding differ). */
TL_MUST_CHECK tl_err tl_evidence_verify(const char *text, size_t len, const tl_policy *policy,
                                        const char *ruleset_text, size_t ruleset_len,
                                        const tl_schemas *schemas, char **finding, tl_diag *d);

#endif
