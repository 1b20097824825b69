/* gather.h - the log side of C2SP tlog-witness: after each checkpoint, ask every witness of a
 * tlog-policy concurrently to cosign it (add-checkpoint), and publish the newest checkpoint
 * whose cosignatures meet the quorum as the witnessed checkpoint.
 *
 * One thread, owned by the server: a slow or dead witness never blocks sequencing (requests
 * time out; the next round uses the newest checkpoint). A witness answering 409 gets the
 * request again from the size it reports; a witness that refuses for inconsistency, or claims
 * a larger tree for our origin, raises an alarm (metrics, log) and is not retried in a loop.
 */
#ifndef TREATYLOG_GATHER_H
#define TREATYLOG_GATHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/policy.h"
#include "treatylog/sequencer.h"

typedef struct tl_gather_config {
    unsigned interval_ms; /* re-ask at least this often, even with no new entries */
    unsigned timeout_ms;  /* per witness request */
} tl_gather_config;

typedef struct tl_gather tl_gather;

/* Per-witness state, for metrics and health. */
typedef struct tl_gather_witness {
    char name[TL_POLICY_NAME_MAX + 1];
    bool up;                  /* the last request got a 200 */
    uint64_t cosigned_size;   /* the largest size this witness cosigned for us */
    uint64_t last_time;       /* its last cosignature timestamp */
    uint64_t requests, ok, conflicts, alarms, failures;
    char last_error[256];
} tl_gather_witness;

typedef struct tl_gather_stats {
    size_t nwitnesses;
    tl_gather_witness w[TL_POLICY_WITNESSES_MAX];
    uint64_t witnessed_size;  /* newest checkpoint that met the quorum */
    uint64_t rounds;
    bool quorum_met;          /* the last round met the quorum for the newest checkpoint */
    uint64_t quorum_lost_since_ms; /* wall time the quorum was last lost, 0 if met */
} tl_gather_stats;

/* Starts gathering for the sequencer's log under policy p (copied). The policy's witness
 * lines need a URL (the submission prefix). */
TL_MUST_CHECK tl_err tl_gather_start(tl_gather **out, tl_seq *seq, const tl_policy *p,
                                     const tl_gather_config *cfg, tl_diag *d);

/* A snapshot of the state. */
void tl_gather_stats_get(tl_gather *g, tl_gather_stats *out);

/* Stops the thread and frees. NULL-safe. */
void tl_gather_stop(tl_gather *g);

#endif
