/* text.h - strict text primitives shared by every parser: canonical decimals, base64
 * (RFC 4648 standard alphabet, padded, canonical only), UTF-8 and note-text checks.
 * Pure functions; thread-safe.
 */
#ifndef TREATYLOG_TEXT_H
#define TREATYLOG_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "treatylog/err.h"

/* Parses s[0..len) as a canonical decimal: ASCII digits only, no sign, no space, no leading
 * zero (except "0" itself), no overflow of uint64. Returns TL_OK or TL_ERR_FORMAT; *out is
 * untouched on error. */
TL_MUST_CHECK tl_err tl_parse_u64(uint64_t *out, const char *s, size_t len);

/* Writes v in decimal plus a NUL into out (at least 21 bytes); returns the digit count. */
size_t tl_format_u64(char out[static 21], uint64_t v);

/* Length of the base64 encoding of n bytes (without NUL). */
size_t tl_b64_len(size_t n);

/* Encodes in[0..n) as padded standard base64 into out and NUL-terminates it. out must hold
 * tl_b64_len(n) + 1 bytes. Returns the encoded length. */
size_t tl_b64_encode(char *out, const uint8_t *in, size_t n);

/* Strictly decodes s[0..len): standard alphabet, correct '=' padding, zero trailing bits, no
 * whitespace. Writes at most cap bytes to out and the decoded size to *outlen. Returns
 * TL_ERR_FORMAT on any deviation, TL_ERR_TOOBIG if the result would exceed cap. */
TL_MUST_CHECK tl_err tl_b64_decode(uint8_t *out, size_t cap, size_t *outlen, const char *s,
                                   size_t len);

/* True if s[0..len) is well-formed UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF). */
bool tl_utf8_valid(const uint8_t *s, size_t len);

/* True if s[0..len) is valid UTF-8 with no byte below 0x20 except LF (signed-note rule). */
bool tl_note_text_valid(const uint8_t *s, size_t len);

/* True if name[0..len) is a valid signed-note key name: non-empty, valid UTF-8, no '+', no
 * Unicode White_Space code point (the exact Go unicode.IsSpace set). */
bool tl_keyname_valid(const char *name, size_t len);

#endif
