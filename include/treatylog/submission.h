/* submission.h - the client's check of a treaty-mode answer (docs/decisions/0003): POST /add
 * answers a signed submission with a c2sp.org/tlog-proof@v1 whose `extra` line is the base64
 * of the entry header, so that
 *
 *   entry = base64decode(extra) || submission        ("treatylog/entry/v1" LF
 *                                                     "logged" SP <unix ms> LF LF <submission>)
 *
 * and the proof is an inclusion proof of SHA-256(0x00 || entry). A party checks that the header
 * is exactly one well-formed entry header (it swallows no byte of what was sent), that the
 * entry is at most TL_ENTRY_MAX bytes, and that the proof verifies against its trust policy.
 * Pure code, no I/O; thread-safe.
 */
#ifndef TREATYLOG_SUBMISSION_H
#define TREATYLOG_SUBMISSION_H

#include <stddef.h>
#include <stdint.h>

#include "treatylog/checkpoint.h"
#include "treatylog/err.h"
#include "treatylog/hash.h"
#include "treatylog/policy.h"

/* What a verified answer proves. Owns entry (free with tl_submission_proof_free). */
typedef struct tl_submission_proof {
    uint64_t index;            /* the entry's index in the log */
    uint64_t logged_ms;        /* the operator's logged time, Unix milliseconds */
    uint8_t leaf[TL_HASH_LEN]; /* SHA-256(0x00 || entry) */
    tl_checkpoint cp;          /* the checkpoint the proof is against */
    uint8_t *entry;            /* the rebuilt entry (malloc'd) */
    size_t entry_len;
} tl_submission_proof;

/* Rebuilds the entry from the base64 extra line of a tlog-proof and the submission sub[0..len)
 * that was sent: *entry gets a malloc'd copy of header || sub (caller frees), *elen its length,
 * *logged_ms the logged time. The decoded extra must be exactly one entry header (tl_entry_parse
 * of the result finds the submission byte for byte). TL_ERR_FORMAT (reason in d), TL_ERR_TOOBIG
 * (entry over TL_ENTRY_MAX) or TL_ERR_NOMEM; outputs untouched on error. */
TL_MUST_CHECK tl_err tl_submission_entry(uint8_t **entry, size_t *elen, uint64_t *logged_ms,
                                         const char *extra_b64, size_t extra_len,
                                         const uint8_t *sub, size_t len, tl_diag *d);

/* Checks the answer proof[0..plen) to the submission sub[0..len): parses the tlog-proof,
 * requires an extra line, rebuilds the entry (tl_submission_entry) and verifies the proof for
 * its leaf hash against policy (log signature, witness quorum, inclusion). On TL_OK *out is
 * filled (free with tl_submission_proof_free); on error *out is zeroed. Returns TL_OK,
 * TL_ERR_FORMAT (malformed answer, no extra line, bad header), TL_ERR_TOOBIG, TL_ERR_NOMEM,
 * TL_ERR_SIGNATURE, TL_ERR_QUORUM or TL_ERR_PROOF, with the reason in d. */
TL_MUST_CHECK tl_err tl_submission_proof_verify(tl_submission_proof *out, const char *proof,
                                                size_t plen, const uint8_t *sub, size_t len,
                                                const tl_policy *policy, tl_diag *d);

/* Frees what a verified answer owns and zeroes it. NULL-safe. */
void tl_submission_proof_free(tl_submission_proof *p);

#endif
