/* checkpoint.c - C2SP tlog-checkpoint v1.0.0, implements https://c2sp.org/tlog-checkpoint
 * (reference/c2sp-formats.md §4): strict parse, canonical format, open = note + verify + parse.
 *
 *   line 1   <origin> LF             non-empty, at most TL_ORIGIN_MAX bytes
 *   line 2   <tree size> LF          canonical decimal, <= 2^63-1
 *   line 3   base64(root[32]) LF     exactly 44 characters; size 0 needs SHA-256("")
 *   line 4+  <extension> LF          optional, each non-empty; treatylog never emits them
 */
#include "treatylog/checkpoint.h"

#include <string.h>

#include "treatylog/text.h"

#define SIZE_MAX_GO INT64_MAX /* Go peers parse sizes as int64 */

/* Returns the length of the line starting at s (up to, not including, its LF), or len if
 * there is no LF in s[0..len). */
static size_t line_len(const char *s, size_t len)
{
    const char *nl = memchr(s, '\n', len);
    return nl ? (size_t)(nl - s) : len;
}

tl_err tl_checkpoint_parse(tl_checkpoint *out, const char *text, size_t len, tl_diag *d)
{
    if (len == 0 || text[len - 1] != '\n')
        return tl_fail(d, TL_ERR_FORMAT, "checkpoint: text is empty or does not end in LF");
    if (!tl_note_text_valid((const uint8_t *)text, len))
        return tl_fail(d, TL_ERR_FORMAT,
                       "checkpoint: invalid UTF-8 or a control byte other than LF");

    /* Every line below ends in LF because the text does. */
    const char *p = text;
    size_t left = len;
    size_t l1 = line_len(p, left);
    if (l1 == 0)
        return tl_fail(d, TL_ERR_FORMAT, "checkpoint line 1: empty origin");
    if (l1 > TL_ORIGIN_MAX)
        return tl_fail(d, TL_ERR_FORMAT, "checkpoint line 1: origin longer than %d bytes",
                       TL_ORIGIN_MAX);
    const char *origin = p;
    p += l1 + 1;
    left -= l1 + 1;

    if (left == 0)
        return tl_fail(d, TL_ERR_FORMAT, "checkpoint: missing tree size line");
    size_t l2 = line_len(p, left);
    uint64_t size = 0;
    if (tl_parse_u64(&size, p, l2) != TL_OK)
        return tl_fail(d, TL_ERR_FORMAT, "checkpoint line 2: tree size is not a canonical decimal");
    if (size > (uint64_t)SIZE_MAX_GO)
        return tl_fail(d, TL_ERR_FORMAT, "checkpoint line 2: tree size above 2^63-1");
    p += l2 + 1;
    left -= l2 + 1;

    if (left == 0)
        return tl_fail(d, TL_ERR_FORMAT, "checkpoint: missing root hash line");
    size_t l3 = line_len(p, left);
    uint8_t root[TL_HASH_LEN];
    size_t rlen = 0;
    if (tl_b64_decode(root, sizeof root, &rlen, p, l3) != TL_OK || rlen != TL_HASH_LEN)
        return tl_fail(d, TL_ERR_FORMAT,
                       "checkpoint line 3: root is not canonical base64 of 32 bytes");
    if (size == 0 && memcmp(root, TL_EMPTY_ROOT, TL_HASH_LEN) != 0)
        return tl_fail(d, TL_ERR_FORMAT, "checkpoint line 3: size 0 with a non-empty root");
    p += l3 + 1;
    left -= l3 + 1;

    size_t ext = 0;
    while (left > 0) {
        size_t l = line_len(p, left);
        if (l == 0)
            return tl_fail(d, TL_ERR_FORMAT, "checkpoint line %zu: empty extension line",
                           ext + 4);
        ext++;
        p += l + 1;
        left -= l + 1;
    }

    memset(out, 0, sizeof *out); /* deterministic bytes: callers may memcmp two results */
    memcpy(out->origin, origin, l1);
    out->origin_len = l1;
    out->size = size;
    memcpy(out->root, root, TL_HASH_LEN);
    out->ext_lines = ext;
    return TL_OK;
}

size_t tl_checkpoint_format(char out[static TL_CHECKPOINT_TEXT_MAX], const tl_checkpoint *cp)
{
    size_t n = cp->origin_len;
    memcpy(out, cp->origin, n);
    out[n++] = '\n';
    n += tl_format_u64(out + n, cp->size);
    out[n++] = '\n';
    n += tl_b64_encode(out + n, cp->root, TL_HASH_LEN);
    out[n++] = '\n';
    out[n] = '\0';
    return n;
}

tl_err tl_checkpoint_open(tl_checkpoint *cp, tl_note *note, const char *msg, size_t len,
                          const tl_vkey *logkey, tl_diag *d)
{
    if (logkey->type != TL_KEY_ED25519)
        return tl_fail(d, TL_ERR_USAGE, "checkpoint: log key %s+%08x is not type 0x01",
                       logkey->name, logkey->id);
    tl_note local;
    tl_note *n = note ? note : &local;
    tl_err e = tl_note_parse(n, msg, len, d);
    if (e == TL_ERR_TOOBIG)
        e = TL_ERR_FORMAT; /* an oversized note is just a malformed checkpoint here */
    if (e != TL_OK)
        return tl_diag_prefix(d, e, "checkpoint");
    e = tl_note_verify(n, logkey, 1, NULL, d);
    if (e != TL_OK)
        return tl_diag_prefix(d, e, "checkpoint");
    return tl_checkpoint_parse(cp, n->text, n->text_len, d);
}
