/* witness.c - C2SP tlog-witness v1.0.0 add-checkpoint decisions, implements
 * https://c2sp.org/tlog-witness (reference/c2sp-formats.md §7) as pure functions: no I/O, no
 * clock, no global state. The HTTP service (src/net/witness.c) supplies the stored state under
 * a per-origin lock and stores what tl_witness_decide returns before it answers.
 *
 *   request body                                    stored record (and GET .../checkpoint)
 *   "old" SP <decimal> LF                           <origin> LF <size> LF <root b64> LF
 *   0..63 x  base64(32-byte hash) LF                LF
 *   LF                       <- the FIRST "\n\n"     log signature lines that verified
 *   <checkpoint note>                               this witness's cosignature line
 */
#include "treatylog/witness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "treatylog/merkle.h"
#include "treatylog/text.h"

#define EMPTY_ROOT_B64 "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
#define B64_HASH_LEN   44

/* ---- configured logs: a chained hash table over a vector in insertion order ---- */

struct tl_witness_logs {
    tl_witness_log **v; /* by index */
    size_t n, cap;
    size_t *next;    /* next[i]: the next index in i's bucket, or SIZE_MAX */
    size_t *buckets; /* first index per bucket, or SIZE_MAX; nbuckets is a power of two */
    size_t nbuckets;
};

static uint64_t fnv1a(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211u;
    }
    return h;
}

tl_witness_logs *tl_witness_logs_new(void)
{
    return calloc(1, sizeof(tl_witness_logs));
}

void tl_witness_logs_free(tl_witness_logs *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i]->keys);
        free(s->v[i]);
    }
    free(s->v);
    free(s->next);
    free(s->buckets);
    free(s);
}

size_t tl_witness_logs_count(const tl_witness_logs *s)
{
    return s->n;
}

const tl_witness_log *tl_witness_logs_at(const tl_witness_logs *s, size_t i)
{
    return i < s->n ? s->v[i] : NULL;
}

const tl_witness_log *tl_witness_logs_find(const tl_witness_logs *s, const char *origin, size_t len)
{
    if (s->nbuckets == 0)
        return NULL;
    size_t b = (size_t)(fnv1a(origin, len) & (s->nbuckets - 1));
    for (size_t i = s->buckets[b]; i != SIZE_MAX; i = s->next[i]) {
        const tl_witness_log *l = s->v[i];
        if (l->origin_len == len && memcmp(l->origin, origin, len) == 0)
            return l;
    }
    return NULL;
}

/* Rebuilds the buckets with nb (a power of two) entries. */
static tl_err rehash(tl_witness_logs *s, size_t nb)
{
    size_t *buckets = malloc(nb * sizeof *buckets);
    if (!buckets)
        return TL_ERR_NOMEM;
    for (size_t b = 0; b < nb; b++)
        buckets[b] = SIZE_MAX;
    for (size_t i = 0; i < s->n; i++) {
        size_t b = (size_t)(fnv1a(s->v[i]->origin, s->v[i]->origin_len) & (nb - 1));
        s->next[i] = buckets[b];
        buckets[b] = i;
    }
    free(s->buckets);
    s->buckets = buckets;
    s->nbuckets = nb;
    return TL_OK;
}

/* Makes room for one more origin (vectors and, at load 3/4, the buckets). */
static tl_err grow(tl_witness_logs *s)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        tl_witness_log **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return TL_ERR_NOMEM;
        s->v = v;
        size_t *next = realloc(s->next, cap * sizeof *next);
        if (!next)
            return TL_ERR_NOMEM;
        s->next = next;
        s->cap = cap;
    }
    if (4 * (s->n + 1) > 3 * s->nbuckets)
        return rehash(s, s->nbuckets ? s->nbuckets * 2 : 32);
    return TL_OK;
}

tl_err tl_witness_logs_add(tl_witness_logs *s, const char *origin, size_t len, const tl_vkey *k,
                           tl_diag *d)
{
    if (len == 0 || len > TL_ORIGIN_MAX || memchr(origin, '\n', len) ||
        !tl_note_text_valid((const uint8_t *)origin, len))
        return tl_fail(d, TL_ERR_USAGE,
                       "origin must be 1 to %d bytes of UTF-8 with no control characters",
                       TL_ORIGIN_MAX);
    if (k->type != TL_KEY_ED25519)
        return tl_fail(d, TL_ERR_USAGE, "log key %s+%08x is not an Ed25519 log key (type 0x01)",
                       k->name, k->id);
    tl_witness_log *l = (tl_witness_log *)tl_witness_logs_find(s, origin, len);
    if (l) {
        for (size_t i = 0; i < l->nkeys; i++) {
            if (tl_vkey_equal(&l->keys[i], k))
                return TL_OK;
            if (l->keys[i].id == k->id && strcmp(l->keys[i].name, k->name) == 0)
                return tl_fail(d, TL_ERR_USAGE, "origin %s: two keys named %s+%08x (ambiguous)",
                               l->origin, k->name, k->id);
        }
        if (l->nkeys == TL_WITNESS_LOG_KEYS_MAX)
            return tl_fail(d, TL_ERR_USAGE, "origin %s: more than %d keys", l->origin,
                           TL_WITNESS_LOG_KEYS_MAX);
        tl_vkey *keys = realloc(l->keys, (l->nkeys + 1) * sizeof *keys);
        if (!keys)
            return tl_fail(d, TL_ERR_NOMEM, "out of memory adding a log key");
        l->keys = keys;
        l->keys[l->nkeys++] = *k;
        return TL_OK;
    }
    if (grow(s) != TL_OK)
        return tl_fail(d, TL_ERR_NOMEM, "out of memory adding a log");
    l = calloc(1, sizeof *l);
    tl_vkey *keys = malloc(sizeof *keys);
    if (!l || !keys) {
        free(l);
        free(keys);
        return tl_fail(d, TL_ERR_NOMEM, "out of memory adding a log");
    }
    l->keys = keys;
    memcpy(l->origin, origin, len);
    l->origin_len = len;
    l->index = s->n;
    l->keys[0] = *k;
    l->nkeys = 1;
    size_t b = (size_t)(fnv1a(origin, len) & (s->nbuckets - 1));
    s->v[s->n] = l;
    s->next[s->n] = s->buckets[b];
    s->buckets[b] = s->n;
    s->n++;
    return TL_OK;
}

/* ---- state, responses ---- */

void tl_witness_state_init(tl_witness_state *s)
{
    s->size = 0;
    memcpy(s->root, TL_EMPTY_ROOT, TL_HASH_LEN);
}

void tl_witness_resp_clear(tl_witness_resp *resp)
{
    free(resp->record);
    memset(resp, 0, sizeof *resp);
}

/* Answers with a one-line "treatylog: <reason>" text body. */
static void answer(tl_witness_resp *resp, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void answer(tl_witness_resp *resp, unsigned status, const char *fmt, ...)
{
    resp->status = status;
    resp->content_type = TL_WITNESS_CTYPE_TEXT;
    int n = snprintf(resp->body, sizeof resp->body, "treatylog: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(resp->body + n, sizeof resp->body - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n;
    if (m > 0)
        len += (size_t)m < sizeof resp->body - (size_t)n - 1 ? (size_t)m
                                                             : sizeof resp->body - (size_t)n - 2;
    resp->body[len++] = '\n';
    resp->body[len] = '\0';
    resp->body_len = len;
}

/* 409 with the stored size, text/x.tlog.size. */
static void answer_size(tl_witness_resp *resp, uint64_t size)
{
    resp->status = 409;
    resp->content_type = TL_WITNESS_CTYPE_SIZE;
    size_t n = tl_format_u64(resp->body, size);
    resp->body[n++] = '\n';
    resp->body[n] = '\0';
    resp->body_len = n;
}

/* ---- parsing ---- */

/* If text is a three-line checkpoint whose size is 0 and whose root is canonical base64 of
 * 32 bytes other than SHA-256(""), parses it as if the root were the empty one (so every
 * other rule still applies), stores the real root and returns true. */
static bool parse_empty_root_mismatch(tl_checkpoint *cp, const char *text, size_t len)
{
    if (len > TL_CHECKPOINT_TEXT_MAX)
        return false;
    const char *l2 = memchr(text, '\n', len);
    if (!l2 || (size_t)(text + len - l2) < 2 + 1 + B64_HASH_LEN + 1)
        return false;
    l2++;
    if (l2[0] != '0' || l2[1] != '\n')
        return false;
    const char *l3 = l2 + 2;
    if ((size_t)(text + len - l3) != B64_HASH_LEN + 1 || l3[B64_HASH_LEN] != '\n')
        return false;
    uint8_t root[TL_HASH_LEN];
    size_t rlen = 0;
    if (tl_b64_decode(root, sizeof root, &rlen, l3, B64_HASH_LEN) != TL_OK || rlen != TL_HASH_LEN ||
        memcmp(root, TL_EMPTY_ROOT, TL_HASH_LEN) == 0)
        return false;
    char copy[TL_CHECKPOINT_TEXT_MAX];
    memcpy(copy, text, len);
    memcpy(copy + (l3 - text), EMPTY_ROOT_B64, B64_HASH_LEN);
    if (tl_checkpoint_parse(cp, copy, len, NULL) != TL_OK)
        return false;
    memcpy(cp->root, root, TL_HASH_LEN);
    return true;
}

tl_err tl_witness_req_parse(tl_witness_req *req, const char *body, size_t len, tl_diag *d)
{
    if (len > TL_WITNESS_BODY_MAX)
        return tl_fail(d, TL_ERR_TOOBIG, "body of %zu bytes, over the %d-byte limit", len,
                       TL_WITNESS_BODY_MAX);
    const char *sep = len >= 2 ? memmem(body, len, "\n\n", 2) : NULL;
    if (!sep)
        return tl_fail(d, TL_ERR_FORMAT, "no empty line between the proof and the checkpoint");
    req->old = 0;
    req->nproof = 0;
    req->empty_root_mismatch = false;
    req->log = NULL;
    req->nverified = 0;

    /* The head: every line in body[0 .. sep] ends in LF; sep itself is the last LF. */
    const char *p = body;
    const char *head_end = sep + 1;
    const char *nl = memchr(p, '\n', (size_t)(head_end - p));
    if ((size_t)(nl - p) < 5 || memcmp(p, "old ", 4) != 0 ||
        tl_parse_u64(&req->old, p + 4, (size_t)(nl - p - 4)) != TL_OK)
        return tl_fail(d, TL_ERR_FORMAT, "line 1: want \"old <size>\" (canonical decimal)");
    p = nl + 1;
    size_t lineno = 1;
    while (p < head_end) {
        lineno++;
        nl = memchr(p, '\n', (size_t)(head_end - p));
        if (req->nproof == TL_WITNESS_PROOF_MAX)
            return tl_fail(d, TL_ERR_FORMAT, "more than %d consistency proof lines",
                           TL_WITNESS_PROOF_MAX);
        size_t got = 0;
        if (tl_b64_decode(req->proof[req->nproof], TL_HASH_LEN, &got, p, (size_t)(nl - p)) !=
                TL_OK ||
            got != TL_HASH_LEN)
            return tl_fail(d, TL_ERR_FORMAT,
                           "line %zu: proof hash is not canonical base64 of 32 bytes", lineno);
        req->nproof++;
        p = nl + 1;
    }

    req->note = sep + 2;
    req->note_len = len - (size_t)(req->note - body);
    tl_err e = tl_note_parse(&req->parsed, req->note, req->note_len, d);
    if (e != TL_OK)
        return tl_diag_prefix(d, TL_ERR_FORMAT, "checkpoint");
    const char *text = req->parsed.text;
    size_t tlen = req->parsed.text_len;
    e = tl_checkpoint_parse(&req->cp, text, tlen, d);
    if (e != TL_OK) {
        if (!parse_empty_root_mismatch(&req->cp, text, tlen))
            return e;
        req->empty_root_mismatch = true;
    }
    if (req->cp.ext_lines > 0)
        return tl_fail(d, TL_ERR_FORMAT,
                       "checkpoint has %zu extension line(s); this witness cosigns none",
                       req->cp.ext_lines);
    return TL_OK;
}

/* ---- deciding ---- */

bool tl_witness_check(tl_witness_resp *resp, tl_witness_req *req, const tl_witness_logs *logs,
                      const char *body, size_t len)
{
    memset(resp, 0, sizeof *resp);
    tl_diag d = {{0}};
    tl_err e = tl_witness_req_parse(req, body, len, &d);
    if (e == TL_ERR_TOOBIG) {
        answer(resp, 413, "%s", d.msg);
        return false;
    }
    if (e != TL_OK) {
        answer(resp, 400, "%s", d.msg);
        return false;
    }
    const tl_witness_log *log = tl_witness_logs_find(logs, req->cp.origin, req->cp.origin_len);
    if (!log) {
        answer(resp, 404, "unknown origin \"%s\"", req->cp.origin);
        return false;
    }
    tl_sigcheck res[TL_WITNESS_LOG_KEYS_MAX];
    e = tl_note_verify(&req->parsed, log->keys, log->nkeys, res, &d);
    if (e == TL_ERR_NOMEM || e == TL_ERR_USAGE) {
        answer(resp, 500, "%s", d.msg);
        return false;
    }
    if (e != TL_OK) {
        answer(resp, 403, "%s", d.msg);
        return false;
    }
    /* Keep the first line of each trusted key that verified (as tl_note_verify checked). */
    req->nverified = 0;
    for (size_t i = 0; i < req->parsed.nsigs; i++) {
        const tl_note_sig *s = &req->parsed.sigs[i];
        for (size_t k = 0; k < log->nkeys; k++) {
            const tl_vkey *v = &log->keys[k];
            if (!res[k].ok || s->id != v->id || s->name_len != v->name_len ||
                memcmp(s->name, v->name, v->name_len) != 0)
                continue;
            res[k].ok = false; /* later repeats were not verified: never store them */
            req->verified[req->nverified++] = i;
        }
    }
    req->log = log;
    if (req->old > req->cp.size) {
        answer(resp, 400, "old size %llu is larger than the checkpoint size %llu",
               (unsigned long long)req->old, (unsigned long long)req->cp.size);
        return false;
    }
    if (req->empty_root_mismatch) {
        answer(resp, 422, "checkpoint of size 0 with a root other than SHA-256(\"\")");
        resp->inconsistent = true;
        return false;
    }
    return true;
}

/* Builds the record: text LF, the verified log signature lines, then the cosignature line. */
static bool build_record(tl_witness_resp *resp, const tl_witness_req *req, const char *text,
                         size_t tlen, const char *cosig, size_t clen)
{
    size_t n = tlen + 1 + clen;
    for (size_t i = 0; i < req->nverified; i++) {
        const tl_note_sig *s = &req->parsed.sigs[req->verified[i]];
        n += 4 + s->name_len + 1 + s->b64_len + 1;
    }
    char *r = malloc(n + 1);
    if (!r)
        return false;
    size_t o = 0;
    memcpy(r, text, tlen);
    o += tlen;
    r[o++] = '\n';
    for (size_t i = 0; i < req->nverified; i++) {
        const tl_note_sig *s = &req->parsed.sigs[req->verified[i]];
        memcpy(r + o, "\xe2\x80\x94 ", 4);
        o += 4;
        memcpy(r + o, s->name, s->name_len);
        o += s->name_len;
        r[o++] = ' ';
        memcpy(r + o, s->b64, s->b64_len);
        o += s->b64_len;
        r[o++] = '\n';
    }
    memcpy(r + o, cosig, clen);
    o += clen;
    r[o] = '\0';
    resp->record = r;
    resp->record_len = o;
    return true;
}

void tl_witness_decide(tl_witness_resp *resp, const tl_witness_req *req,
                       const tl_witness_state *stored, uint64_t now, const tl_skey *key)
{
    memset(resp, 0, sizeof *resp);
    const tl_checkpoint *cp = &req->cp;
    bool same_size_other_root =
        cp->size == stored->size && memcmp(cp->root, stored->root, TL_HASH_LEN) != 0;
    if (req->old != stored->size) {
        answer_size(resp, stored->size);
        /* Not misbehaviour in itself (a client without state learns the size this way), but
         * a signed checkpoint of the stored size with another root is a fork, whatever old
         * says. */
        resp->inconsistent = same_size_other_root;
        return;
    }
    if (req->old == cp->size && same_size_other_root) {
        /* tlog-witness v1.0.0: 409. main answers 422 (docs/witness.md). */
        answer_size(resp, stored->size);
        resp->inconsistent = true;
        return;
    }
    if (req->old == cp->size && req->nproof > 0) {
        answer(resp, 422, "old size equals the checkpoint size, so the proof must be empty");
        resp->inconsistent = true;
        return;
    }
    if (req->old == 0 && req->nproof > 0) {
        answer(resp, 422, "old size 0 needs an empty proof");
        resp->inconsistent = true;
        return;
    }
    if (tl_merkle_verify_consistency(req->old, cp->size, stored->root, cp->root,
                                     (const uint8_t(*)[TL_HASH_LEN])req->proof,
                                     req->nproof) != TL_OK) {
        answer(resp, 422, "consistency proof from size %llu to %llu does not verify",
               (unsigned long long)req->old, (unsigned long long)cp->size);
        resp->inconsistent = true;
        return;
    }

    /* Sign a re-encoding of what was parsed, never the submitted bytes. The strict parser
     * accepts only the canonical text, so the two are equal; if not, that is a bug. */
    char text[TL_CHECKPOINT_TEXT_MAX];
    size_t tlen = tl_checkpoint_format(text, cp);
    if (tlen != req->parsed.text_len || memcmp(text, req->parsed.text, tlen) != 0) {
        answer(resp, 500, "internal error: re-encoded checkpoint differs from the request");
        return;
    }
    char line[TL_SIGLINE_MAX];
    size_t llen = 0;
    tl_diag d = {{0}};
    if (tl_note_sigline(line, &llen, text, tlen, key, now, &d) != TL_OK) {
        answer(resp, 500, "cannot cosign: %s", d.msg);
        return;
    }
    if (!build_record(resp, req, text, tlen, line, llen)) {
        answer(resp, 500, "out of memory");
        return;
    }
    resp->status = 200;
    resp->content_type = TL_WITNESS_CTYPE_TEXT;
    memcpy(resp->body, line, llen + 1);
    resp->body_len = llen;
    resp->new_state.size = cp->size;
    memcpy(resp->new_state.root, cp->root, TL_HASH_LEN);
}

void tl_witness_add_checkpoint(tl_witness_resp *resp, tl_witness_req *req,
                               const tl_witness_logs *logs, const tl_witness_state *stored,
                               uint64_t now, const tl_skey *key, const char *body, size_t len)
{
    if (tl_witness_check(resp, req, logs, body, len))
        tl_witness_decide(resp, req, stored, now, key);
}

/* ---- stored records ---- */

tl_err tl_witness_record_parse(tl_witness_state *st, tl_checkpoint *cp, const char *rec, size_t len,
                               const tl_vkey *witness, tl_diag *d)
{
    tl_note *n = malloc(sizeof *n);
    if (!n)
        return tl_fail(d, TL_ERR_NOMEM, "out of memory reading a witness record");
    tl_err e = tl_note_parse(n, rec, len, d);
    if (e == TL_ERR_TOOBIG)
        e = TL_ERR_FORMAT;
    if (e == TL_OK)
        e = tl_checkpoint_parse(cp, n->text, n->text_len, d);
    if (e == TL_OK && witness->type != TL_KEY_COSIG_V1)
        e = tl_fail(d, TL_ERR_USAGE, "witness key is not a cosignature/v1 key");
    if (e == TL_OK)
        e = tl_note_verify(n, witness, 1, NULL, d);
    free(n);
    if (e != TL_OK)
        return e;
    st->size = cp->size;
    memcpy(st->root, cp->root, TL_HASH_LEN);
    return TL_OK;
}

void tl_witness_origin_hex(char out[static 2 * TL_HASH_LEN + 1], const char *origin, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t h[TL_HASH_LEN];
    tl_sha256(h, origin, len);
    for (size_t i = 0; i < TL_HASH_LEN; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 0xF];
    }
    out[2 * TL_HASH_LEN] = '\0';
}
