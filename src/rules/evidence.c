/* evidence.c - build and check evidence files (evidence.h). */
#include "treatylog/evidence.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "treatylog/checkpoint.h"
#include "treatylog/entry.h"
#include "treatylog/follow.h"
#include "treatylog/merkle.h"
#include "treatylog/note.h"
#include "treatylog/registry.h"
#include "treatylog/text.h"

/* ---- small helpers ---- */

static json_t *b64_json(const uint8_t *buf, size_t len)
{
    size_t cap = (len + 2) / 3 * 4 + 1;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    size_t n = tl_b64_encode(s, buf, len);
    json_t *j = json_stringn(s, n);
    free(s);
    return j;
}

static void hex(char out[static 2 * TL_HASH_LEN + 1], const uint8_t h[TL_HASH_LEN])
{
    static const char x[] = "0123456789abcdef";
    for (size_t i = 0; i < TL_HASH_LEN; i++) {
        out[2 * i] = x[h[i] >> 4];
        out[2 * i + 1] = x[h[i] & 15];
    }
    out[2 * TL_HASH_LEN] = '\0';
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* An item (entry + proof) as JSON. */
static tl_err item_json(const tl_evidence_src *src, uint64_t index, json_t **out, tl_diag *d)
{
    uint8_t *ent = NULL;
    size_t elen = 0;
    tl_err e = tl_reader_entry(src->reader, index, &ent, &elen, d);
    if (e != TL_OK)
        return e;
    uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN];
    size_t np = 0;
    e = tl_merkle_inclusion_proof(proof, &np, index, src->size, tl_reader_hash, src->reader);
    if (e != TL_OK) {
        free(ent);
        return tl_fail(d, e, "evidence: inclusion proof of %llu: %s", (unsigned long long)index,
                       tl_reader_error(src->reader));
    }
    json_t *o = json_object();
    json_object_set_new(o, "index", json_integer((json_int_t)index));
    json_object_set_new(o, "entry", b64_json(ent, elen));
    json_t *pa = json_array();
    for (size_t i = 0; i < np; i++)
        json_array_append_new(pa, b64_json(proof[i], TL_HASH_LEN));
    json_object_set_new(o, "proof", pa);
    free(ent);
    *out = o;
    return TL_OK;
}

/* ---- build ---- */

/* The witnessed notes an evidence file carries, ordered by size and, within one size, the
 * first archived note (rank 0) before the latest re-cosigned one (rank 1). */
typedef struct witset {
    uint64_t *sizes;
    char **notes;
    size_t *lens;
    int *ranks;
    size_t n, cap;
} witset;

static void witset_free(witset *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->notes[i]);
    free(w->sizes);
    free(w->notes);
    free(w->lens);
    free(w->ranks);
}

/* Adds (size, note) unless that very note is there; takes the note. */
static tl_err witset_add(witset *w, uint64_t size, char *note, size_t len, int rank)
{
    if (!note)
        return TL_OK;
    for (size_t i = 0; i < w->n; i++) {
        if (w->sizes[i] == size && w->lens[i] == len && memcmp(w->notes[i], note, len) == 0) {
            free(note);
            return TL_OK;
        }
    }
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        uint64_t *s = realloc(w->sizes, cap * sizeof *s);
        if (s)
            w->sizes = s;
        char **nn = realloc(w->notes, cap * sizeof *nn);
        if (nn)
            w->notes = nn;
        size_t *l = realloc(w->lens, cap * sizeof *l);
        if (l)
            w->lens = l;
        int *r = realloc(w->ranks, cap * sizeof *r);
        if (r)
            w->ranks = r;
        if (!s || !nn || !l || !r) {
            free(note);
            return TL_ERR_NOMEM;
        }
        w->cap = cap;
    }
    w->sizes[w->n] = size;
    w->notes[w->n] = note;
    w->lens[w->n] = len;
    w->ranks[w->n] = rank;
    w->n++;
    return TL_OK;
}

tl_err tl_evidence_build(const tl_evidence_src *src, const tl_finding *f, const uint64_t *regs,
                         size_t nregs, char **out, size_t *len, tl_diag *d)
{
    /* The entries: the finding's, its absence range, the registry's. */
    size_t n = f->nentries + nregs;
    uint64_t from = 0, to = 0;
    if (f->has_range && f->range_from <= f->range_to) {
        from = f->range_from;
        to = f->range_to < src->size ? f->range_to : src->size - 1;
        n += (size_t)(to - from + 1);
    }
    uint64_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return tl_fail(d, TL_ERR_NOMEM, "evidence");
    size_t k = 0;
    for (size_t i = 0; i < f->nentries; i++)
        idx[k++] = f->entries[i];
    if (f->has_range && f->range_from <= f->range_to)
        for (uint64_t i = from; i <= to; i++)
            idx[k++] = i;
    size_t nent = k;
    qsort(idx, nent, sizeof *idx, cmp_u64);
    size_t m = 0;
    for (size_t i = 0; i < nent; i++)
        if (m == 0 || idx[m - 1] != idx[i])
            idx[m++] = idx[i];
    nent = m;

    json_t *root = json_object();
    json_object_set_new(root, "format", json_string(TL_EVIDENCE_FORMAT));
    json_t *fj = json_loadb(f->json, f->json_len, 0, NULL);
    json_object_set_new(root, "finding", fj ? fj : json_null());
    json_t *rs = json_object();
    char hx[2 * TL_HASH_LEN + 1];
    hex(hx, src->ruleset_sha256);
    json_object_set_new(rs, "name", json_string(src->ruleset_name));
    json_object_set_new(rs, "sha256", json_string(hx));
    json_object_set_new(root, "ruleset", rs);
    json_object_set_new(root, "size", json_integer((json_int_t)src->size));
    json_object_set_new(root, "checkpoint", json_stringn(src->checkpoint, src->checkpoint_len));
    tl_err e = fj ? TL_OK : tl_fail(d, TL_ERR_INTERNAL, "evidence: finding is not JSON");
    witset ws = {0};
    json_t *ents = json_array();
    for (size_t i = 0; i < nent && e == TL_OK; i++) {
        if (idx[i] >= src->size)
            continue;
        json_t *it = NULL;
        e = item_json(src, idx[i], &it, d);
        if (e == TL_OK)
            json_array_append_new(ents, it);
        uint64_t bs = 0, as = 0;
        char *bn = NULL, *an = NULL;
        size_t bl = 0, al = 0;
        if (e == TL_OK)
            e = src->near(src->ctx, idx[i], &bs, &bn, &bl, &as, &an, &al, d);
        if (e == TL_OK)
            e = witset_add(&ws, bs, bn, bl, 1);
        else
            free(bn);
        if (e == TL_OK)
            e = witset_add(&ws, as, an, al, 0);
        else
            free(an);
    }
    json_object_set_new(root, "entries", ents);
    json_t *rj = json_array();
    for (size_t i = 0; i < nregs && e == TL_OK; i++) {
        json_t *it = NULL;
        if (regs[i] >= src->size)
            continue;
        e = item_json(src, regs[i], &it, d);
        if (e == TL_OK)
            json_array_append_new(rj, it);
    }
    json_object_set_new(root, "registry", rj);
    /* The witnessed checkpoints, ascending, the proofs' own last. */
    if (e == TL_OK) {
        char *top = malloc(src->checkpoint_len + 1);
        if (top) {
            memcpy(top, src->checkpoint, src->checkpoint_len);
            top[src->checkpoint_len] = '\0';
        }
        e = top ? witset_add(&ws, src->size, top, src->checkpoint_len, 1) : TL_ERR_NOMEM;
    }
    json_t *wj = json_array();
    for (size_t done = 0; done < ws.n && e == TL_OK; done++) {
        size_t best = SIZE_MAX; /* selection: ws is small */
        for (size_t i = 0; i < ws.n; i++) {
            if (!ws.notes[i])
                continue;
            if (best == SIZE_MAX || ws.sizes[i] < ws.sizes[best] ||
                (ws.sizes[i] == ws.sizes[best] && ws.ranks[i] < ws.ranks[best]))
                best = i;
        }
        json_t *o = json_object();
        json_object_set_new(o, "size", json_integer((json_int_t)ws.sizes[best]));
        json_object_set_new(o, "note", json_stringn(ws.notes[best], ws.lens[best]));
        json_array_append_new(wj, o);
        free(ws.notes[best]);
        ws.notes[best] = NULL;
    }
    json_object_set_new(root, "witnessed", wj);
    witset_free(&ws);
    free(idx);
    if (e == TL_OK) {
        char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!s) {
            e = tl_fail(d, TL_ERR_NOMEM, "evidence");
        } else {
            size_t sl = strlen(s);
            char *grown = realloc(s, sl + 2);
            if (!grown) {
                free(s);
                e = tl_fail(d, TL_ERR_NOMEM, "evidence");
            } else {
                *out = grown;
                (*out)[sl] = '\n';
                (*out)[sl + 1] = '\0';
                *len = sl + 1;
            }
        }
    }
    json_decref(root);
    return e;
}

/* ---- verify ---- */

typedef struct item {
    uint64_t index;
    uint8_t *entry;
    size_t len;
} item;

static int cmp_item(const void *a, const void *b)
{
    return cmp_u64(&((const item *)a)->index, &((const item *)b)->index);
}

/* Decodes and proves one {"index","entry","proof"} against the checkpoint. */
static tl_err check_item(const json_t *it, const tl_checkpoint *cp, item *out, const char *what,
                         size_t i, tl_diag *d)
{
    json_t *ij = json_object_get(it, "index"), *ej = json_object_get(it, "entry"),
           *pj = json_object_get(it, "proof");
    if (!json_is_integer(ij) || json_integer_value(ij) < 0 || !json_is_string(ej) ||
        !json_is_array(pj) || json_array_size(pj) > TL_PROOF_MAX)
        return tl_fail(d, TL_ERR_FORMAT, "%s[%zu]: needs index, entry (base64) and proof", what, i);
    out->index = (uint64_t)json_integer_value(ij);
    const char *eb = json_string_value(ej);
    size_t eblen = json_string_length(ej);
    out->entry = malloc(eblen / 4 * 3 + 3);
    if (!out->entry)
        return tl_fail(d, TL_ERR_NOMEM, "evidence");
    if (tl_b64_decode(out->entry, eblen / 4 * 3 + 3, &out->len, eb, eblen) != TL_OK)
        return tl_fail(d, TL_ERR_FORMAT, "%s[%zu].entry: not base64", what, i);
    uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN];
    size_t np = json_array_size(pj);
    for (size_t k = 0; k < np; k++) {
        json_t *h = json_array_get(pj, k);
        size_t hl = 0;
        uint8_t tmp[TL_HASH_LEN + 3];
        if (!json_is_string(h) ||
            tl_b64_decode(tmp, sizeof tmp, &hl, json_string_value(h), json_string_length(h)) !=
                TL_OK ||
            hl != TL_HASH_LEN)
            return tl_fail(d, TL_ERR_FORMAT, "%s[%zu].proof[%zu]: not a base64 hash", what, i, k);
        memcpy(proof[k], tmp, TL_HASH_LEN);
    }
    uint8_t leaf[TL_HASH_LEN];
    tl_leaf_hash(leaf, out->entry, out->len);
    if (tl_merkle_verify_inclusion(out->index, cp->size, leaf, (const uint8_t(*)[TL_HASH_LEN])proof,
                                   np, cp->root) != TL_OK)
        return tl_fail(d, TL_ERR_PROOF,
                       "%s[%zu]: entry %llu is not in the log of the checkpoint (the inclusion "
                       "proof fails)",
                       what, i, (unsigned long long)out->index);
    return TL_OK;
}

/* Every signature line of an evidence note must be by a key of the policy: a line by an
 * unknown key would be ignored by the checks, so a changed byte in it would pass unseen. */
static tl_err strict_sigs(const tl_policy *p, const char *note, size_t len, const char *what,
                          tl_diag *d)
{
    tl_note n;
    tl_err e = tl_note_parse(&n, note, len, d);
    if (e != TL_OK)
        return tl_diag_prefix(d, e, "evidence: %s", what);
    for (size_t i = 0; i < n.nsigs; i++) {
        const tl_note_sig *s = &n.sigs[i];
        bool known = false;
        for (size_t k = 0; k < p->nlogs + p->nwitnesses && !known; k++) {
            const tl_vkey *v = k < p->nlogs ? &p->logs[k].key : &p->witnesses[k - p->nlogs].key;
            known = v->id == s->id && v->name_len == s->name_len &&
                    memcmp(v->name, s->name, s->name_len) == 0;
        }
        if (!known)
            return tl_fail(d, TL_ERR_SIGNATURE,
                           "evidence: %s: signature line %zu (%.*s) is by no key of the policy",
                           what, i + 1, (int)s->name_len, s->name);
    }
    return TL_OK;
}

typedef struct find_ctx {
    const char *id;
    char *line;
} find_ctx;

tl_err tl_evidence_verify(const char *text, size_t len, const tl_policy *policy,
                          const char *ruleset_text, size_t ruleset_len, const tl_schemas *schemas,
                          char **finding, tl_diag *d)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return tl_fail(d, TL_ERR_FORMAT, "evidence: JSON line %d column %d: %s", je.line, je.column,
                       je.text);
    tl_err e = TL_OK;
    item *items = NULL;
    size_t nitems = 0;
    tl_ruleset *rs = NULL;
    tl_follow *fo = NULL;
    tl_registry *reg = NULL;
    char *derived = NULL, *given = NULL;
    const json_t *fmt = json_object_get(root, "format"), *fin = json_object_get(root, "finding"),
                 *cpj = json_object_get(root, "checkpoint"),
                 *rsj = json_object_get(root, "ruleset"), *ents = json_object_get(root, "entries"),
                 *regs = json_object_get(root, "registry"),
                 *wits = json_object_get(root, "witnessed"), *szj = json_object_get(root, "size");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), TL_EVIDENCE_FORMAT) != 0)
        e = tl_fail(d, TL_ERR_FORMAT, "evidence: format is not \"%s\"", TL_EVIDENCE_FORMAT);
    else if (!json_is_object(fin) || !json_is_string(json_object_get(fin, "id")) ||
             !json_is_string(cpj) || !json_is_object(rsj) || !json_is_array(ents) ||
             !json_is_array(regs) || !json_is_array(wits) || !json_is_integer(szj))
        e = tl_fail(d, TL_ERR_FORMAT,
                    "evidence: needs finding, ruleset, size, checkpoint, entries, registry and "
                    "witnessed");
    /* 1. The checkpoint meets the policy. */
    tl_checkpoint cp;
    if (e == TL_OK) {
        e = tl_policy_check(policy, json_string_value(cpj), json_string_length(cpj), &cp, NULL, d);
        if (e != TL_OK)
            tl_diag_prefix(d, e, "evidence: checkpoint");
        else if (cp.size != (uint64_t)json_integer_value(szj))
            e = tl_fail(d, TL_ERR_FORMAT, "evidence: size %lld but the checkpoint is of %llu",
                        (long long)json_integer_value(szj), (unsigned long long)cp.size);
        else
            e = strict_sigs(policy, json_string_value(cpj), json_string_length(cpj), "checkpoint",
                            d);
    }
    /* 2. Every entry is in that log. */
    size_t ne = json_array_size(ents), nr = json_array_size(regs);
    if (e == TL_OK) {
        items = calloc(ne + nr + 1, sizeof *items);
        if (!items)
            e = tl_fail(d, TL_ERR_NOMEM, "evidence");
    }
    for (size_t i = 0; i < ne && e == TL_OK; i++, nitems++)
        e = check_item(json_array_get(ents, i), &cp, &items[nitems], "entries", i, d);
    size_t reg_first = nitems;
    for (size_t i = 0; i < nr && e == TL_OK; i++, nitems++)
        e = check_item(json_array_get(regs, i), &cp, &items[nitems], "registry", i, d);
    /* 3. The ruleset is the file's and the registry's: the text given, else the one logged
     * with the file's registry entries (DESIGN §3). */
    const tl_vkey *op = policy->nlogs ? &policy->logs[0].key : NULL;
    if (e == TL_OK) {
        reg = tl_registry_new();
        e = reg ? TL_OK : tl_fail(d, TL_ERR_NOMEM, "evidence");
        for (size_t i = reg_first; i < nitems && e == TL_OK; i++) {
            uint64_t logged;
            const uint8_t *sub;
            size_t sublen;
            e = tl_entry_parse(items[i].entry, items[i].len, &logged, &sub, &sublen, d);
            if (e == TL_OK)
                e = tl_registry_apply(reg, (const char *)sub, sublen, op, items[i].index, d);
            if (e != TL_OK)
                tl_diag_prefix(d, TL_ERR_FORMAT, "evidence: registry entry %llu",
                               (unsigned long long)items[i].index);
        }
    }
    const json_t *rsh = json_object_get(rsj, "sha256"), *rn = json_object_get(rsj, "name");
    uint8_t sha[TL_HASH_LEN];
    char hx[2 * TL_HASH_LEN + 1];
    for (size_t i = 0; e == TL_OK && !ruleset_text && i < reg->nrulesets; i++) {
        hex(hx, reg->rulesets[i].sha256);
        if (reg->rulesets[i].text && json_is_string(rsh) &&
            strcmp(json_string_value(rsh), hx) == 0) {
            ruleset_text = reg->rulesets[i].text;
            ruleset_len = reg->rulesets[i].text_len;
        }
    }
    if (e == TL_OK && !ruleset_text)
        e = tl_fail(d, TL_ERR_NOTFOUND,
                    "evidence: no ruleset given, and the file's registry entries do not carry "
                    "the text of %s: give the ruleset file",
                    json_is_string(rn) ? json_string_value(rn) : "its ruleset");
    if (e == TL_OK) {
        SHA256((const unsigned char *)ruleset_text, ruleset_len, sha);
        hex(hx, sha);
        if (!json_is_string(rsh) || strcmp(json_string_value(rsh), hx) != 0)
            e = tl_fail(d, TL_ERR_CONFLICT,
                        "evidence: the ruleset given hashes to %s, the finding was made under %s",
                        hx, json_is_string(rsh) ? json_string_value(rsh) : "(none)");
    }
    if (e == TL_OK) {
        bool named = false;
        for (size_t i = 0; i < reg->nrulesets; i++)
            named = named ||
                    (memcmp(reg->rulesets[i].sha256, sha, TL_HASH_LEN) == 0 && json_is_string(rn) &&
                     strcmp(reg->rulesets[i].name, json_string_value(rn)) == 0);
        if (!named)
            e = tl_fail(d, TL_ERR_CONFLICT,
                        "evidence: the logged registry does not name the ruleset %s (%s)", hx,
                        json_is_string(rn) ? json_string_value(rn) : "no name");
    }
    /* 4. Re-derive the finding. */
    if (e == TL_OK)
        e = tl_ruleset_parse(&rs, "ruleset", ruleset_text, ruleset_len, d);
    if (e == TL_OK)
        e = tl_follow_new(&fo, rs, schemas, op, policy, d);
    if (e == TL_OK)
        tl_follow_set_verify(fo, true);
    for (size_t i = 0; i < json_array_size(wits) && e == TL_OK; i++) {
        const json_t *w = json_array_get(wits, i);
        const json_t *ws = json_object_get(w, "size"), *wn = json_object_get(w, "note");
        if (!json_is_integer(ws) || json_integer_value(ws) < 0 || !json_is_string(wn))
            e = tl_fail(d, TL_ERR_FORMAT, "evidence: witnessed[%zu]: needs size and note", i);
        else if ((uint64_t)json_integer_value(ws) > cp.size)
            e = tl_fail(d, TL_ERR_FORMAT, "evidence: witnessed[%zu] is past the checkpoint", i);
        else
            e = strict_sigs(policy, json_string_value(wn), json_string_length(wn), "witnessed", d);
        if (e == TL_OK)
            e = tl_follow_witnessed(fo, (uint64_t)json_integer_value(ws), json_string_value(wn),
                                    json_string_length(wn), d);
        if (e != TL_OK)
            tl_diag_prefix(d, e, "evidence: witnessed[%zu]", i);
    }
    if (e == TL_OK)
        qsort(items, nitems, sizeof *items, cmp_item);
    size_t at = 0;
    for (uint64_t i = 0; i < cp.size && e == TL_OK; i++) {
        if (at < nitems && items[at].index == i) {
            const uint8_t *ep = items[at].entry;
            size_t el = items[at].len;
            e = tl_follow_entries(fo, i, &ep, &el, 1, d);
            while (at < nitems && items[at].index == i)
                at++;
        } else {
            e = tl_follow_skip(fo, i, d);
        }
    }
    size_t dlen = 0;
    if (e == TL_OK)
        e = tl_follow_findings_text(fo, cp.size, &derived, &dlen);
    if (e == TL_OK) {
        given = json_dumps(fin, JSON_COMPACT | JSON_PRESERVE_ORDER);
        const char *id = json_string_value(json_object_get(fin, "id"));
        bool same = false;
        for (char *line = derived; line && *line && !same;) {
            char *nl = strchr(line, '\n');
            size_t ll = nl ? (size_t)(nl - line) : strlen(line);
            json_t *lj = json_loadb(line, ll, 0, NULL);
            const char *lid = json_string_value(json_object_get(lj, "id"));
            if (lid && strcmp(lid, id) == 0) {
                char *mine = json_dumps(lj, JSON_COMPACT | JSON_PRESERVE_ORDER);
                same = mine && given && strcmp(mine, given) == 0;
                if (!same)
                    e = tl_fail(d, TL_ERR_CONFLICT,
                                "evidence: the entries give a different finding %s: %.*s", id,
                                (int)(ll > 300 ? 300 : ll), line);
                free(mine);
                if (same && finding) {
                    *finding = malloc(ll + 1);
                    if (*finding) {
                        memcpy(*finding, line, ll);
                        (*finding)[ll] = '\0';
                    }
                }
                json_decref(lj);
                break;
            }
            json_decref(lj);
            line = nl ? nl + 1 : NULL;
        }
        if (e == TL_OK && !same)
            e = tl_fail(d, TL_ERR_CONFLICT,
                        "evidence: the entries and checkpoints do not give finding %s", id);
    }
    for (size_t i = 0; i < nitems + (e != TL_OK && items ? 1 : 0) && items; i++)
        free(items[i].entry);
    free(items);
    free(derived);
    free(given);
    tl_follow_free(fo);
    tl_ruleset_free(rs);
    tl_registry_free(reg);
    json_decref(root);
    return e;
}
