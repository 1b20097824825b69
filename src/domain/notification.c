/* notification.c - treatylog/notification/v1 texts (DESIGN §3): strict parsing, validation
 * against the message schemas, decoding, canonical form, templates, and the submission check
 * for the sequencer's validation hook.
 *
 *   OFFSET  SIZE  CONTENT
 *   0       26    "treatylog/notification/v1\n"
 *   26      n     one JSON object, '{' .. '}', no control character, valid UTF-8
 *   26+n    1     "\n" (end of the text; in a signed note the signature block follows)
 */
#include "treatylog/notification.h"

#include <stdlib.h>
#include <string.h>

#include "schema_int.h"
#include "treatylog/note.h"

void tl_notification_free(tl_notification *n)
{
    if (!n)
        return;
    free(n->to);
    free(n->refs);
    json_decref(n->doc);
    json_decref(n->own_body);
    free(n->strings);
    memset(n, 0, sizeof *n);
}

/* Fills n from a validated document (takes the reference to doc, also on error). */
static tl_err decode(tl_notification *n, json_t *doc, tl_diag *d)
{
    memset(n, 0, sizeof *n);
    n->doc = doc;
    const json_t *type = json_object_get(doc, "type");
    const json_t *from = json_object_get(doc, "from");
    /* The schemas guarantee these shapes; checked again so that a bad schema directory
     * cannot overflow the fixed fields. */
    if (json_string_length(type) > TL_SCHEMA_TYPE_MAX || json_string_length(from) != TL_PARTY_LEN) {
        tl_notification_free(n);
        return tl_fail(d, TL_ERR_INTERNAL, "envelope schema lets a bad type or from through");
    }
    memcpy(n->type, json_string_value(type), json_string_length(type) + 1);
    memcpy(n->from, json_string_value(from), TL_PARTY_LEN + 1);
    json_int_t serial = json_integer_value(json_object_get(doc, "serial"));
    const char *sent = json_string_value(json_object_get(doc, "sent"));
    if (serial < 1 || !sent || tl_value_datetime(sent, strlen(sent), &n->sent) != TL_OK) {
        tl_notification_free(n);
        return tl_fail(d, TL_ERR_INTERNAL, "envelope schema lets a bad serial or sent through");
    }
    n->serial = (uint64_t)serial;
    const json_t *to = json_object_get(doc, "to");
    size_t nto = json_array_size(to);
    const char *to0 = json_string_value(json_array_get(to, 0));
    if (nto == 1 && to0 && strcmp(to0, "*") == 0) {
        n->to_all = true;
    } else if (nto > 0) {
        n->to = calloc(nto, sizeof *n->to);
        if (!n->to) {
            tl_notification_free(n);
            return tl_fail(d, TL_ERR_NOMEM, "decoding a notification");
        }
        for (size_t i = 0; i < nto; i++) {
            const json_t *p = json_array_get(to, i);
            if (!tl_value_party(json_string_value(p), json_string_length(p))) {
                tl_notification_free(n);
                return tl_fail(d, TL_ERR_INTERNAL, "envelope schema lets a bad to through");
            }
            memcpy(n->to[i], json_string_value(p), TL_PARTY_LEN + 1);
        }
        n->nto = nto;
    }
    const json_t *refs = json_object_get(doc, "refs");
    size_t nrefs = json_array_size(refs);
    if (nrefs > 0) {
        n->refs = calloc(nrefs, sizeof *n->refs);
        if (!n->refs) {
            tl_notification_free(n);
            return tl_fail(d, TL_ERR_NOMEM, "decoding a notification");
        }
        for (size_t i = 0; i < nrefs; i++) {
            const json_t *r = json_array_get(refs, i);
            if (tl_value_leafhash(json_string_value(r), json_string_length(r), n->refs[i]) !=
                TL_OK) {
                tl_notification_free(n);
                return tl_fail(d, TL_ERR_INTERNAL, "envelope schema lets a bad ref through");
            }
        }
        n->nrefs = nrefs;
    }
    n->treaty_ref = json_string_value(json_object_get(doc, "treaty_ref"));
    n->remarks = json_string_value(json_object_get(doc, "remarks"));
    n->body = json_object_get(doc, "body");
    return TL_OK;
}

/* Copies treaty_ref and remarks (either may be NULL) into one block n->strings. */
static bool own_strings(tl_notification *n, const char *tr, size_t trlen, const char *rm,
                        size_t rmlen)
{
    if (!tr && !rm)
        return true;
    char *b = malloc(trlen + rmlen + 2);
    if (!b)
        return false;
    n->strings = b;
    if (tr) {
        memcpy(b, tr, trlen);
        b[trlen] = '\0';
        n->treaty_ref = b;
        b += trlen + 1;
    }
    if (rm) {
        memcpy(b, rm, rmlen);
        b[rmlen] = '\0';
        n->remarks = b;
    }
    return true;
}

/* A decoded notification (with doc) turned into the TL_NOTIFICATION_NO_DOC form. */
static tl_err drop_doc(tl_notification *n, tl_diag *d)
{
    const char *tr = n->treaty_ref, *rm = n->remarks;
    n->treaty_ref = n->remarks = NULL;
    if (!own_strings(n, tr, tr ? strlen(tr) : 0, rm, rm ? strlen(rm) : 0)) {
        tl_notification_free(n);
        return tl_fail(d, TL_ERR_NOMEM, "decoding a notification");
    }
    n->own_body = json_incref(n->body);
    json_decref(n->doc);
    n->doc = NULL;
    return TL_OK;
}

static bool tok_is(const tl_tape *tp, uint32_t i, uint32_t kind)
{
    return i && tp->t[i].kind == kind;
}

/* decode() on a tape that tl_tape_valid_notification accepted, in the TL_NOTIFICATION_NO_DOC
 * form: 1 done, 0 undecided (decode() would fail: the reference path gives its message), -1
 * out of memory. *n is zeroed unless 1. */
static int decode_tape(tl_notification *n, const tl_tape *tp)
{
    memset(n, 0, sizeof *n);
    const tl_tok *t = tp->t;
    /* The envelope's members, in one pass (0: absent). */
    uint32_t ty = 0, fr = 0, se = 0, sn = 0, to = 0, rf = 0, tr = 0, rm = 0, bo = 0;
    static const struct {
        const char *key;
        size_t len;
    } keys[] = {{"type", 4}, {"from", 4},       {"serial", 6},  {"sent", 4}, {"to", 2},
                {"refs", 4}, {"treaty_ref", 10}, {"remarks", 7}, {"body", 4}};
    uint32_t *at[] = {&ty, &fr, &se, &sn, &to, &rf, &tr, &rm, &bo};
    for (uint32_t j = 1; j < t[0].end; j = t[j + 1].end) {
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            if (t[j].n == keys[k].len && memcmp(t[j].v.s, keys[k].key, keys[k].len) == 0) {
                *at[k] = j + 1;
                break;
            }
        }
    }
    if (!tok_is(tp, ty, TL_TK_STR) || t[ty].n > TL_SCHEMA_TYPE_MAX ||
        !tok_is(tp, fr, TL_TK_STR) || t[fr].n != TL_PARTY_LEN || !tok_is(tp, se, TL_TK_INT) ||
        t[se].v.i < 1 || !tok_is(tp, sn, TL_TK_STR) ||
        tl_value_datetime(t[sn].v.s, t[sn].n, &n->sent) != TL_OK)
        goto undecided;
    memcpy(n->type, t[ty].v.s, t[ty].n);
    n->type[t[ty].n] = '\0';
    memcpy(n->from, t[fr].v.s, TL_PARTY_LEN);
    n->from[TL_PARTY_LEN] = '\0';
    n->serial = (uint64_t)t[se].v.i;
    size_t nto = tok_is(tp, to, TL_TK_ARR) ? t[to].n : 0;
    if (nto == 1 && t[to + 1].kind == TL_TK_STR && t[to + 1].n == 1 && t[to + 1].v.s[0] == '*') {
        n->to_all = true;
    } else if (nto > 0) {
        n->to = calloc(nto, sizeof *n->to);
        if (!n->to)
            goto nomem;
        size_t k = 0;
        for (uint32_t j = to + 1; j < t[to].end; j = t[j].end, k++) {
            if (t[j].kind != TL_TK_STR || !tl_value_party(t[j].v.s, t[j].n))
                goto undecided;
            memcpy(n->to[k], t[j].v.s, TL_PARTY_LEN);
            n->to[k][TL_PARTY_LEN] = '\0';
        }
        n->nto = nto;
    }
    size_t nrefs = tok_is(tp, rf, TL_TK_ARR) ? t[rf].n : 0;
    if (nrefs > 0) {
        n->refs = calloc(nrefs, sizeof *n->refs);
        if (!n->refs)
            goto nomem;
        size_t k = 0;
        for (uint32_t j = rf + 1; j < t[rf].end; j = t[j].end, k++) {
            if (t[j].kind != TL_TK_STR || tl_value_leafhash(t[j].v.s, t[j].n, n->refs[k]) != TL_OK)
                goto undecided;
        }
        n->nrefs = nrefs;
    }
    bool has_tr = tok_is(tp, tr, TL_TK_STR), has_rm = tok_is(tp, rm, TL_TK_STR);
    if (!own_strings(n, has_tr ? t[tr].v.s : NULL, has_tr ? t[tr].n : 0,
                     has_rm ? t[rm].v.s : NULL, has_rm ? t[rm].n : 0))
        goto nomem;
    if (bo) {
        n->own_body = tl_tape_build(tp, bo);
        if (!n->own_body)
            goto nomem;
        n->body = n->own_body;
    }
    return 1;
undecided:
    tl_notification_free(n);
    return 0;
nomem:
    tl_notification_free(n);
    return -1;
}

tl_err tl_notification_parse(tl_notification *out, const tl_schemas *s, const char *text,
                             size_t len, tl_diag *d)
{
    return tl_notification_parse_ex(out, s, text, len, 0, d);
}

tl_err tl_notification_parse_ex(tl_notification *out, const tl_schemas *s, const char *text,
                                size_t len, unsigned flags, tl_diag *d)
{
    memset(out, 0, sizeof *out);
    if (len > TL_NOTIFICATION_MAX)
        return tl_fail(d, TL_ERR_TOOBIG, "notification: %zu bytes, more than %d", len,
                       TL_NOTIFICATION_MAX);
    if (len < TL_NOTIFICATION_HEADER_LEN ||
        memcmp(text, TL_NOTIFICATION_HEADER, TL_NOTIFICATION_HEADER_LEN) != 0) {
        /* Name another treatylog format if line 1 is one (printable ASCII only). */
        size_t n = 0;
        while (n < len && n < 64 && text[n] >= 0x20 && text[n] < 0x7f)
            n++;
        if (n < len && text[n] == '\n' && n > 10 && memcmp(text, "treatylog/", 10) == 0)
            return tl_fail(d, TL_ERR_FORMAT,
                           "line 1: unknown format \"%.*s\" (want treatylog/notification/v1)",
                           (int)n, text);
        return tl_fail(d, TL_ERR_FORMAT, "line 1: must be \"treatylog/notification/v1\"");
    }
    const char *line = text + TL_NOTIFICATION_HEADER_LEN;
    size_t rest = len - TL_NOTIFICATION_HEADER_LEN;
    const char *lf = memchr(line, '\n', rest);
    if (!lf)
        return tl_fail(d, TL_ERR_FORMAT, "line 2: must end with a line feed");
    size_t llen = (size_t)(lf - line);
    if (llen + 1 != rest)
        return tl_fail(d, TL_ERR_FORMAT,
                       "line 3: unexpected text after the JSON line (the object must be on "
                       "one line)");
    bool no_doc = flags & TL_NOTIFICATION_NO_DOC;
    /* The fast path (schema_tape.c): where it decides, it decides as the reference path
     * below would; where it cannot, the reference path runs and gives the message. */
    tl_tape tape, *tp = &tape;
    tl_tape_init(tp);
    bool lexed = tl_tape_parse(tp, line, llen, true);
    const tl_msgtype *mt = NULL;
    json_t *doc = NULL;
    tl_err e = TL_OK;
    if (lexed && tl_tape_valid_notification(s, tp, &mt)) {
        if (no_doc) {
            int r = decode_tape(out, tp);
            if (r != 0) {
                tl_tape_free(tp);
                return r > 0 ? TL_OK : tl_fail(d, TL_ERR_NOMEM, "decoding a notification");
            }
        } else {
            doc = tl_tape_build(tp, 0);
            tl_tape_free(tp);
            if (!doc)
                return tl_fail(d, TL_ERR_NOMEM, "decoding a notification");
            return decode(out, doc, d);
        }
    }
    /* The reference path. */
    if (lexed) {
        doc = tl_tape_build(tp, 0);
        if (!doc)
            e = tl_fail(d, TL_ERR_NOMEM, "parsing a notification");
    } else {
        e = tl_schema_parse_json_ref(&doc, line, llen, true, d);
    }
    tl_tape_free(tp);
    if (e != TL_OK) {
        /* Syntax errors ("JSON column N: ...") get their line; content errors name a path. */
        if (d && strncmp(d->msg, "JSON", 4) == 0)
            return tl_diag_prefix(d, e, "line 2");
        return e;
    }
    e = tl_schema_validate_notification(s, doc, d);
    if (e != TL_OK) {
        json_decref(doc);
        return e;
    }
    e = decode(out, doc, d);
    if (e == TL_OK && no_doc)
        e = drop_doc(out, d);
    return e;
}

/* The notification text of a validated document: header, compact JSON, LF. */
static tl_err to_text(char **text, size_t *len, const json_t *doc, tl_diag *d)
{
    char *js = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!js)
        return tl_fail(d, TL_ERR_NOMEM, "serialising a notification");
    size_t jl = strlen(js);
    size_t n = TL_NOTIFICATION_HEADER_LEN + jl + 1;
    if (n > TL_NOTIFICATION_MAX) {
        free(js);
        return tl_fail(d, TL_ERR_TOOBIG, "notification: %zu bytes, more than %d", n,
                       TL_NOTIFICATION_MAX);
    }
    char *out = malloc(n + 1);
    if (!out) {
        free(js);
        return tl_fail(d, TL_ERR_NOMEM, "serialising a notification");
    }
    memcpy(out, TL_NOTIFICATION_HEADER, TL_NOTIFICATION_HEADER_LEN);
    memcpy(out + TL_NOTIFICATION_HEADER_LEN, js, jl);
    out[n - 1] = '\n';
    out[n] = '\0';
    free(js);
    *text = out;
    *len = n;
    return TL_OK;
}

tl_err tl_notification_from_json(char **text, size_t *len, const tl_schemas *s, const char *json,
                                 size_t jlen, tl_diag *d)
{
    if (jlen > TL_NOTIFICATION_MAX * 4)
        return tl_fail(d, TL_ERR_TOOBIG, "JSON: %zu bytes, far more than a notification holds",
                       jlen);
    json_t *doc = NULL;
    tl_err e = tl_schema_parse_json(&doc, json, jlen, false, d);
    if (e != TL_OK)
        return e;
    e = tl_schema_validate_notification(s, doc, d);
    if (e == TL_OK)
        e = to_text(text, len, doc, d);
    json_decref(doc);
    return e;
}

tl_err tl_notification_template(char **text, size_t *len, const tl_schemas *s, const char *type,
                                tl_diag *d)
{
    const tl_msgtype *t = tl_schemas_find(s, type);
    if (!t)
        return tl_fail(d, TL_ERR_NOTFOUND, "unknown message type \"%.64s\"", type);
    const json_t *ex = json_array_get(json_object_get(t->schema, "examples"), 0);
    if (!ex)
        return tl_fail(d, TL_ERR_INTERNAL, "%s has no example", type);
    return to_text(text, len, ex, d);
}

tl_err tl_notification_check_submission(void *ctx, const uint8_t *body, size_t len, tl_diag *d)
{
    const tl_schemas *s = ctx;
    tl_note *note = malloc(sizeof *note);
    if (!note)
        return tl_fail(d, TL_ERR_NOMEM, "checking a submission");
    tl_err e = tl_note_parse(note, (const char *)body, len, d);
    if (e != TL_OK) {
        free(note);
        return tl_diag_prefix(d, e, "signed note");
    }
    tl_notification n;
    e = tl_notification_parse_ex(&n, s, note->text, note->text_len, TL_NOTIFICATION_NO_DOC, d);
    free(note);
    if (e == TL_OK)
        tl_notification_free(&n);
    return e;
}
