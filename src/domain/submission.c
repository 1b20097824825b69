/* submission.c - checking a treaty-mode answer to POST /add (submission.h): rebuild the entry
 * from the proof's extra line and the submission, then verify the tlog-proof.
 *
 *   extra (decoded) = "treatylog/entry/v1" LF "logged" SP <unix ms> LF LF     (<= 48 bytes)
 *   entry           = extra || submission                                    (<= 65,535 bytes)
 */
#include "treatylog/submission.h"

#include <stdlib.h>
#include <string.h>

#include "treatylog/entry.h"
#include "treatylog/text.h"
#include "treatylog/tile.h"
#include "treatylog/tlogproof.h"

tl_err tl_submission_entry(uint8_t **entry, size_t *elen, uint64_t *logged_ms,
                           const char *extra_b64, size_t extra_len, const uint8_t *sub, size_t len,
                           tl_diag *d)
{
    uint8_t head[TL_ENTRY_HEAD_MAX];
    size_t hlen = 0;
    tl_err e = tl_b64_decode(head, sizeof head, &hlen, extra_b64, extra_len);
    if (e == TL_ERR_TOOBIG)
        return tl_fail(d, TL_ERR_FORMAT, "extra: longer than an entry header (%d bytes)",
                       TL_ENTRY_HEAD_MAX);
    if (e != TL_OK)
        return tl_fail(d, TL_ERR_FORMAT, "extra: not canonical base64");
    if (len == 0)
        return tl_fail(d, TL_ERR_FORMAT, "empty submission");
    if (len > TL_ENTRY_MAX || hlen > TL_ENTRY_MAX - len)
        return tl_fail(d, TL_ERR_TOOBIG, "entry: %zu + %zu bytes, over the %d-byte entry limit",
                       hlen, len, TL_ENTRY_MAX);
    size_t n = hlen + len;
    uint8_t *buf = malloc(n);
    if (!buf)
        return tl_fail(d, TL_ERR_NOMEM, "rebuilding the entry");
    memcpy(buf, head, hlen);
    memcpy(buf + hlen, sub, len);
    uint64_t logged = 0;
    const uint8_t *s = NULL;
    size_t slen = 0;
    e = tl_entry_parse(buf, n, &logged, &s, &slen, d);
    if (e == TL_OK && (slen != len || s != buf + hlen))
        e = tl_fail(d, TL_ERR_FORMAT,
                    "not exactly an entry header (the entry would not end with the "
                    "submission that was sent)");
    if (e != TL_OK) {
        free(buf);
        return tl_diag_prefix(d, e, "extra");
    }
    *entry = buf;
    *elen = n;
    *logged_ms = logged;
    return TL_OK;
}

tl_err tl_submission_proof_verify(tl_submission_proof *out, const char *proof, size_t plen,
                                  const uint8_t *sub, size_t len, const tl_policy *policy,
                                  tl_diag *d)
{
    memset(out, 0, sizeof *out);
    tl_tlog_proof *p = malloc(sizeof *p); /* 2 KiB of hashes: keep it off small stacks */
    if (!p)
        return tl_fail(d, TL_ERR_NOMEM, "tlog-proof");
    tl_err e = tl_tlog_proof_parse(p, proof, plen, d);
    if (e != TL_OK)
        e = tl_diag_prefix(d, e, "tlog-proof");
    if (e == TL_OK && !p->extra_b64)
        e = tl_fail(d, TL_ERR_FORMAT,
                    "tlog-proof: no extra line with the entry header (is the log in treaty "
                    "mode?)");
    tl_submission_proof r = {0};
    if (e == TL_OK)
        e = tl_submission_entry(&r.entry, &r.entry_len, &r.logged_ms, p->extra_b64,
                                p->extra_b64_len, sub, len, d);
    if (e == TL_OK) {
        r.index = p->index;
        tl_leaf_hash(r.leaf, r.entry, r.entry_len);
        e = tl_tlog_proof_verify(p, r.leaf, policy, &r.cp, d);
    }
    free(p);
    if (e != TL_OK) {
        free(r.entry);
        return e;
    }
    *out = r;
    return TL_OK;
}

void tl_submission_proof_free(tl_submission_proof *p)
{
    if (!p)
        return;
    free(p->entry);
    memset(p, 0, sizeof *p);
}
