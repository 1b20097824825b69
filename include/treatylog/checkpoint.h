/* checkpoint.h - C2SP tlog-checkpoint v1.0.0: the note text
 *   <origin> LF <decimal size> LF <base64 root> LF [<extension line> LF]*
 * parsed strictly and formatted canonically (treatylog emits no extension lines).
 * Thread-safe; structs are fixed-size and caller-owned.
 */
#ifndef TREATYLOG_CHECKPOINT_H
#define TREATYLOG_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"
#include "treatylog/hash.h"
#include "treatylog/key.h"
#include "treatylog/note.h"

#define TL_ORIGIN_MAX 255
#define TL_CHECKPOINT_TEXT_MAX (TL_ORIGIN_MAX + 1 + 20 + 1 + 44 + 1 + 1)

typedef struct tl_checkpoint {
    char origin[TL_ORIGIN_MAX + 1]; /* NUL-terminated */
    size_t origin_len;
    uint64_t size;
    uint8_t root[TL_HASH_LEN];
    size_t ext_lines; /* number of extension lines (kept in the note, not here) */
} tl_checkpoint;

/* Parses checkpoint note text (the signed part, ending in LF): origin non-empty and at most
 * TL_ORIGIN_MAX bytes, canonical decimal size <= 2^63-1, root decoding to exactly 32 bytes,
 * size 0 only with the empty-tree root, extension lines non-empty. TL_ERR_FORMAT otherwise. */
TL_MUST_CHECK tl_err tl_checkpoint_parse(tl_checkpoint *out, const char *text, size_t len,
                                         tl_diag *d);

/* Writes the canonical text of cp (three lines, NUL-terminated); returns its length. */
size_t tl_checkpoint_format(char out[static TL_CHECKPOINT_TEXT_MAX], const tl_checkpoint *cp);

/* Parses a signed checkpoint note, verifies it under log key `logkey` (type 0x01) and parses
 * its text. If `note` is non-NULL it receives the parsed note (pointing into msg).
 * Returns TL_OK, TL_ERR_FORMAT, or TL_ERR_SIGNATURE. */
TL_MUST_CHECK tl_err tl_checkpoint_open(tl_checkpoint *cp, tl_note *note, const char *msg,
                                        size_t len, const tl_vkey *logkey, tl_diag *d);

#endif
