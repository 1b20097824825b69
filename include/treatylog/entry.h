/* entry.h - the treaty-mode log entry (DESIGN §3): the bytes that become a leaf,
 *
 *   "treatylog/entry/v1" LF
 *   "logged" SP <unix milliseconds, canonical decimal> LF
 *   LF
 *   <the submission (a signed note), byte for byte>
 *
 * and the submission key: the hash that names a submission independently of when it was
 * logged, used to deduplicate (the same bytes submitted twice get the first entry's answer).
 * Pure code, no I/O; thread-safe.
 */
#ifndef TREATYLOG_ENTRY_H
#define TREATYLOG_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/hash.h"

#define TL_ENTRY_V1_HEADER     "treatylog/entry/v1\n"
#define TL_ENTRY_V1_HEADER_LEN 19
#define TL_ENTRY_HEAD_MAX      50 /* longest "treatylog/entry/v1\nlogged N\n\n" (48), and NUL */

/* Writes the entry header for logged_ms into head (at least TL_ENTRY_HEAD_MAX bytes); returns
 * its length. The entry is then head followed by the submission. */
size_t tl_entry_head(char head[static TL_ENTRY_HEAD_MAX], uint64_t logged_ms);

/* Splits an entry e[0..len): *logged_ms gets the logged time, *sub and *sublen the submission
 * (pointing into e; at least one byte). TL_ERR_FORMAT (with the reason in d) for anything but
 * the exact layout above (no leading zeros, no CR, no missing blank line). */
TL_MUST_CHECK tl_err tl_entry_parse(const uint8_t *e, size_t len, uint64_t *logged_ms,
                                    const uint8_t **sub, size_t *sublen, tl_diag *d);

/* The submission key of sub[0..len): SHA-256(0x00 || sub), i.e. the leaf hash the submission
 * would have as a raw entry. Never equal to the leaf hash of a treaty-mode entry. */
void tl_submission_key(uint8_t out[static TL_HASH_LEN], const uint8_t *sub, size_t len);

#endif
