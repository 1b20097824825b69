/* schema_tape.c - the fast path of strict JSON and of notification validation: one pass over
 * the text into a flat token array (a "tape"), a validator that runs the compiled schema
 * nodes over the tape, and the jansson tree of any value of the tape, built directly.
 *
 * Both are conservative. The lexer accepts only texts that the reference path (jansson's
 * json_loadb plus the checks of schema_json.c) accepts, and the tree it builds is the very
 * tree the reference path builds (same values, same key order); it gives up on a syntax
 * error, a duplicate key, a control character, a real number, an integer of more than 18
 * digits, a lone surrogate, nesting deeper than TAPE_DEPTH, a top-level value that is not an
 * object, or no memory. The validator says "valid" only where the reference validator
 * (schema.c) does, and gives up on what it cannot decide cheaply (const, enum or
 * uniqueItems over objects or arrays). Giving up costs only time: the caller then runs the
 * reference path, which gives the verdict and its precise message. Messages are never built
 * here. tests/unit/domain/tape_test.c and fuzz/fuzz_tape.c compare both paths.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema_int.h"
#include "treatylog/values.h"

#define TAPE_DEPTH  64  /* deeper documents go to the reference path */
#define TAPE_UNIQUE 512 /* longer uniqueItems arrays too (the check is pairwise) */

void tl_tape_init(tl_tape *tp)
{
    tp->t = tp->small;
    tp->n = 0;
    tp->cap = sizeof tp->small / sizeof tp->small[0];
    tp->sbuf = NULL;
    tp->slen = tp->scap = 0;
}

void tl_tape_free(tl_tape *tp)
{
    if (tp->t != tp->small)
        free(tp->t);
    if (tp->sbuf != tp->ssmall)
        free(tp->sbuf);
    tl_tape_init(tp);
}

/* ---------------------------------------------------------------------------------------
 * The lexer.
 */

typedef struct lx {
    tl_tape *tp;
    const unsigned char *p, *end;
    size_t len;  /* of the whole text: bounds the decoded strings */
    bool ws_any; /* tab, CR, LF allowed between tokens (not one_line) */
    unsigned depth;
} lx;

static void skip_ws(lx *f)
{
    if (f->ws_any) {
        while (f->p < f->end && (*f->p == ' ' || *f->p == '\t' || *f->p == '\n' || *f->p == '\r'))
            f->p++;
    } else {
        while (f->p < f->end && *f->p == ' ')
            f->p++;
    }
}

/* A new token of that kind; UINT32_MAX if out of memory. */
static uint32_t push(tl_tape *tp, uint32_t kind)
{
    if (tp->n == tp->cap) {
        if (tp->cap > UINT32_MAX / 4)
            return UINT32_MAX;
        size_t cap = tp->cap * 2;
        tl_tok *t = tp->t == tp->small ? malloc(cap * sizeof *t) : realloc(tp->t, cap * sizeof *t);
        if (!t)
            return UINT32_MAX;
        if (tp->t == tp->small)
            memcpy(t, tp->small, sizeof tp->small);
        tp->t = t;
        tp->cap = cap;
    }
    uint32_t i = (uint32_t)tp->n++;
    tp->t[i].kind = kind;
    tp->t[i].n = 0;
    tp->t[i].end = i + 1;
    return i;
}

/* Length of the well-formed UTF-8 sequence at s[0..n) starting with a byte >= 0x80 (Unicode
 * Table 3-7, as tl_utf8_valid), or 0. C1 controls (C2 80..C2 9F) count as ill-formed here:
 * the reference path refuses them in strings. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char b = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
        if (b == 0xC2)
            lo = 0xA0;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    }
    return len;
}

static int hex4(const unsigned char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The escapes of a string from s (its first escape) on, decoded into tp->sbuf after the
 * bytes start..s copied as they are. The decoded string is never longer than its text, so
 * sbuf (as long as the whole text) never moves. */
static bool decode_escaped(lx *f, const unsigned char *start, const unsigned char *p, bool is_key,
                           uint32_t tok)
{
    tl_tape *tp = f->tp;
    if (!tp->sbuf) {
        tp->sbuf = f->len <= sizeof tp->ssmall ? tp->ssmall : malloc(f->len);
        if (!tp->sbuf)
            return false;
        tp->scap = f->len <= sizeof tp->ssmall ? sizeof tp->ssmall : f->len;
    }
    if (tp->scap < f->len) /* a tape parsed again, with a longer text */
        return false;
    char *o0 = tp->sbuf + tp->slen, *o = o0;
    memcpy(o, start, (size_t)(p - start));
    o += p - start;
    const unsigned char *end = f->end;
    while (p < end) {
        unsigned char c = *p;
        if (c == '"') {
            tp->t[tok].v.s = o0;
            tp->t[tok].n = (uint32_t)(o - o0);
            tp->slen += (size_t)(o - o0);
            f->p = p + 1;
            return true;
        }
        if (c == '\\') {
            if (end - p < 2)
                return false;
            unsigned char e = p[1];
            p += 2;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                *o++ = (char)e;
                continue;
            case 'n':
                if (is_key)
                    return false;
                *o++ = '\n';
                continue;
            case 'u':
                break;
            default: /* \b \f \r \t decode to control characters; others are bad */
                return false;
            }
            if (end - p < 4)
                return false;
            int u = hex4(p);
            p += 4;
            if (u < 0)
                return false;
            uint32_t cp = (uint32_t)u;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return false;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                    return false;
                int l = hex4(p + 2);
                if (l < 0xDC00 || l > 0xDFFF)
                    return false;
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)l - 0xDC00);
            }
            if ((cp < 0x20 && (cp != '\n' || is_key)) || (cp >= 0x7f && cp <= 0x9f))
                return false;
            if (cp < 0x80) {
                *o++ = (char)cp;
            } else if (cp < 0x800) {
                *o++ = (char)(0xC0 | (cp >> 6));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *o++ = (char)(0xE0 | (cp >> 12));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *o++ = (char)(0xF0 | (cp >> 18));
                *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            }
            continue;
        }
        if (c < 0x20 || c == 0x7f)
            return false;
        if (c < 0x80) {
            *o++ = (char)c;
            p++;
            continue;
        }
        size_t n = utf8_seq(p, (size_t)(end - p));
        if (n == 0)
            return false;
        memcpy(o, p, n);
        o += n;
        p += n;
    }
    return false;
}

/* Whether any of the 8 bytes of w is '"', '\\', a control (< 0x20), DEL or >= 0x80: the
 * bytes the string scanner must look at. Exact as to "any" (not as to which). */
static bool special8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    uint64_t zq = (q - ones) & ~q & high, zb = (b - ones) & ~b & high;
    uint64_t lt = (w - ones * 0x20) & ~w & high;
    uint64_t del = ((w & ~high) + ones) & high; /* low 7 bits all ones: 0x7f or 0xff */
    return (zq | zb | lt | del | (w & high)) != 0;
}

/* A string token; f->p is just past the opening quote. LF (escaped) is allowed only in
 * values. */
static bool string(lx *f, bool is_key)
{
    uint32_t tok = push(f->tp, TL_TK_STR);
    if (tok == UINT32_MAX)
        return false;
    const unsigned char *start = f->p, *p = f->p, *end = f->end;
    for (;;) {
        while (end - p >= 8) { /* eight plain bytes at a time */
            uint64_t w;
            memcpy(&w, p, 8);
            if (special8(w))
                break;
            p += 8;
        }
        while (p < end && *p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x7f)
            p++;
        if (p >= end)
            return false;
        if (*p == '"') {
            f->tp->t[tok].v.s = (const char *)start;
            f->tp->t[tok].n = (uint32_t)(p - start);
            f->p = p + 1;
            return true;
        }
        if (*p == '\\')
            return decode_escaped(f, start, p, is_key, tok);
        if (*p < 0x80)
            return false; /* a control byte or DEL */
        size_t n = utf8_seq(p, (size_t)(end - p));
        if (n == 0)
            return false;
        p += n;
    }
}

static bool delim(const lx *f)
{
    if (f->p >= f->end)
        return true;
    unsigned char c = *f->p;
    return c == ',' || c == '}' || c == ']' || c == ' ' ||
           (f->ws_any && (c == '\t' || c == '\n' || c == '\r'));
}

static bool value(lx *f);

static bool number(lx *f)
{
    const unsigned char *p = f->p, *end = f->end;
    bool neg = false;
    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    const unsigned char *d0 = p;
    if (p >= end || *p < '0' || *p > '9')
        return false;
    if (*p == '0') {
        p++;
    } else {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p - d0 > 18)
        return false;
    f->p = p;
    if (!delim(f)) /* a real, a leading zero, or junk: the reference path decides */
        return false;
    json_int_t v = 0;
    for (const unsigned char *q = d0; q < p; q++)
        v = v * 10 + (*q - '0');
    uint32_t tok = push(f->tp, TL_TK_INT);
    if (tok == UINT32_MAX)
        return false;
    f->tp->t[tok].v.i = neg ? -v : v;
    return true;
}

static bool same_key(const tl_tok *a, const tl_tok *b)
{
    return a->n == b->n && memcmp(a->v.s, b->v.s, a->n) == 0;
}

static unsigned key_hash6(const char *s, size_t n)
{
    uint32_t h = (uint32_t)n * 0x9E3779B1u;
    if (n) {
        h ^= (uint32_t)(unsigned char)s[0] * 0x85EBCA6Bu;
        h ^= (uint32_t)(unsigned char)s[n - 1] * 0xC2B2AE35u;
        h ^= (uint32_t)(unsigned char)s[n / 2] * 0x27D4EB2Fu;
    }
    return (h >> 26) & 63;
}

static bool object(lx *f)
{
    tl_tape *tp = f->tp;
    uint32_t tok = push(tp, TL_TK_OBJ);
    if (tok == UINT32_MAX)
        return false;
    uint32_t members = 0;
    uint64_t bloom = 0; /* key_hash6 of the keys so far */
    f->p++;             /* '{' */
    skip_ws(f);
    if (f->p < f->end && *f->p == '}') {
        f->p++;
        tp->t[tok].end = (uint32_t)tp->n;
        return true;
    }
    for (;;) {
        if (f->p >= f->end || *f->p != '"')
            return false;
        f->p++;
        uint32_t k = (uint32_t)tp->n;
        if (!string(f, true))
            return false;
        /* Duplicate keys: pairwise over this object's keys (which jump from one to the next),
         * only when a key of the same 6-bit hash came before. */
        const tl_tok *kt = &tp->t[k];
        uint64_t bit = (uint64_t)1 << key_hash6(kt->v.s, kt->n);
        if (bloom & bit) {
            for (uint32_t j = tok + 1; j < k; j = tp->t[j + 1].end) {
                if (same_key(&tp->t[j], &tp->t[k]))
                    return false;
            }
        }
        bloom |= bit;
        skip_ws(f);
        if (f->p >= f->end || *f->p != ':')
            return false;
        f->p++;
        skip_ws(f);
        if (!value(f))
            return false;
        members++;
        skip_ws(f);
        if (f->p >= f->end)
            return false;
        if (*f->p == ',') {
            f->p++;
            skip_ws(f);
            continue;
        }
        if (*f->p == '}') {
            f->p++;
            tp->t[tok].n = members;
            tp->t[tok].end = (uint32_t)tp->n;
            return true;
        }
        return false;
    }
}

static bool array(lx *f)
{
    tl_tape *tp = f->tp;
    uint32_t tok = push(tp, TL_TK_ARR);
    if (tok == UINT32_MAX)
        return false;
    uint32_t items = 0;
    f->p++; /* '[' */
    skip_ws(f);
    if (f->p < f->end && *f->p == ']') {
        f->p++;
        tp->t[tok].end = (uint32_t)tp->n;
        return true;
    }
    for (;;) {
        if (!value(f))
            return false;
        items++;
        skip_ws(f);
        if (f->p >= f->end)
            return false;
        if (*f->p == ',') {
            f->p++;
            skip_ws(f);
            continue;
        }
        if (*f->p == ']') {
            f->p++;
            tp->t[tok].n = items;
            tp->t[tok].end = (uint32_t)tp->n;
            return true;
        }
        return false;
    }
}

static bool word(lx *f, const char *w, size_t n, uint32_t kind)
{
    if ((size_t)(f->end - f->p) < n || memcmp(f->p, w, n) != 0)
        return false;
    f->p += n;
    return delim(f) && push(f->tp, kind) != UINT32_MAX;
}

static bool value(lx *f)
{
    if (f->p >= f->end)
        return false;
    switch (*f->p) {
    case '"':
        f->p++;
        return string(f, false);
    case '{':
    case '[': {
        if (f->depth >= TAPE_DEPTH)
            return false;
        f->depth++;
        bool ok = *f->p == '{' ? object(f) : array(f);
        f->depth--;
        return ok;
    }
    case 't':
        return word(f, "true", 4, TL_TK_TRUE);
    case 'f':
        return word(f, "false", 5, TL_TK_FALSE);
    case 'n':
        return word(f, "null", 4, TL_TK_NULL);
    default:
        return number(f);
    }
}

bool tl_tape_parse(tl_tape *tp, const char *buf, size_t len, bool one_line)
{
    tp->n = 0;
    tp->slen = 0;
    lx f = {.tp = tp,
            .p = (const unsigned char *)buf,
            .end = (const unsigned char *)buf + len,
            .len = len,
            .ws_any = !one_line,
            .depth = 1};
    if (one_line && (len == 0 || buf[0] != '{' || buf[len - 1] != '}'))
        return false;
    if (len > UINT32_MAX / 2)
        return false;
    skip_ws(&f);
    if (f.p >= f.end || *f.p != '{' || !object(&f))
        return false;
    skip_ws(&f);
    return f.p == f.end;
}

/* ---------------------------------------------------------------------------------------
 * Reading and building.
 */

uint32_t tl_tape_member(const tl_tape *tp, uint32_t obj, const char *key, size_t klen)
{
    if (tp->t[obj].kind != TL_TK_OBJ)
        return 0;
    for (uint32_t j = obj + 1; j < tp->t[obj].end; j = tp->t[j + 1].end) {
        if (tp->t[j].n == klen && memcmp(tp->t[j].v.s, key, klen) == 0)
            return j + 1;
    }
    return 0;
}

json_t *tl_tape_build(const tl_tape *tp, uint32_t i)
{
    const tl_tok *t = &tp->t[i];
    switch (t->kind) {
    case TL_TK_STR:
        return json_stringn_nocheck(t->v.s, t->n);
    case TL_TK_INT:
        return json_integer(t->v.i);
    case TL_TK_TRUE:
        return json_true();
    case TL_TK_FALSE:
        return json_false();
    case TL_TK_NULL:
        return json_null();
    case TL_TK_ARR: {
        json_t *a = json_array();
        for (uint32_t j = i + 1; a && j < t->end; j = tp->t[j].end) {
            if (json_array_append_new(a, tl_tape_build(tp, j)) != 0) {
                json_decref(a);
                a = NULL;
            }
        }
        return a;
    }
    case TL_TK_OBJ: {
        json_t *o = json_object();
        for (uint32_t j = i + 1; o && j < t->end; j = tp->t[j + 1].end) {
            if (json_object_setn_new_nocheck(o, tp->t[j].v.s, tp->t[j].n,
                                             tl_tape_build(tp, j + 1)) != 0) {
                json_decref(o);
                o = NULL;
            }
        }
        return o;
    }
    default:
        return NULL;
    }
}

json_t *tl_schema_fast_json(const char *buf, size_t len, bool one_line)
{
    tl_tape tp;
    tl_tape_init(&tp);
    json_t *j = tl_tape_parse(&tp, buf, len, one_line) ? tl_tape_build(&tp, 0) : NULL;
    tl_tape_free(&tp);
    return j;
}

/* ---------------------------------------------------------------------------------------
 * The validator: schema.c's validate() over the tape, as a verdict only.
 */

typedef struct tv {
    const tl_tape *tp;
    unsigned depth;
} tv;

static unsigned tok_type_bit(uint32_t kind)
{
    switch (kind) {
    case TL_TK_OBJ:
        return TL_TM_OBJECT;
    case TL_TK_ARR:
        return TL_TM_ARRAY;
    case TL_TK_STR:
        return TL_TM_STRING;
    case TL_TK_INT:
        return TL_TM_INTEGER | TL_TM_NUMBER;
    case TL_TK_TRUE:
    case TL_TK_FALSE:
        return TL_TM_BOOLEAN;
    case TL_TK_NULL:
        return TL_TM_NULL;
    default:
        return 0;
    }
}

/* json_equal(j, token) for a scalar token; false (undecided) for an object or array. */
static bool tok_equal_json(const tl_tok *t, const json_t *j)
{
    switch (t->kind) {
    case TL_TK_STR:
        return json_is_string(j) && json_string_length(j) == t->n &&
               memcmp(json_string_value(j), t->v.s, t->n) == 0;
    case TL_TK_INT:
        return json_is_integer(j) && json_integer_value(j) == t->v.i;
    case TL_TK_TRUE:
        return json_is_true(j);
    case TL_TK_FALSE:
        return json_is_false(j);
    case TL_TK_NULL:
        return json_is_null(j);
    default:
        return false;
    }
}

static bool tv_node(tv *c, const tl_snode *n, uint32_t i);

static bool tv_string(const tl_snode *n, const tl_tok *t)
{
    const char *s = t->v.s;
    size_t len = t->n;
    int64_t ts;
    int32_t deg;
    uint8_t h[TL_HASH_LEN];
    switch (n->fmt) {
    case TL_FMT_DATE:
        if (tl_value_date(s, len, &ts) != TL_OK)
            return false;
        break;
    case TL_FMT_DATETIME:
        if (tl_value_datetime(s, len, &ts) != TL_OK)
            return false;
        break;
    case TL_FMT_PARTY:
        if (!tl_value_party(s, len))
            return false;
        break;
    case TL_FMT_PARTY_OR_ALL:
        if (!tl_value_party(s, len) && !(len == 1 && s[0] == '*'))
            return false;
        break;
    case TL_FMT_LEAFHASH:
        if (tl_value_leafhash(s, len, h) != TL_OK)
            return false;
        break;
    case TL_FMT_DEGREES:
    case TL_FMT_LATITUDE:
    case TL_FMT_LONGITUDE:
        if (tl_value_degrees(s, len, &deg) != TL_OK)
            return false;
        if (n->fmt == TL_FMT_LATITUDE && (deg > TL_MICRODEG_LAT_MAX || deg < -TL_MICRODEG_LAT_MAX))
            return false;
        break;
    case TL_FMT_NONE:
    case TL_FMT_RECIPIENTS:
        break;
    }
    if (n->min_len >= 0 || n->max_len >= 0) {
        long long chars = 0;
        for (size_t k = 0; k < len; k++)
            chars += ((unsigned char)s[k] & 0xc0) != 0x80;
        if ((n->min_len >= 0 && chars < n->min_len) || (n->max_len >= 0 && chars > n->max_len))
            return false;
    }
    return true;
}

/* schema.c's num_cmp for an integer instance. */
static int int_cmp(json_int_t a, const json_t *bound)
{
    if (json_is_integer(bound)) {
        json_int_t b = json_integer_value(bound);
        return (a > b) - (a < b);
    }
    double x = (double)a, y = json_number_value(bound);
    return (x > y) - (x < y);
}

static bool has_key(const tl_tape *tp, uint32_t obj, const char *name)
{
    return tl_tape_member(tp, obj, name, strlen(name)) != 0;
}

static bool tv_object(tv *c, const tl_snode *n, uint32_t i)
{
    const tl_tape *tp = c->tp;
    /* The index in n->props of each member's key (the first 64 members), and which
     * properties are present (as far as 64 go). */
    long idx[64];
    uint64_t seen = 0;
    uint32_t m = 0;
    for (uint32_t j = i + 1; j < tp->t[i].end && m < 64; j = tp->t[j + 1].end, m++) {
        idx[m] = tl_schema_prop_index(n, tp->t[j].v.s, tp->t[j].n);
        if (idx[m] >= 0 && idx[m] < 64)
            seen |= (uint64_t)1 << idx[m];
    }
    bool bits = n->nprops <= 64 && tp->t[i].n <= 64 && n->req_prop;
    for (size_t r = 0; r < n->nreq; r++) {
        bool present =
            bits && n->req_prop[r] >= 0 ? (seen >> n->req_prop[r]) & 1 : has_key(tp, i, n->req[r]);
        if (!present)
            return false;
    }
    if (n->anyof) {
        bool any = false;
        for (size_t b = 0; !any && b < json_array_size(n->anyof); b++) {
            const json_t *req = json_object_get(json_array_get(n->anyof, b), "required");
            bool all = true;
            for (size_t k = 0; all && k < json_array_size(req); k++) {
                const char *name = json_string_value(json_array_get(req, k));
                all = name && has_key(tp, i, name);
            }
            any = all;
        }
        if (!any)
            return false;
    }
    m = 0;
    for (uint32_t j = i + 1; j < tp->t[i].end; j = tp->t[j + 1].end, m++) {
        if (n->pnames && !tv_node(c, n->pnames, j))
            return false;
        long p = m < 64 ? idx[m] : tl_schema_prop_index(n, tp->t[j].v.s, tp->t[j].n);
        const tl_snode *sub = p >= 0 ? n->props[p].node : NULL;
        if (!sub && n->addl_false)
            return false;
        if (!sub)
            sub = n->addl;
        if (sub && !tv_node(c, sub, j + 1))
            return false;
    }
    return true;
}

static bool tok_equal(const tl_tok *a, const tl_tok *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == TL_TK_STR)
        return a->n == b->n && memcmp(a->v.s, b->v.s, a->n) == 0;
    if (a->kind == TL_TK_INT)
        return a->v.i == b->v.i;
    return true; /* true, false, null (objects and arrays never get here) */
}

static bool tv_array(tv *c, const tl_snode *n, uint32_t i)
{
    const tl_tape *tp = c->tp;
    long long cnt = tp->t[i].n;
    if ((n->min_items >= 0 && cnt < n->min_items) || (n->max_items >= 0 && cnt > n->max_items))
        return false;
    size_t k = 0;
    for (uint32_t j = i + 1; j < tp->t[i].end; j = tp->t[j].end, k++) {
        const tl_snode *sub = k < n->nprefix ? n->prefix[k] : n->items;
        if (sub && !tv_node(c, sub, j))
            return false;
    }
    if (n->fmt == TL_FMT_RECIPIENTS && cnt > 1) {
        for (uint32_t j = i + 1; j < tp->t[i].end; j = tp->t[j].end) {
            if (tp->t[j].kind == TL_TK_STR && tp->t[j].n == 1 && tp->t[j].v.s[0] == '*')
                return false;
        }
    }
    if (n->unique && cnt > 1) {
        if (cnt > TAPE_UNIQUE)
            return false;
        for (uint32_t j = i + 1; j < tp->t[i].end; j = tp->t[j].end) {
            if (tp->t[j].kind == TL_TK_OBJ || tp->t[j].kind == TL_TK_ARR)
                return false; /* undecided: json_equal on trees is for the reference path */
            for (uint32_t m = i + 1; m < j; m = tp->t[m].end) {
                if (tok_equal(&tp->t[m], &tp->t[j]))
                    return false;
            }
        }
    }
    return true;
}

static bool tv_node(tv *c, const tl_snode *n, uint32_t i)
{
    if (n->always)
        return true;
    if (n->never || c->depth >= TL_SCHEMA_DEPTH_MAX)
        return false;
    c->depth++;
    const tl_tok *t = &c->tp->t[i];
    bool ok = !n->ref || tv_node(c, n->ref, i);
    if (ok && n->types && !(n->types & tok_type_bit(t->kind)))
        ok = false;
    if (ok && n->cst && !tok_equal_json(t, n->cst))
        ok = false;
    if (ok && n->enm) {
        bool found = false;
        for (size_t k = 0; !found && k < json_array_size(n->enm); k++)
            found = tok_equal_json(t, json_array_get(n->enm, k));
        ok = found;
    }
    if (ok) {
        switch (t->kind) {
        case TL_TK_STR:
            ok = tv_string(n, t);
            break;
        case TL_TK_INT:
            ok = !((n->minimum && int_cmp(t->v.i, n->minimum) < 0) ||
                   (n->maximum && int_cmp(t->v.i, n->maximum) > 0));
            break;
        case TL_TK_OBJ:
            ok = tv_object(c, n, i);
            break;
        case TL_TK_ARR:
            ok = tv_array(c, n, i);
            break;
        default:
            break;
        }
    }
    c->depth--;
    return ok;
}

bool tl_tape_valid_notification(const tl_schemas *s, const tl_tape *tp, const tl_msgtype **type)
{
    tv c = {.tp = tp, .depth = 0};
    if (!tv_node(&c, s->envelope, 0))
        return false;
    uint32_t ti = tl_tape_member(tp, 0, "type", 4);
    if (!ti || tp->t[ti].kind != TL_TK_STR || tp->t[ti].n > TL_SCHEMA_TYPE_MAX)
        return false;
    char name[TL_SCHEMA_TYPE_MAX + 1];
    memcpy(name, tp->t[ti].v.s, tp->t[ti].n);
    name[tp->t[ti].n] = '\0';
    const tl_msgtype *t = tl_schemas_find(s, name);
    uint32_t bi = tl_tape_member(tp, 0, "body", 4);
    if (!t || !bi)
        return false;
    c.depth = 0;
    if (!tv_node(&c, s->type_nodes[t - s->types], bi))
        return false;
    uint32_t ri = tl_tape_member(tp, 0, "refs", 4);
    size_t nrefs = ri && tp->t[ri].kind == TL_TK_ARR ? tp->t[ri].n : 0;
    if (nrefs < t->refs_min)
        return false;
    *type = t;
    return true;
}
