/* tlogproof.h - the C2SP tlog-proof format (c2sp.org/tlog-proof@v1): an offline-verifiable
 * proof that an entry is in a log, with the (cosigned) checkpoint it is proved against.
 *
 *   "c2sp.org/tlog-proof@v1" LF ["extra" SP base64 LF] "index" SP <N> LF
 *   *63(base64(hash) LF) LF <checkpoint note>
 *
 * A parsed tl_tlog_proof points into the caller's buffer. Thread-safe.
 */
#ifndef TREATYLOG_TLOGPROOF_H
#define TREATYLOG_TLOGPROOF_H

#include <stddef.h>
#include <stdint.h>

#include "treatylog/checkpoint.h"
#include "treatylog/err.h"
#include "treatylog/hash.h"
#include "treatylog/policy.h"

#define TL_TLOG_PROOF_HEADER "c2sp.org/tlog-proof@v1"
#define TL_TLOG_PROOF_LINES_MAX 63

typedef struct tl_tlog_proof {
    const char *extra_b64; /* NULL if no extra line; else the base64 text (not NUL-terminated) */
    size_t extra_b64_len;
    uint64_t index;
    size_t nproof;
    uint8_t proof[TL_TLOG_PROOF_LINES_MAX][TL_HASH_LEN];
    const char *note; /* the checkpoint note, to the end of the input */
    size_t note_len;
} tl_tlog_proof;

/* Parses strictly: exact header, optional non-empty canonical extra as the second line,
 * canonical index (<= 2^63-1), 0..63 canonical 32-byte hashes, an empty line, then a
 * non-empty note (parsed only by tl_tlog_proof_verify). TL_OK or TL_ERR_FORMAT with the line
 * number in d; *out is untouched on error. */
TL_MUST_CHECK tl_err tl_tlog_proof_parse(tl_tlog_proof *out, const char *buf, size_t len,
                                         tl_diag *d);

/* Formats a tlog-proof into a fresh malloc'd NUL-terminated buffer *out (caller frees).
 * extra may be NULL (no extra line); if not, extra_len must be > 0. note is the checkpoint
 * note verbatim (non-empty). The output parses back to the same fields. Returns TL_OK,
 * TL_ERR_USAGE (index > 2^63-1, nproof > 63, empty extra or note), TL_ERR_TOOBIG or
 * TL_ERR_NOMEM. */
TL_MUST_CHECK tl_err tl_tlog_proof_format(char **out, size_t *outlen, uint64_t index,
                                          const uint8_t (*proof)[TL_HASH_LEN], size_t nproof,
                                          const uint8_t *extra, size_t extra_len,
                                          const char *note, size_t note_len, tl_diag *d);

/* Verifies a parsed proof for leaf hash `leaf`: checkpoint accepted by the policy (log
 * signature and quorum, tl_policy_check) and inclusion at index. On TL_OK *cp (if non-NULL)
 * holds the checkpoint. Returns TL_OK, TL_ERR_FORMAT, TL_ERR_SIGNATURE, TL_ERR_QUORUM or
 * TL_ERR_PROOF. */
TL_MUST_CHECK tl_err tl_tlog_proof_verify(const tl_tlog_proof *p,
                                          const uint8_t leaf[static TL_HASH_LEN],
                                          const tl_policy *policy, tl_checkpoint *cp,
                                          tl_diag *d);

#endif
