/* receipt.h - treatylog receipts: the log's signed promise that a submission is durable and
 * will be integrated (answer to POST /add?wait=0). Pure code.
 *
 *   "treatylog/receipt@v1" LF
 *   "leaf" SP base64(leaf hash) LF
 *   "position" SP <decimal> LF                 ; the entry's place in its journal batch
 *   *63(base64(hash) LF)                       ; RFC 6962 inclusion proof in the batch tree
 *   LF
 *   <batch note, signed by the log key>:
 *       "treatylog/batch/v1" LF "origin" SP <origin> LF "count" SP <n> LF
 *       "root" SP base64(batch tree root) LF "accepted" SP <unix ms> LF
 *       "promise" SP <unix ms> LF
 *
 * The batch note's first line keeps it from ever reading as a checkpoint. A parsed receipt
 * points into the caller's buffer.
 */
#ifndef TREATYLOG_RECEIPT_H
#define TREATYLOG_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include "treatylog/checkpoint.h"
#include "treatylog/err.h"
#include "treatylog/hash.h"
#include "treatylog/key.h"

typedef struct tl_receipt {
    uint8_t leaf[TL_HASH_LEN];
    uint64_t position;
    size_t nproof;
    uint8_t proof[63][TL_HASH_LEN];
    const char *note; /* the signed batch note */
    size_t note_len;
    /* from the batch note (filled by tl_receipt_verify) */
    char origin[TL_ORIGIN_MAX + 1];
    uint64_t count;
    uint8_t root[TL_HASH_LEN];
    uint64_t accepted_ms, promise_ms;
} tl_receipt;

/* Parses a receipt strictly (canonical numbers and base64, no CR). TL_OK or TL_ERR_FORMAT. */
TL_MUST_CHECK tl_err tl_receipt_parse(tl_receipt *out, const char *buf, size_t len,
                                      tl_diag *d);

/* Verifies a parsed receipt for an entry whose leaf hash is `leaf`: the batch note is signed
 * by logkey and well-formed, its origin is the key's name, the leaf matches, and the leaf is
 * at `position` of the batch tree. Fills the batch fields. TL_OK, TL_ERR_FORMAT,
 * TL_ERR_SIGNATURE or TL_ERR_PROOF. */
TL_MUST_CHECK tl_err tl_receipt_verify(tl_receipt *r, const uint8_t leaf[static TL_HASH_LEN],
                                       const tl_vkey *logkey, tl_diag *d);

#endif
