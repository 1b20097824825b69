/* witness.h - C2SP tlog-witness v1.0.0 add-checkpoint, the pure part: parse a request body,
 * decide it against the configured logs, the stored state of its origin and a clock value, and
 * produce the HTTP status, the response body and the state to store. No I/O.
 * reference/c2sp-formats.md §7; the HTTP service is in witness_server.h.
 *
 *   body = "old" SP <decimal> LF *63(base64(hash[32]) LF) LF <checkpoint note>
 *          split at the FIRST "\n\n" (the note itself splits at its last one)
 *
 * Decision order (c2sp-formats.md §7.3; the first that applies wins):
 *   413  body over TL_WITNESS_BODY_MAX
 *   400  malformed head, more than 63 proof lines, unparsable note or checkpoint,
 *        extension lines (refused, as Sunlight's witness does)
 *   404  origin not configured
 *   403  no trusted log signature verifies, or a trusted key's line fails to verify
 *   400  old > checkpoint size
 *   422  size 0 with a root other than SHA-256("")
 *   ----- rows below need the origin's stored state; a server runs them under its lock -----
 *   409  old != stored size                     body "<stored size>\n", text/x.tlog.size
 *   409  old == size but root != stored root    (tlog-witness v1.0.0; main says 422)
 *   422  old == size and a non-empty proof
 *   422  old == 0 and a non-empty proof
 *   422  consistency proof old -> size fails against the stored root
 *   200  one cosignature/v1 line over the re-encoded checkpoint text
 *
 * THREAD SAFETY: every function is thread-safe; a tl_witness_logs set is read-only once
 * built, so any number of threads may look up and decide against it concurrently.
 */
#ifndef TREATYLOG_WITNESS_H
#define TREATYLOG_WITNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/checkpoint.h"
#include "treatylog/err.h"
#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/note.h"

#define TL_WITNESS_BODY_MAX     (128 * 1024) /* largest add-checkpoint body accepted */
#define TL_WITNESS_PROOF_MAX    63           /* most consistency proof lines (tlog-witness) */
#define TL_WITNESS_LOG_KEYS_MAX 8            /* most verifier keys configured for one origin */
#define TL_WITNESS_TEXT_MAX     640          /* response body: one cosignature line or a message */

#define TL_WITNESS_CTYPE_TEXT "text/plain; charset=utf-8"
#define TL_WITNESS_CTYPE_SIZE "text/x.tlog.size"

/* ---- configured logs: origin -> verifier keys ---- */

typedef struct tl_witness_log {
    char origin[TL_ORIGIN_MAX + 1]; /* NUL-terminated */
    size_t origin_len;
    size_t index; /* position in the set, 0..count-1, in the order origins were first added */
    size_t nkeys;
    tl_vkey *keys; /* nkeys type 0x01 log keys (owned by the set); no two share (name, id) */
} tl_witness_log;

typedef struct tl_witness_logs tl_witness_logs;

/* An empty set, or NULL when out of memory. */
tl_witness_logs *tl_witness_logs_new(void);

/* Frees the set. NULL-safe. */
void tl_witness_logs_free(tl_witness_logs *s);

/* Adds key k for origin[0..len). Adding the same key twice is a no-op. TL_ERR_USAGE for an
 * origin that is empty, longer than TL_ORIGIN_MAX or not note text, a key that is not type
 * 0x01, a key with the (name, id) of another key of that origin (ambiguous), or a
 * TL_WITNESS_LOG_KEYS_MAX+1st key; TL_ERR_NOMEM. A failed call leaves the set unchanged. */
TL_MUST_CHECK tl_err tl_witness_logs_add(tl_witness_logs *s, const char *origin, size_t len,
                                         const tl_vkey *k, tl_diag *d);

/* Number of origins. */
size_t tl_witness_logs_count(const tl_witness_logs *s);

/* The origin at index i (< count). */
const tl_witness_log *tl_witness_logs_at(const tl_witness_logs *s, size_t i);

/* The log with this exact origin, or NULL. */
const tl_witness_log *tl_witness_logs_find(const tl_witness_logs *s, const char *origin,
                                           size_t len);

/* ---- stored state ---- */

/* What the witness last cosigned for one origin. Never cosigned: (0, SHA-256("")). */
typedef struct tl_witness_state {
    uint64_t size;
    uint8_t root[TL_HASH_LEN];
} tl_witness_state;

/* Sets s to the never-cosigned state (0, SHA-256("")). */
void tl_witness_state_init(tl_witness_state *s);

/* ---- requests and responses ---- */

typedef struct tl_witness_req {
    uint64_t old;
    size_t nproof;
    uint8_t proof[TL_WITNESS_PROOF_MAX][TL_HASH_LEN];
    const char *note; /* the checkpoint note, pointing into the body */
    size_t note_len;
    tl_note parsed;           /* its signature lines; points into the body */
    tl_checkpoint cp;         /* origin, size, root (no extension lines: those are refused) */
    bool empty_root_mismatch; /* size 0 with a root other than SHA-256("") (row 5) */
    /* Set by tl_witness_check once a trusted signature verified: */
    const tl_witness_log *log;
    size_t nverified;
    size_t verified[TL_WITNESS_LOG_KEYS_MAX]; /* indexes into parsed.sigs, in note order */
} tl_witness_req;

typedef struct tl_witness_resp {
    unsigned status;                /* 200, 400, 403, 404, 409, 413, 422; 500 for a bug or NOMEM */
    const char *content_type;       /* TL_WITNESS_CTYPE_TEXT or TL_WITNESS_CTYPE_SIZE (409) */
    char body[TL_WITNESS_TEXT_MAX]; /* 200: cosignature line(s); 409: "<size>\n"; else
                                       "treatylog: <reason>\n"; NUL-terminated */
    size_t body_len;
    /* Refused for inconsistency although a trusted log signature verified (rows 5, 7, 7b, 8
     * and 9, and a 409 whose checkpoint has the stored size but another root): evidence of
     * log misbehaviour, worth keeping and alarming on. */
    bool inconsistent;
    /* 200 only: the state to store, and the record to store and serve as the origin's latest
     * cosigned checkpoint (re-encoded text, blank line, the log signature lines that
     * verified, this witness's cosignature line); malloc'd, freed by tl_witness_resp_clear. */
    tl_witness_state new_state;
    char *record;
    size_t record_len;
} tl_witness_resp;

/* Frees resp->record (NULL-safe) and zeroes the response. */
void tl_witness_resp_clear(tl_witness_resp *resp);

/* Parses a body (rows "413" and 1 above, nothing else): the head up to the first "\n\n" is
 * "old N" and 0..63 canonical base64 32-byte hashes, one a line; the rest is a signed note
 * (tl_note_parse) whose text is a checkpoint (tl_checkpoint_parse) with no extension lines. A
 * size-0 checkpoint with a non-empty root parses, with empty_root_mismatch set, so that
 * tl_witness_check can answer it in order. req points into body afterwards. Returns TL_OK,
 * TL_ERR_TOOBIG (len > TL_WITNESS_BODY_MAX) or TL_ERR_FORMAT, with the reason in d. */
TL_MUST_CHECK tl_err tl_witness_req_parse(tl_witness_req *req, const char *body, size_t len,
                                          tl_diag *d);

/* Rows 0 to 5: parses body into *req and authenticates it against logs. Returns true if the
 * request goes on to tl_witness_decide (req->log and req->verified set); otherwise false
 * with *resp filled (resp->record NULL). Needs no stored state. */
bool tl_witness_check(tl_witness_resp *resp, tl_witness_req *req, const tl_witness_logs *logs,
                      const char *body, size_t len);

/* Rows 6 to 10 for a request tl_witness_check passed, given the origin's stored state, the
 * time to put in the cosignature (POSIX seconds, <= 2^63-1) and the witness key (type 0x04).
 * Fills *resp; on 200 also resp->new_state and resp->record. Signs the canonical re-encoding
 * of (origin, size, root), which equals the submitted text. 500 on NOMEM or a bad key/time. */
void tl_witness_decide(tl_witness_resp *resp, const tl_witness_req *req,
                       const tl_witness_state *stored, uint64_t now, const tl_skey *key);

/* tl_witness_check then tl_witness_decide, for one origin whose stored state is given (the
 * whole decision as a pure function; *req is caller-provided scratch, about 7 KiB). */
void tl_witness_add_checkpoint(tl_witness_resp *resp, tl_witness_req *req,
                               const tl_witness_logs *logs, const tl_witness_state *stored,
                               uint64_t now, const tl_skey *key, const char *body, size_t len);

/* Reads the state back from a stored record (as tl_witness_resp.record): parses the note and
 * its checkpoint text and checks that a cosignature by `witness` (type 0x04) verifies.
 * TL_ERR_FORMAT or TL_ERR_SIGNATURE otherwise. */
TL_MUST_CHECK tl_err tl_witness_record_parse(tl_witness_state *st, tl_checkpoint *cp,
                                             const char *rec, size_t len, const tl_vkey *witness,
                                             tl_diag *d);

/* Lower-case hex SHA-256 of the origin (the monitoring path component), NUL-terminated. */
void tl_witness_origin_hex(char out[static 2 * TL_HASH_LEN + 1], const char *origin, size_t len);

#endif
