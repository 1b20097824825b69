/* tlogproof.c - C2SP tlog-proof (format c2sp.org/tlog-proof@v1), implements
 * https://c2sp.org/tlog-proof: an offline-verifiable inclusion proof with its cosigned
 * checkpoint. See reference/c2sp-formats.md §8.
 *
 *   "c2sp.org/tlog-proof@v1" LF
 *   [ "extra" SP base64(opaque, non-empty) LF ]     only as the second line; unauthenticated
 *   "index" SP <decimal, canonical, <= 2^63-1> LF
 *   *63( base64(32-byte hash) LF )                  leaf's sibling first (RFC 6962 PATH)
 *   LF
 *   <checkpoint note, verbatim, to the end of the input>
 *
 * The head is parsed strictly (no CR, canonical decimal and base64, every hash exactly 32
 * bytes); the note is left to tl_policy_check at verification time.
 */
#include "treatylog/tlogproof.h"

#include <stdlib.h>
#include <string.h>

#include "treatylog/merkle.h"
#include "treatylog/text.h"

#define HEADER_LEN (sizeof TL_TLOG_PROOF_HEADER - 1)
#define HASH_B64_LEN 44
#define INDEX_MAX UINT64_C(0x7fffffffffffffff)

/* True if s[0..len) is non-empty canonical padded base64. Decodes in 4-character quanta so
 * that extra data of any size is checked without a buffer; only the last may be padded. */
static bool b64_canonical(const char *s, size_t len)
{
    if (len == 0 || len % 4 != 0)
        return false;
    for (size_t i = 0; i < len; i += 4) {
        uint8_t q[3];
        size_t n = 0;
        if (tl_b64_decode(q, sizeof q, &n, s + i, 4) != TL_OK)
            return false;
        if (n != 3 && i + 4 != len)
            return false;
    }
    return true;
}

/* Finds the line starting at *pos: sets *line and *n (without the LF) and moves *pos past it.
 * False if there is no LF left. */
static bool next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *n)
{
    if (*pos >= len)
        return false;
    const char *lf = memchr(buf + *pos, '\n', len - *pos);
    if (!lf)
        return false;
    *line = buf + *pos;
    *n = (size_t)(lf - *line);
    *pos = (size_t)(lf - buf) + 1;
    return true;
}

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
    size_t p = strlen(prefix);
    return n >= p && memcmp(s, prefix, p) == 0;
}

tl_err tl_tlog_proof_parse(tl_tlog_proof *out, const char *buf, size_t len, tl_diag *d)
{
    size_t pos = 0, lineno = 1, n = 0;
    const char *line = NULL;
    if (!next_line(buf, len, &pos, &line, &n))
        return tl_fail(d, TL_ERR_FORMAT, "tlog-proof line 1: missing or unterminated header");
    if (n != HEADER_LEN || memcmp(line, TL_TLOG_PROOF_HEADER, HEADER_LEN) != 0)
        return tl_fail(d, TL_ERR_FORMAT, "tlog-proof line 1: not %s", TL_TLOG_PROOF_HEADER);

    tl_tlog_proof p = {.extra_b64 = NULL};
    lineno++;
    if (!next_line(buf, len, &pos, &line, &n))
        return tl_fail(d, TL_ERR_FORMAT, "tlog-proof line %zu: missing index line", lineno);
    if (has_prefix(line, n, "extra ")) {
        if (!b64_canonical(line + 6, n - 6))
            return tl_fail(d, TL_ERR_FORMAT,
                           "tlog-proof line %zu: extra is not non-empty canonical base64",
                           lineno);
        p.extra_b64 = line + 6;
        p.extra_b64_len = n - 6;
        lineno++;
        if (!next_line(buf, len, &pos, &line, &n))
            return tl_fail(d, TL_ERR_FORMAT, "tlog-proof line %zu: missing index line", lineno);
    }
    if (!has_prefix(line, n, "index "))
        return tl_fail(d, TL_ERR_FORMAT, "tlog-proof line %zu: expected \"index <N>\"", lineno);
    if (tl_parse_u64(&p.index, line + 6, n - 6) != TL_OK)
        return tl_fail(d, TL_ERR_FORMAT, "tlog-proof line %zu: index is not a canonical decimal",
                       lineno);
    if (p.index > INDEX_MAX)
        return tl_fail(d, TL_ERR_FORMAT, "tlog-proof line %zu: index above 2^63-1", lineno);

    for (;;) {
        lineno++;
        if (!next_line(buf, len, &pos, &line, &n))
            return tl_fail(d, TL_ERR_FORMAT,
                           "tlog-proof line %zu: no empty line before the checkpoint", lineno);
        if (n == 0)
            break;
        if (p.nproof == TL_TLOG_PROOF_LINES_MAX)
            return tl_fail(d, TL_ERR_FORMAT, "tlog-proof line %zu: more than %d proof hashes",
                           lineno, TL_TLOG_PROOF_LINES_MAX);
        size_t got = 0;
        if (n != HASH_B64_LEN ||
            tl_b64_decode(p.proof[p.nproof], TL_HASH_LEN, &got, line, n) != TL_OK ||
            got != TL_HASH_LEN)
            return tl_fail(d, TL_ERR_FORMAT,
                           "tlog-proof line %zu: not a base64 32-byte hash", lineno);
        p.nproof++;
    }
    if (pos == len)
        return tl_fail(d, TL_ERR_FORMAT, "tlog-proof line %zu: missing checkpoint note",
                       lineno + 1);
    p.note = buf + pos;
    p.note_len = len - pos;
    *out = p;
    return TL_OK;
}

/* *total += n, false on overflow. */
static bool add_size(size_t *total, size_t n)
{
    if (*total > SIZE_MAX - n)
        return false;
    *total += n;
    return true;
}

tl_err tl_tlog_proof_format(char **out, size_t *outlen, uint64_t index,
                            const uint8_t (*proof)[TL_HASH_LEN], size_t nproof,
                            const uint8_t *extra, size_t extra_len, const char *note,
                            size_t note_len, tl_diag *d)
{
    if (index > INDEX_MAX)
        return tl_fail(d, TL_ERR_USAGE, "tlog-proof: index above 2^63-1");
    if (nproof > TL_TLOG_PROOF_LINES_MAX || (nproof > 0 && !proof))
        return tl_fail(d, TL_ERR_USAGE, "tlog-proof: %zu proof hashes, at most %d", nproof,
                       TL_TLOG_PROOF_LINES_MAX);
    if (extra && extra_len == 0)
        return tl_fail(d, TL_ERR_USAGE, "tlog-proof: extra data must be non-empty or absent");
    if (note_len == 0 || !note)
        return tl_fail(d, TL_ERR_USAGE, "tlog-proof: empty checkpoint note");
    if (extra && extra_len > SIZE_MAX / 2) /* keeps tl_b64_len and the sums below exact */
        return tl_fail(d, TL_ERR_TOOBIG, "tlog-proof: extra data too large");

    char idx[21];
    size_t idx_len = tl_format_u64(idx, index);
    size_t extra_b64 = extra ? tl_b64_len(extra_len) : 0;
    /* header LF, [extra SP b64 LF], index SP N LF, nproof * (44 LF), LF, note, NUL */
    size_t total = HEADER_LEN + 1 + 6 + idx_len + 1 + nproof * (HASH_B64_LEN + 1) + 1 + 1;
    if ((extra && !add_size(&total, 6 + extra_b64 + 1)) || !add_size(&total, note_len))
        return tl_fail(d, TL_ERR_TOOBIG, "tlog-proof: too large");

    char *buf = malloc(total);
    if (!buf)
        return tl_fail(d, TL_ERR_NOMEM, "tlog-proof: out of memory (%zu bytes)", total);
    char *p = buf;
    memcpy(p, TL_TLOG_PROOF_HEADER "\n", HEADER_LEN + 1);
    p += HEADER_LEN + 1;
    if (extra) {
        memcpy(p, "extra ", 6);
        p += 6;
        p += tl_b64_encode(p, extra, extra_len);
        *p++ = '\n';
    }
    memcpy(p, "index ", 6);
    p += 6;
    memcpy(p, idx, idx_len);
    p += idx_len;
    *p++ = '\n';
    for (size_t i = 0; i < nproof; i++) {
        p += tl_b64_encode(p, proof[i], TL_HASH_LEN);
        *p++ = '\n';
    }
    *p++ = '\n';
    memcpy(p, note, note_len);
    p += note_len;
    *p = '\0';
    *out = buf;
    *outlen = (size_t)(p - buf);
    return TL_OK;
}

tl_err tl_tlog_proof_verify(const tl_tlog_proof *p, const uint8_t leaf[static TL_HASH_LEN],
                            const tl_policy *policy, tl_checkpoint *cp, tl_diag *d)
{
    tl_checkpoint c;
    tl_err e = tl_policy_check(policy, p->note, p->note_len, &c, NULL, d);
    if (e != TL_OK)
        return tl_diag_prefix(d, e, "tlog-proof");
    if (tl_merkle_verify_inclusion(p->index, c.size, leaf, (const uint8_t(*)[TL_HASH_LEN])p->proof,
                                   p->nproof, c.root) != TL_OK)
        return tl_fail(d, TL_ERR_PROOF,
                       "tlog-proof: entry %llu is not proved in the tree of size %llu",
                       (unsigned long long)p->index, (unsigned long long)c.size);
    if (cp)
        *cp = c;
    return TL_OK;
}
