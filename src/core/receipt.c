/* receipt.c - parse and verify treatylog receipts (layout in include/treatylog/receipt.h). */
#include "treatylog/receipt.h"

#include <string.h>

#include "treatylog/merkle.h"
#include "treatylog/note.h"
#include "treatylog/text.h"

/* The next LF-terminated line at *pos: its start and length (without LF). */
static bool next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n)
{
    if (*pos >= len)
        return false;
    const char *nl = memchr(buf + *pos, '\n', len - *pos);
    if (!nl)
        return false;
    *line = buf + *pos;
    *n = (size_t)(nl - (buf + *pos));
    *pos += *n + 1;
    return true;
}

/* "key value" with an exact key: the value, or NULL. */
static const char *field(const char *line, size_t n, const char *key, size_t *vlen)
{
    size_t k = strlen(key);
    if (n <= k + 1 || memcmp(line, key, k) != 0 || line[k] != ' ')
        return NULL;
    *vlen = n - k - 1;
    return line + k + 1;
}

static bool hash_b64(uint8_t out[TL_HASH_LEN], const char *s, size_t n)
{
    size_t got = 0;
    return tl_b64_decode(out, TL_HASH_LEN, &got, s, n) == TL_OK && got == TL_HASH_LEN;
}

tl_err tl_receipt_parse(tl_receipt *out, const char *buf, size_t len, tl_diag *d)
{
    memset(out, 0, sizeof *out);
    if (memchr(buf, '\r', len))
        return tl_fail(d, TL_ERR_FORMAT, "receipt: carriage return");
    size_t pos = 0, n = 0, vlen = 0;
    const char *line = NULL, *v = NULL;
    if (!next_line(buf, len, &pos, &line, &n) || n != 20 ||
        memcmp(line, "treatylog/receipt@v1", 20) != 0)
        return tl_fail(d, TL_ERR_FORMAT, "receipt line 1: want treatylog/receipt@v1");
    if (!next_line(buf, len, &pos, &line, &n) || !(v = field(line, n, "leaf", &vlen)) ||
        !hash_b64(out->leaf, v, vlen))
        return tl_fail(d, TL_ERR_FORMAT, "receipt line 2: want leaf <base64 hash>");
    if (!next_line(buf, len, &pos, &line, &n) || !(v = field(line, n, "position", &vlen)) ||
        tl_parse_u64(&out->position, v, vlen) != TL_OK)
        return tl_fail(d, TL_ERR_FORMAT, "receipt line 3: want position <decimal>");
    for (size_t ln = 4;; ln++) {
        if (!next_line(buf, len, &pos, &line, &n))
            return tl_fail(d, TL_ERR_FORMAT, "receipt line %zu: missing empty line", ln);
        if (n == 0)
            break;
        if (out->nproof == 63)
            return tl_fail(d, TL_ERR_FORMAT, "receipt: more than 63 proof lines");
        if (!hash_b64(out->proof[out->nproof], line, n))
            return tl_fail(d, TL_ERR_FORMAT, "receipt line %zu: not a base64 hash", ln);
        out->nproof++;
    }
    if (pos >= len)
        return tl_fail(d, TL_ERR_FORMAT, "receipt: no batch note");
    out->note = buf + pos;
    out->note_len = len - pos;
    return TL_OK;
}

tl_err tl_receipt_verify(tl_receipt *r, const uint8_t leaf[static TL_HASH_LEN],
                         const tl_vkey *logkey, tl_diag *d)
{
    tl_note note;
    tl_err e = tl_note_parse(&note, r->note, r->note_len, d);
    if (e != TL_OK)
        return tl_diag_prefix(d, e, "receipt batch note");
    e = tl_note_verify(&note, logkey, 1, NULL, d);
    if (e != TL_OK)
        return tl_diag_prefix(d, e, "receipt batch note");
    const char *t = note.text, *line = NULL, *v = NULL;
    size_t tl = note.text_len, pos = 0, n = 0, vlen = 0;
    if (!next_line(t, tl, &pos, &line, &n) || n != 18 || memcmp(line, "treatylog/batch/v1", 18))
        return tl_fail(d, TL_ERR_FORMAT, "batch note line 1: want treatylog/batch/v1");
    if (!next_line(t, tl, &pos, &line, &n) || !(v = field(line, n, "origin", &vlen)) ||
        vlen > TL_ORIGIN_MAX)
        return tl_fail(d, TL_ERR_FORMAT, "batch note line 2: want origin <origin>");
    memcpy(r->origin, v, vlen);
    r->origin[vlen] = '\0';
    if (!next_line(t, tl, &pos, &line, &n) || !(v = field(line, n, "count", &vlen)) ||
        tl_parse_u64(&r->count, v, vlen) != TL_OK)
        return tl_fail(d, TL_ERR_FORMAT, "batch note line 3: want count <decimal>");
    if (!next_line(t, tl, &pos, &line, &n) || !(v = field(line, n, "root", &vlen)) ||
        !hash_b64(r->root, v, vlen))
        return tl_fail(d, TL_ERR_FORMAT, "batch note line 4: want root <base64 hash>");
    if (!next_line(t, tl, &pos, &line, &n) || !(v = field(line, n, "accepted", &vlen)) ||
        tl_parse_u64(&r->accepted_ms, v, vlen) != TL_OK)
        return tl_fail(d, TL_ERR_FORMAT, "batch note line 5: want accepted <unix ms>");
    if (!next_line(t, tl, &pos, &line, &n) || !(v = field(line, n, "promise", &vlen)) ||
        tl_parse_u64(&r->promise_ms, v, vlen) != TL_OK)
        return tl_fail(d, TL_ERR_FORMAT, "batch note line 6: want promise <unix ms>");
    if (pos != tl)
        return tl_fail(d, TL_ERR_FORMAT, "batch note: unexpected line 7");
    if (strcmp(r->origin, logkey->name) != 0)
        return tl_fail(d, TL_ERR_SIGNATURE, "receipt from origin %s, key is for %s", r->origin,
                       logkey->name);
    if (memcmp(r->leaf, leaf, TL_HASH_LEN) != 0)
        return tl_fail(d, TL_ERR_PROOF, "the receipt is for another entry (leaf hash differs)");
    if (tl_merkle_verify_inclusion(r->position, r->count, r->leaf,
                                   (const uint8_t(*)[TL_HASH_LEN])r->proof, r->nproof,
                                   r->root) != TL_OK)
        return tl_fail(d, TL_ERR_PROOF, "the entry is not at position %llu of the batch",
                       (unsigned long long)r->position);
    return TL_OK;
}
