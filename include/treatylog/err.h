/* err.h - treatylog error codes and human-readable diagnostics.
 *
 * Every fallible function returns a tl_err (TL_OK == 0) and, when given a non-NULL
 * tl_diag, writes one line saying what went wrong and where. The enum only grows:
 * always add new codes last, never remove or renumber one (CLI exit codes and HTTP
 * statuses derive from it).
 */
#ifndef TREATYLOG_ERR_H
#define TREATYLOG_ERR_H

#include <stddef.h>

#define TL_MUST_CHECK __attribute__((warn_unused_result))

typedef enum tl_err {
    TL_OK = 0,
    TL_ERR_NOMEM = 1,     /* allocation failed */
    TL_ERR_IO = 2,        /* a system call failed (open, write, fsync, rename, ...) */
    TL_ERR_FORMAT = 3,    /* input is malformed (bad syntax, bad encoding, over a limit) */
    TL_ERR_SIGNATURE = 4, /* a signature did not verify, or no trusted signature found */
    TL_ERR_CONFLICT = 5,  /* state conflict: inconsistent trees, duplicate, wrong size */
    TL_ERR_PUSHBACK = 6,  /* overloaded: try again later */
    TL_ERR_INTERNAL = 7,  /* an invariant was violated: a bug */
    TL_ERR_NOTFOUND = 8,  /* the requested object does not exist */
    TL_ERR_RANGE = 9,     /* an index or size outside what exists */
    TL_ERR_USAGE = 10,    /* the caller asked for something impossible (bad arguments) */
    TL_ERR_LOCKED = 11,   /* another process holds the lock */
    TL_ERR_PROOF = 12,    /* a Merkle proof did not verify */
    TL_ERR_QUORUM = 13,   /* signatures verified, but the witness quorum was not met */
    TL_ERR_TOOBIG = 14,   /* input larger than the allowed maximum */
} tl_err;

/* Static English text for an error code; never NULL. */
const char *tl_strerror(tl_err e);

#define TL_DIAG_LEN 512

/* Caller-owned detail buffer for one error message (e.g. "checkpoint line 2: leading zero"). */
typedef struct tl_diag {
    char msg[TL_DIAG_LEN];
} tl_diag;

/* Formats a message into d (if d is non-NULL) and returns e unchanged, so callers can write
 * `return tl_fail(d, TL_ERR_FORMAT, "line %zu: ...", n);`. */
tl_err tl_fail(tl_diag *d, tl_err e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to the message already in d (no-op if d is NULL). Returns e. */
tl_err tl_diag_prefix(tl_diag *d, tl_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
