/* schema.c - notification schemas: loading a schema directory, strict JSON parsing, and a
 * validator for a small subset of JSON Schema draft 2020-12 with precise error paths.
 * Implements the catalogue of reference/domain.md §2.4; the subset and formats are listed in
 * schema.h and docs/formats.md ("Notifications").
 *
 * Load-time work (so validation does none): every "$ref" is rewritten to the absolute form
 * "<file>.json#<pointer>" and its target stored in one map, every keyword is checked, and
 * every example validated. Validation only reads the schemas (no reference counting), so
 * threads may share a loaded set.
 */
#include "treatylog/schema.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "treatylog/text.h"
#include "treatylog/values.h"

typedef struct sfile {
    char *name; /* without ".json" */
    json_t *root;
} sfile;

struct tl_schemas {
    sfile *files; /* sorted by name */
    size_t nfiles;
    tl_msgtype *types; /* sorted by name */
    size_t ntypes;
    json_t *refs; /* absolute $ref -> target schema */
    const json_t *envelope;
};

/* ---------------------------------------------------------------------------------------
 * Small string builder (messages only; truncates, never fails).
 */

typedef struct sb {
    char *p;
    size_t cap, len;
} sb;

static void sb_vadd(sb *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void sb_vadd(sb *b, const char *fmt, va_list ap)
{
    if (b->len + 1 >= b->cap)
        return;
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    if (n < 0)
        return;
    b->len += (size_t)n;
    if (b->len >= b->cap)
        b->len = b->cap - 1;
}

static void sb_add(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vadd(b, fmt, ap);
    va_end(ap);
}

/* Appends s[0..len) as a quoted string: '"' and '\' escaped, control bytes as \u00XX, cut
 * after 48 bytes (at a UTF-8 boundary) with "...". */
static void sb_quote(sb *b, const char *s, size_t len)
{
    sb_add(b, "\"");
    size_t i = 0;
    for (; i < len && i < 48; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            sb_add(b, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            sb_add(b, "\\u%04x", c);
        else
            sb_add(b, "%c", c);
    }
    if (i < len) {
        /* Finish the UTF-8 sequence we are in, then mark the cut. */
        while (i < len && ((unsigned char)s[i] & 0xc0) == 0x80)
            sb_add(b, "%c", s[i++]);
        if (i < len)
            sb_add(b, "...");
    }
    sb_add(b, "\"");
}

/* Appends a JSON value as compact JSON (strings quoted as above). */
static void sb_json(sb *b, const json_t *v)
{
    if (json_is_string(v)) {
        sb_quote(b, json_string_value(v), json_string_length(v));
        return;
    }
    char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    sb_add(b, "%s", txt ? txt : "?");
    free(txt);
}

/* ---------------------------------------------------------------------------------------
 * Validation context: where we are in the instance, for messages.
 */

#define PATH_MAX_LEN 256

typedef struct vctx {
    const tl_schemas *s;
    tl_diag *d;
    unsigned depth;
    size_t plen;
    char path[PATH_MAX_LEN];
} vctx;

static bool ident_key(const char *k, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Appends ".key" (or "[\"key\"]" for keys that are not plain names) to the path; returns the
 * previous length for path_pop. A path too long to hold ends in "...". */
static size_t path_push_key(vctx *v, const char *k, size_t klen)
{
    size_t old = v->plen;
    char buf[PATH_MAX_LEN];
    sb b = {buf, sizeof buf, 0};
    if (ident_key(k, klen)) {
        sb_add(&b, "%s%.*s", v->plen ? "." : "", (int)klen, k);
    } else {
        sb_add(&b, "[");
        sb_quote(&b, k, klen);
        sb_add(&b, "]");
    }
    if (v->plen + b.len + 4 < sizeof v->path) {
        memcpy(v->path + v->plen, buf, b.len + 1);
        v->plen += b.len;
    } else if (v->plen + 4 <= sizeof v->path &&
               (v->plen < 3 || memcmp(v->path + v->plen - 3, "...", 3) != 0)) {
        memcpy(v->path + v->plen, "...", 4);
        v->plen += 3;
    }
    return old;
}

static size_t path_push_index(vctx *v, size_t i)
{
    size_t old = v->plen;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "[%zu]", i);
    if (n > 0 && v->plen + (size_t)n + 4 < sizeof v->path) {
        memcpy(v->path + v->plen, buf, (size_t)n + 1);
        v->plen += (size_t)n;
    } else if (v->plen + 4 <= sizeof v->path &&
               (v->plen < 3 || memcmp(v->path + v->plen - 3, "...", 3) != 0)) {
        memcpy(v->path + v->plen, "...", 4);
        v->plen += 3;
    }
    return old;
}

static void path_pop(vctx *v, size_t old)
{
    v->plen = old;
    v->path[old] = '\0';
}

/* "<path>: <message>" (just the message at the root) into d; returns TL_ERR_FORMAT. */
static tl_err vfail(vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static tl_err vfail(vctx *v, const char *fmt, ...)
{
    char msg[TL_DIAG_LEN];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0';
    return tl_fail(v->d, TL_ERR_FORMAT, "%s%s%s", v->path, v->plen ? ": " : "", msg);
}

/* ---------------------------------------------------------------------------------------
 * Formats.
 */

typedef enum fmt_id {
    FMT_NONE = 0,
    FMT_DATE,
    FMT_DATETIME,
    FMT_PARTY,
    FMT_PARTY_OR_ALL,
    FMT_LEAFHASH,
    FMT_DEGREES,
    FMT_LATITUDE,
    FMT_LONGITUDE,
    FMT_RECIPIENTS,
} fmt_id;

typedef struct fmt_def {
    const char *name;
    fmt_id id;
    const char *phrase; /* completes "must be ..." */
} fmt_def;

static const fmt_def formats[] = {
    {"date", FMT_DATE, "a date (YYYY-MM-DD)"},
    {"date-time", FMT_DATETIME, "a UTC date-time (YYYY-MM-DDThh:mm:ssZ)"},
    {"party", FMT_PARTY, "a party code (two upper-case letters)"},
    {"party-or-all", FMT_PARTY_OR_ALL, "a party code (two upper-case letters) or \"*\""},
    {"leafhash", FMT_LEAFHASH, "base64 of a 32-byte hash"},
    {"decimal-degrees", FMT_DEGREES, "a decimal-degrees string"},
    {"latitude", FMT_LATITUDE, "a decimal-degrees string"},
    {"longitude", FMT_LONGITUDE, "a decimal-degrees string"},
    {"recipients", FMT_RECIPIENTS, "a list of party codes, or [\"*\"]"},
};

static const fmt_def *format_find(const json_t *sch)
{
    const char *name = json_string_value(json_object_get(sch, "format"));
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (strcmp(formats[i].name, name) == 0)
            return &formats[i];
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------
 * Describing what a schema wants ("must be ..."), for messages.
 */

static void sb_number(sb *b, const json_t *n)
{
    if (json_is_integer(n))
        sb_add(b, "%lld", (long long)json_integer_value(n));
    else
        sb_add(b, "%g", json_real_value(n));
}

static void describe_range(sb *b, const json_t *sch)
{
    const json_t *mn = json_object_get(sch, "minimum"), *mx = json_object_get(sch, "maximum");
    if (mn && mx) {
        sb_add(b, " between ");
        sb_number(b, mn);
        sb_add(b, " and ");
        sb_number(b, mx);
    } else if (mn) {
        sb_add(b, " >= ");
        sb_number(b, mn);
    } else if (mx) {
        sb_add(b, " <= ");
        sb_number(b, mx);
    }
}

static void describe_string(sb *b, const json_t *sch)
{
    const fmt_def *f = format_find(sch);
    if (f && f->id != FMT_RECIPIENTS) {
        sb_add(b, "%s", f->phrase);
        return;
    }
    const json_t *mn = json_object_get(sch, "minLength"), *mx = json_object_get(sch, "maxLength");
    long long lo = mn ? json_integer_value(mn) : 0;
    if (!mx) {
        if (lo == 0)
            sb_add(b, "a string");
        else if (lo == 1)
            sb_add(b, "a non-empty string");
        else
            sb_add(b, "a string of at least %lld characters", lo);
    } else if (lo <= 1) {
        sb_add(b, "a %sstring of at most %lld characters", lo == 1 ? "non-empty " : "",
               (long long)json_integer_value(mx));
    } else {
        sb_add(b, "a string of %lld to %lld characters", lo, (long long)json_integer_value(mx));
    }
}

static void describe_type(sb *b, const json_t *sch, const char *t)
{
    if (strcmp(t, "string") == 0) {
        describe_string(b, sch);
    } else if (strcmp(t, "integer") == 0) {
        sb_add(b, "an integer");
        describe_range(b, sch);
    } else if (strcmp(t, "number") == 0) {
        sb_add(b, "a number");
        describe_range(b, sch);
    } else if (strcmp(t, "boolean") == 0) {
        sb_add(b, "true or false");
    } else if (strcmp(t, "null") == 0) {
        sb_add(b, "null");
    } else if (strcmp(t, "object") == 0) {
        sb_add(b, "an object");
    } else {
        const fmt_def *f = format_find(sch);
        sb_add(b, "%s", f && f->id == FMT_RECIPIENTS ? f->phrase : "an array");
    }
}

/* "must be ..." for sch (following $ref when sch says nothing itself). */
static void describe(const tl_schemas *s, sb *b, const json_t *sch)
{
    for (int hops = 0; hops < TL_SCHEMA_DEPTH_MAX; hops++) {
        const json_t *en = json_object_get(sch, "enum");
        const json_t *cst = json_object_get(sch, "const");
        const json_t *type = json_object_get(sch, "type");
        if (en) {
            sb_add(b, "must be one of ");
            for (size_t i = 0; i < json_array_size(en); i++) {
                if (i)
                    sb_add(b, ", ");
                sb_json(b, json_array_get(en, i));
            }
            return;
        }
        if (cst) {
            sb_add(b, "must be ");
            sb_json(b, cst);
            return;
        }
        if (type) {
            sb_add(b, "must be ");
            if (json_is_string(type)) {
                describe_type(b, sch, json_string_value(type));
            } else {
                for (size_t i = 0; i < json_array_size(type); i++) {
                    if (i)
                        sb_add(b, " or ");
                    describe_type(b, sch, json_string_value(json_array_get(type, i)));
                }
            }
            return;
        }
        const json_t *ref = json_object_get(sch, "$ref");
        if (!ref)
            break;
        sch = json_object_get(s->refs, json_string_value(ref));
    }
    sb_add(b, "is not valid here");
}

static tl_err fail_describe(vctx *v, const json_t *sch)
{
    char buf[TL_DIAG_LEN];
    sb b = {buf, sizeof buf, 0};
    buf[0] = '\0';
    describe(v->s, &b, sch);
    return vfail(v, "%s", buf);
}

/* ---------------------------------------------------------------------------------------
 * The validator.
 */

static bool type_matches(const char *t, const json_t *inst)
{
    switch (json_typeof(inst)) {
    case JSON_OBJECT:
        return strcmp(t, "object") == 0;
    case JSON_ARRAY:
        return strcmp(t, "array") == 0;
    case JSON_STRING:
        return strcmp(t, "string") == 0;
    case JSON_INTEGER:
        return strcmp(t, "integer") == 0 || strcmp(t, "number") == 0;
    case JSON_REAL:
        return strcmp(t, "number") == 0;
    case JSON_TRUE:
    case JSON_FALSE:
        return strcmp(t, "boolean") == 0;
    case JSON_NULL:
        return strcmp(t, "null") == 0;
    }
    return false;
}

static bool type_ok(const json_t *type, const json_t *inst)
{
    if (json_is_string(type))
        return type_matches(json_string_value(type), inst);
    for (size_t i = 0; i < json_array_size(type); i++) {
        if (type_matches(json_string_value(json_array_get(type, i)), inst))
            return true;
    }
    return false;
}

/* Number of code points of valid UTF-8 s[0..len). */
static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

static tl_err validate(vctx *v, const json_t *sch, const json_t *inst);

static tl_err check_format(vctx *v, const json_t *sch, const fmt_def *f, const json_t *inst)
{
    const char *str = json_string_value(inst);
    size_t len = json_string_length(inst);
    int64_t t;
    int32_t deg;
    uint8_t h[TL_HASH_LEN];
    bool ok = true;
    switch (f->id) {
    case FMT_DATE:
        ok = tl_value_date(str, len, &t) == TL_OK;
        break;
    case FMT_DATETIME:
        ok = tl_value_datetime(str, len, &t) == TL_OK;
        break;
    case FMT_PARTY:
        ok = tl_value_party(str, len);
        break;
    case FMT_PARTY_OR_ALL:
        ok = tl_value_party(str, len) || (len == 1 && str[0] == '*');
        break;
    case FMT_LEAFHASH:
        ok = tl_value_leafhash(str, len, h) == TL_OK;
        break;
    case FMT_DEGREES:
    case FMT_LATITUDE:
    case FMT_LONGITUDE: {
        tl_err e = tl_value_degrees(str, len, &deg);
        if (e == TL_ERR_FORMAT)
            return fail_describe(v, sch);
        if (f->id == FMT_LATITUDE &&
            (e != TL_OK || deg > TL_MICRODEG_LAT_MAX || deg < -TL_MICRODEG_LAT_MAX))
            return vfail(v, "must be a latitude between -90 and 90 degrees");
        if (e != TL_OK)
            return vfail(v, "must be a %s between -180 and 180 degrees",
                         f->id == FMT_LONGITUDE ? "longitude" : "decimal-degrees string");
        break;
    }
    case FMT_NONE:
    case FMT_RECIPIENTS:
        break;
    }
    return ok ? TL_OK : fail_describe(v, sch);
}

static tl_err check_string(vctx *v, const json_t *sch, const json_t *inst)
{
    const fmt_def *f = format_find(sch);
    if (f && f->id != FMT_RECIPIENTS) {
        tl_err e = check_format(v, sch, f, inst);
        if (e != TL_OK)
            return e;
    }
    const json_t *mn = json_object_get(sch, "minLength"), *mx = json_object_get(sch, "maxLength");
    if (mn || mx) {
        size_t n = utf8_chars(json_string_value(inst), json_string_length(inst));
        if ((mn && n < (size_t)json_integer_value(mn)) ||
            (mx && n > (size_t)json_integer_value(mx)))
            return fail_describe(v, sch);
    }
    return TL_OK;
}

/* Compares a number instance with a bound: <0, 0, >0 as inst is below, at or above it. */
static int num_cmp(const json_t *inst, const json_t *bound)
{
    if (json_is_integer(inst) && json_is_integer(bound)) {
        json_int_t a = json_integer_value(inst), b = json_integer_value(bound);
        return (a > b) - (a < b);
    }
    double a = json_number_value(inst), b = json_number_value(bound);
    return (a > b) - (a < b);
}

static tl_err check_number(vctx *v, const json_t *sch, const json_t *inst)
{
    const json_t *mn = json_object_get(sch, "minimum"), *mx = json_object_get(sch, "maximum");
    if ((mn && num_cmp(inst, mn) < 0) || (mx && num_cmp(inst, mx) > 0))
        return fail_describe(v, sch);
    return TL_OK;
}

/* A key checked against propertyNames: the message names the key. */
static tl_err check_key(vctx *v, const json_t *pn, const char *key, size_t klen)
{
    json_t *ks = json_stringn(key, klen);
    if (!ks)
        return tl_fail(v->d, TL_ERR_NOMEM, "validating a key");
    tl_diag sub;
    vctx kv = *v;
    kv.d = &sub;
    kv.plen = 0;
    kv.path[0] = '\0';
    tl_err e = validate(&kv, pn, ks);
    json_decref(ks);
    if (e == TL_ERR_FORMAT) {
        char q[128];
        sb b = {q, sizeof q, 0};
        sb_quote(&b, key, klen);
        return vfail(v, "key %s %s", q, sub.msg);
    }
    if (e != TL_OK)
        return tl_fail(v->d, e, "%s", sub.msg);
    return TL_OK;
}

/* anyOf of required-only branches: fine if some branch has all its fields present. */
static tl_err check_anyof(vctx *v, const json_t *any, const json_t *inst)
{
    for (size_t i = 0; i < json_array_size(any); i++) {
        const json_t *req = json_object_get(json_array_get(any, i), "required");
        bool all = true;
        for (size_t j = 0; all && j < json_array_size(req); j++)
            all = json_object_get(inst, json_string_value(json_array_get(req, j))) != NULL;
        if (all)
            return TL_OK;
    }
    char buf[TL_DIAG_LEN];
    sb b = {buf, sizeof buf, 0};
    buf[0] = '\0';
    for (size_t i = 0; i < json_array_size(any); i++) {
        const json_t *req = json_object_get(json_array_get(any, i), "required");
        if (i)
            sb_add(&b, " or ");
        for (size_t j = 0; j < json_array_size(req); j++) {
            if (j)
                sb_add(&b, " and ");
            sb_json(&b, json_array_get(req, j));
        }
    }
    return vfail(v, "missing required field %s", buf);
}

static tl_err check_object(vctx *v, const json_t *sch, const json_t *inst)
{
    const json_t *req = json_object_get(sch, "required");
    for (size_t i = 0; i < json_array_size(req); i++) {
        const char *name = json_string_value(json_array_get(req, i));
        if (!json_object_get(inst, name))
            return vfail(v, "missing required field \"%s\"", name);
    }
    const json_t *any = json_object_get(sch, "anyOf");
    if (any) {
        tl_err e = check_anyof(v, any, inst);
        if (e != TL_OK)
            return e;
    }
    const json_t *props = json_object_get(sch, "properties");
    const json_t *addl = json_object_get(sch, "additionalProperties");
    const json_t *pn = json_object_get(sch, "propertyNames");
    json_t *o = (json_t *)inst; /* jansson's iterator API is not const; nothing is changed */
    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it)) {
        const char *key = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);
        const json_t *val = json_object_iter_value(it);
        if (pn) {
            tl_err e = check_key(v, pn, key, klen);
            if (e != TL_OK)
                return e;
        }
        const json_t *sub = props ? json_object_getn(props, key, klen) : NULL;
        if (!sub && json_is_false(addl)) {
            char q[128];
            sb b = {q, sizeof q, 0};
            sb_quote(&b, key, klen);
            return vfail(v, "unknown field %s", q);
        }
        if (!sub)
            sub = addl;
        if (sub) {
            size_t old = path_push_key(v, key, klen);
            tl_err e = validate(v, sub, val);
            path_pop(v, old);
            if (e != TL_OK)
                return e;
        }
    }
    return TL_OK;
}

/* Index order of strings for the uniqueness check. */
typedef struct stritem {
    const char *s;
    size_t len, index;
} stritem;

static int stritem_cmp(const void *a, const void *b)
{
    const stritem *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    int c = memcmp(x->s, y->s, x->len);
    if (c)
        return c;
    return (x->index > y->index) - (x->index < y->index);
}

/* uniqueItems: sorting for arrays of strings (O(n log n)); pairwise otherwise. Reports the
 * duplicate that comes first in the array. */
static tl_err check_unique(vctx *v, const json_t *inst)
{
    size_t n = json_array_size(inst);
    size_t dup = SIZE_MAX, first = 0;
    bool all_strings = true;
    for (size_t i = 0; i < n && all_strings; i++)
        all_strings = json_is_string(json_array_get(inst, i));
    if (all_strings && n > 1) {
        stritem *it = malloc(n * sizeof *it);
        if (!it)
            return tl_fail(v->d, TL_ERR_NOMEM, "checking uniqueness");
        for (size_t i = 0; i < n; i++) {
            const json_t *x = json_array_get(inst, i);
            it[i] = (stritem){json_string_value(x), json_string_length(x), i};
        }
        qsort(it, n, sizeof *it, stritem_cmp);
        for (size_t i = 1; i < n; i++) {
            if (it[i].len == it[i - 1].len && memcmp(it[i].s, it[i - 1].s, it[i].len) == 0 &&
                it[i].index < dup) {
                dup = it[i].index;
                /* the earliest of this run of equal strings */
                size_t k = i - 1;
                while (k > 0 && it[k - 1].len == it[k].len &&
                       memcmp(it[k - 1].s, it[k].s, it[k].len) == 0)
                    k--;
                first = it[k].index;
            }
        }
        free(it);
    } else if (!all_strings) {
        for (size_t j = 1; j < n && dup == SIZE_MAX; j++) {
            for (size_t i = 0; i < j; i++) {
                if (json_equal(json_array_get(inst, i), json_array_get(inst, j))) {
                    dup = j;
                    first = i;
                    break;
                }
            }
        }
    }
    if (dup == SIZE_MAX)
        return TL_OK;
    char where[PATH_MAX_LEN + 32];
    snprintf(where, sizeof where, "%s[%zu]", v->path, first);
    size_t old = path_push_index(v, dup);
    tl_err e = vfail(v, "duplicate of %s", where);
    path_pop(v, old);
    return e;
}

static tl_err check_array(vctx *v, const json_t *sch, const json_t *inst)
{
    size_t n = json_array_size(inst);
    const json_t *mn = json_object_get(sch, "minItems"), *mx = json_object_get(sch, "maxItems");
    long long lo = mn ? json_integer_value(mn) : -1, hi = mx ? json_integer_value(mx) : -1;
    if ((mn && (long long)n < lo) || (mx && (long long)n > hi)) {
        if (lo == hi)
            return vfail(v, "must have exactly %lld item%s", lo, lo == 1 ? "" : "s");
        if (mn && (long long)n < lo)
            return vfail(v, "must have at least %lld item%s", lo, lo == 1 ? "" : "s");
        return vfail(v, "must have at most %lld item%s", hi, hi == 1 ? "" : "s");
    }
    const json_t *prefix = json_object_get(sch, "prefixItems");
    const json_t *items = json_object_get(sch, "items");
    size_t np = json_array_size(prefix);
    for (size_t i = 0; i < n; i++) {
        const json_t *sub = i < np ? json_array_get(prefix, i) : items;
        if (!sub)
            continue;
        size_t old = path_push_index(v, i);
        tl_err e = validate(v, sub, json_array_get(inst, i));
        path_pop(v, old);
        if (e != TL_OK)
            return e;
    }
    const fmt_def *f = format_find(sch);
    if (f && f->id == FMT_RECIPIENTS && n > 1) {
        for (size_t i = 0; i < n; i++) {
            const char *x = json_string_value(json_array_get(inst, i));
            if (x && strcmp(x, "*") == 0)
                return vfail(v, "\"*\" must be the only recipient");
        }
    }
    if (json_is_true(json_object_get(sch, "uniqueItems")))
        return check_unique(v, inst);
    return TL_OK;
}

static tl_err validate(vctx *v, const json_t *sch, const json_t *inst)
{
    if (json_is_true(sch))
        return TL_OK;
    if (json_is_false(sch))
        return vfail(v, "is not allowed");
    if (v->depth >= TL_SCHEMA_DEPTH_MAX)
        return vfail(v, "nested too deeply (more than %d schema levels)", TL_SCHEMA_DEPTH_MAX);
    v->depth++;
    tl_err e = TL_OK;
    const json_t *ref = json_object_get(sch, "$ref");
    if (ref) {
        const json_t *target = json_object_get(v->s->refs, json_string_value(ref));
        if (!target)
            e = tl_fail(v->d, TL_ERR_INTERNAL, "unresolved $ref %s", json_string_value(ref));
        else
            e = validate(v, target, inst);
    }
    const json_t *type = json_object_get(sch, "type");
    if (e == TL_OK && type && !type_ok(type, inst))
        e = fail_describe(v, sch);
    const json_t *cst = json_object_get(sch, "const");
    if (e == TL_OK && cst && !json_equal(cst, inst))
        e = fail_describe(v, sch);
    const json_t *en = json_object_get(sch, "enum");
    if (e == TL_OK && en) {
        bool found = false;
        for (size_t i = 0; !found && i < json_array_size(en); i++)
            found = json_equal(json_array_get(en, i), inst);
        if (!found)
            e = fail_describe(v, sch);
    }
    if (e == TL_OK) {
        switch (json_typeof(inst)) {
        case JSON_STRING:
            e = check_string(v, sch, inst);
            break;
        case JSON_INTEGER:
        case JSON_REAL:
            e = check_number(v, sch, inst);
            break;
        case JSON_OBJECT:
            e = check_object(v, sch, inst);
            break;
        case JSON_ARRAY:
            e = check_array(v, sch, inst);
            break;
        case JSON_TRUE:
        case JSON_FALSE:
        case JSON_NULL:
            break;
        }
    }
    v->depth--;
    return e;
}

static void vctx_init(vctx *v, const tl_schemas *s, const char *path, tl_diag *d)
{
    v->s = s;
    v->d = d;
    v->depth = 0;
    size_t n = strlen(path);
    if (n >= sizeof v->path)
        n = sizeof v->path - 1;
    memcpy(v->path, path, n);
    v->path[n] = '\0';
    v->plen = n;
}

/* ---------------------------------------------------------------------------------------
 * Public lookups and validation entry points.
 */

static int msgtype_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const tl_msgtype *)elem)->name);
}

static int sfile_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const sfile *)elem)->name);
}

size_t tl_schemas_ntypes(const tl_schemas *s)
{
    return s->ntypes;
}

const tl_msgtype *tl_schemas_type_at(const tl_schemas *s, size_t i)
{
    return i < s->ntypes ? &s->types[i] : NULL;
}

const tl_msgtype *tl_schemas_find(const tl_schemas *s, const char *type)
{
    if (!type || s->ntypes == 0)
        return NULL;
    return bsearch(type, s->types, s->ntypes, sizeof s->types[0], msgtype_cmp);
}

const json_t *tl_schemas_file(const tl_schemas *s, const char *name)
{
    if (!name || s->nfiles == 0)
        return NULL;
    const sfile *f = bsearch(name, s->files, s->nfiles, sizeof s->files[0], sfile_cmp);
    return f ? f->root : NULL;
}

tl_err tl_schema_validate(const tl_schemas *s, const char *name, const json_t *v, const char *path,
                          tl_diag *d)
{
    const json_t *sch = strcmp(name, "common") == 0 ? NULL : tl_schemas_file(s, name);
    if (!sch)
        return tl_fail(d, TL_ERR_NOTFOUND, "no schema %s", name);
    vctx c;
    vctx_init(&c, s, path ? path : "", d);
    return validate(&c, sch, v);
}

tl_err tl_schema_validate_notification(const tl_schemas *s, const json_t *doc, tl_diag *d)
{
    vctx c;
    vctx_init(&c, s, "", d);
    tl_err e = validate(&c, s->envelope, doc);
    if (e != TL_OK)
        return e;
    const json_t *type = json_object_get(doc, "type");
    const tl_msgtype *t = tl_schemas_find(s, json_string_value(type));
    if (!t) {
        char q[128];
        sb b = {q, sizeof q, 0};
        sb_quote(&b, json_string_value(type), json_string_length(type));
        return tl_fail(d, TL_ERR_FORMAT, "type: unknown message type %s", q);
    }
    vctx_init(&c, s, "body", d);
    e = validate(&c, t->schema, json_object_get(doc, "body"));
    if (e != TL_OK)
        return e;
    size_t nrefs = json_array_size(json_object_get(doc, "refs"));
    if (nrefs < t->refs_min) {
        char list[TL_DIAG_LEN / 2];
        sb b = {list, sizeof list, 0};
        list[0] = '\0';
        for (size_t i = 0; i < t->nref_types; i++)
            sb_add(&b, "%s%s", i ? ", " : " (", t->ref_types[i]);
        if (t->nref_types)
            sb_add(&b, ")");
        return tl_fail(d, TL_ERR_FORMAT, "refs: %s must reference at least %zu earlier entr%s%s",
                       t->name, t->refs_min, t->refs_min == 1 ? "y" : "ies", list);
    }
    return TL_OK;
}

/* ---------------------------------------------------------------------------------------
 * Strict JSON.
 */

/* True for the code points we call control characters. */
static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Decodes the UTF-8 sequence at s[i] (valid UTF-8 assumed); advances *i. */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    uint32_t c = s[*i];
    size_t n = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
    if (n)
        c &= (uint32_t)(0x3f >> n);
    (*i)++;
    for (size_t k = 0; k < n && *i < len; k++, (*i)++)
        c = (c << 6) | (s[*i] & 0x3fu);
    return c;
}

/* The first control character of s[0..len), allowing LF if allow_lf; false if none. */
static bool find_control(const char *s, size_t len, bool allow_lf, uint32_t *cp, size_t *at)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t start = i;
        uint32_t c = utf8_next(u, len, &i);
        if (is_control(c) && !(allow_lf && c == '\n')) {
            *cp = c;
            *at = start;
            return true;
        }
    }
    return false;
}

/* Every key and string of the decoded document: no control characters (LF allowed in
 * string values only). */
static tl_err check_controls(vctx *v, const json_t *j)
{
    uint32_t cp;
    size_t at;
    if (json_is_string(j)) {
        if (find_control(json_string_value(j), json_string_length(j), true, &cp, &at))
            return vfail(v, "control character U+%04X in a string", (unsigned)cp);
        return TL_OK;
    }
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++) {
            size_t old = path_push_index(v, i);
            tl_err e = check_controls(v, json_array_get(j, i));
            path_pop(v, old);
            if (e != TL_OK)
                return e;
        }
        return TL_OK;
    }
    if (!json_is_object(j))
        return TL_OK;
    json_t *o = (json_t *)j;
    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it)) {
        const char *key = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);
        size_t old = path_push_key(v, key, klen);
        tl_err e = TL_OK;
        if (find_control(key, klen, false, &cp, &at))
            e = vfail(v, "control character U+%04X in a key", (unsigned)cp);
        else
            e = check_controls(v, json_object_iter_value(it));
        path_pop(v, old);
        if (e != TL_OK)
            return e;
    }
    return TL_OK;
}

tl_err tl_schema_parse_json(json_t **out, const char *buf, size_t len, bool one_line, tl_diag *d)
{
    if (!tl_utf8_valid((const uint8_t *)buf, len))
        return tl_fail(d, TL_ERR_FORMAT, "JSON: not valid UTF-8");
    if (one_line) {
        uint32_t cp;
        size_t at;
        if (find_control(buf, len, false, &cp, &at)) {
            if (cp == '\n')
                return tl_fail(d, TL_ERR_FORMAT,
                               "JSON column %zu: line break (the object must be on one line)",
                               at + 1);
            return tl_fail(d, TL_ERR_FORMAT, "JSON column %zu: control character U+%04X", at + 1,
                           (unsigned)cp);
        }
        if (len == 0 || buf[0] != '{' || buf[len - 1] != '}')
            return tl_fail(d, TL_ERR_FORMAT,
                           "JSON: must be one object, from '{' to '}' with nothing around it");
    }
    json_error_t err;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        /* jansson quotes the input near the error: keep the message printable. */
        for (char *p = err.text; *p; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
        }
        return tl_fail(d, TL_ERR_FORMAT, "JSON %s %d: %s", one_line ? "column" : "byte",
                       err.position, err.text);
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return tl_fail(d, TL_ERR_FORMAT, "JSON: must be an object");
    }
    vctx c;
    c.s = NULL;
    c.d = d;
    c.depth = 0;
    c.plen = 0;
    c.path[0] = '\0';
    tl_err e = check_controls(&c, j);
    if (e != TL_OK) {
        json_decref(j);
        return e;
    }
    *out = j;
    return TL_OK;
}

/* ---------------------------------------------------------------------------------------
 * Loading.
 */

typedef struct loader {
    tl_schemas *s;
    const char *file;         /* name of the file being checked, for messages */
    char where[PATH_MAX_LEN]; /* JSON pointer inside it */
    size_t wlen;
    tl_diag *d;
} loader;

static tl_err lfail(loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static tl_err lfail(loader *L, const char *fmt, ...)
{
    char msg[TL_DIAG_LEN];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0';
    return tl_fail(L->d, TL_ERR_FORMAT, "%s.json: %s: %s", L->file, L->wlen ? L->where : "(root)",
                   msg);
}

static size_t where_push(loader *L, const char *seg)
{
    size_t old = L->wlen;
    int n = snprintf(L->where + L->wlen, sizeof L->where - L->wlen, "/%s", seg);
    if (n > 0 && L->wlen + (size_t)n < sizeof L->where)
        L->wlen += (size_t)n;
    else
        L->where[old] = '\0';
    return old;
}

static void where_pop(loader *L, size_t old)
{
    L->wlen = old;
    L->where[old] = '\0';
}

static const char *const type_names[] = {"null",   "boolean", "object", "array",
                                         "number", "string",  "integer"};

static bool type_name_ok(const json_t *t)
{
    const char *n = json_string_value(t);
    for (size_t i = 0; n && i < sizeof type_names / sizeof type_names[0]; i++) {
        if (strcmp(n, type_names[i]) == 0)
            return true;
    }
    return false;
}

static bool is_string_array(const json_t *a, bool nonempty)
{
    if (!json_is_array(a) || (nonempty && json_array_size(a) == 0))
        return false;
    for (size_t i = 0; i < json_array_size(a); i++) {
        if (!json_is_string(json_array_get(a, i)))
            return false;
        for (size_t k = 0; k < i; k++) {
            if (json_equal(json_array_get(a, k), json_array_get(a, i)))
                return false;
        }
    }
    return true;
}

/* Follows a JSON pointer (RFC 6901) from root; NULL if it leads nowhere. */
static json_t *json_pointer(json_t *root, const char *ptr)
{
    json_t *cur = root;
    if (*ptr == '\0')
        return cur;
    if (*ptr != '/')
        return NULL;
    char seg[256];
    while (*ptr == '/' && cur) {
        ptr++;
        size_t n = 0;
        while (*ptr && *ptr != '/') {
            char c = *ptr++;
            if (c == '~') {
                if (*ptr == '0')
                    c = '~';
                else if (*ptr == '1')
                    c = '/';
                else
                    return NULL;
                ptr++;
            }
            if (n + 1 >= sizeof seg)
                return NULL;
            seg[n++] = c;
        }
        seg[n] = '\0';
        if (json_is_object(cur)) {
            cur = json_object_get(cur, seg);
        } else if (json_is_array(cur)) {
            uint64_t idx;
            if (tl_parse_u64(&idx, seg, n) != TL_OK)
                return NULL;
            cur = json_array_get(cur, (size_t)idx);
        } else {
            return NULL;
        }
    }
    return *ptr ? NULL : cur;
}

/* Rewrites node's $ref to "<file>.json#<pointer>" and records its target. */
static tl_err resolve_ref(loader *L, json_t *node, const json_t *ref)
{
    const char *r = json_string_value(ref);
    if (!r)
        return lfail(L, "$ref must be a string");
    const char *hash = strchr(r, '#');
    char file[TL_SCHEMA_TYPE_MAX + 8];
    const char *ptr;
    if (hash == r) {
        snprintf(file, sizeof file, "%s", L->file);
        ptr = r + 1;
    } else {
        size_t flen = hash ? (size_t)(hash - r) : strlen(r);
        if (flen <= 5 || flen - 5 >= sizeof file || memcmp(r + flen - 5, ".json", 5) != 0)
            return lfail(L, "$ref \"%s\": not \"#/...\" or \"<file>.json#/...\"", r);
        memcpy(file, r, flen - 5);
        file[flen - 5] = '\0';
        ptr = hash ? hash + 1 : "";
    }
    const sfile *f = bsearch(file, L->s->files, L->s->nfiles, sizeof L->s->files[0], sfile_cmp);
    json_t *target = f ? json_pointer(f->root, ptr) : NULL;
    if (!target || !(json_is_object(target) || json_is_boolean(target)))
        return lfail(L, "$ref \"%s\" does not lead to a schema", r);
    char abs[PATH_MAX_LEN + TL_SCHEMA_TYPE_MAX + 8];
    int n = snprintf(abs, sizeof abs, "%s.json#%s", file, ptr);
    if (n < 0 || (size_t)n >= sizeof abs)
        return lfail(L, "$ref \"%s\" too long", r);
    if (json_object_set(L->s->refs, abs, target) != 0 ||
        json_object_set_new(node, "$ref", json_string(abs)) != 0)
        return tl_fail(L->d, TL_ERR_NOMEM, "loading schemas");
    return TL_OK;
}

static tl_err check_schema(loader *L, json_t *node, bool root);

static tl_err check_schema_map(loader *L, json_t *map, const char *kw)
{
    if (!json_is_object(map))
        return lfail(L, "%s must be an object", kw);
    const char *k;
    json_t *sub;
    json_object_foreach(map, k, sub)
    {
        size_t old = where_push(L, k);
        tl_err e = check_schema(L, sub, false);
        where_pop(L, old);
        if (e != TL_OK)
            return e;
    }
    return TL_OK;
}

static tl_err check_xrefs(loader *L, const json_t *x)
{
    if (!json_is_object(x))
        return lfail(L, "x-refs must be an object");
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)x, k, val)
    {
        if (strcmp(k, "min") == 0) {
            if (!json_is_integer(val) || json_integer_value(val) < 0 ||
                json_integer_value(val) > 256)
                return lfail(L, "x-refs.min must be an integer from 0 to 256");
        } else if (strcmp(k, "types") == 0) {
            if (!is_string_array(val, false))
                return lfail(L, "x-refs.types must be a list of distinct type names");
        } else {
            return lfail(L, "x-refs: unknown key \"%s\"", k);
        }
    }
    return TL_OK;
}

/* Checks one schema node against the subset (and rewrites its $ref). */
static tl_err check_schema(loader *L, json_t *node, bool root)
{
    if (json_is_boolean(node))
        return TL_OK;
    if (!json_is_object(node))
        return lfail(L, "a schema must be an object or true/false");
    const char *k;
    json_t *val;
    json_object_foreach(node, k, val)
    {
        tl_err e = TL_OK;
        size_t old = where_push(L, k);
        if (strcmp(k, "type") == 0) {
            bool ok = type_name_ok(val);
            if (json_is_array(val)) {
                ok = is_string_array(val, true);
                for (size_t i = 0; ok && i < json_array_size(val); i++)
                    ok = type_name_ok(json_array_get(val, i));
            }
            if (!ok)
                e = lfail(L, "type must be a type name or a list of distinct type names");
        } else if (strcmp(k, "properties") == 0 || strcmp(k, "$defs") == 0) {
            e = check_schema_map(L, val, k);
        } else if (strcmp(k, "required") == 0) {
            if (!is_string_array(val, false))
                e = lfail(L, "required must be a list of distinct names");
        } else if (strcmp(k, "additionalProperties") == 0 || strcmp(k, "propertyNames") == 0 ||
                   strcmp(k, "items") == 0) {
            e = check_schema(L, val, false);
        } else if (strcmp(k, "prefixItems") == 0) {
            if (!json_is_array(val) || json_array_size(val) == 0)
                e = lfail(L, "prefixItems must be a non-empty list of schemas");
            for (size_t i = 0; e == TL_OK && i < json_array_size(val); i++) {
                char idx[24];
                snprintf(idx, sizeof idx, "%zu", i);
                size_t o2 = where_push(L, idx);
                e = check_schema(L, json_array_get(val, i), false);
                where_pop(L, o2);
            }
        } else if (strcmp(k, "minItems") == 0 || strcmp(k, "maxItems") == 0 ||
                   strcmp(k, "minLength") == 0 || strcmp(k, "maxLength") == 0) {
            if (!json_is_integer(val) || json_integer_value(val) < 0)
                e = lfail(L, "%s must be an integer >= 0", k);
        } else if (strcmp(k, "minimum") == 0 || strcmp(k, "maximum") == 0) {
            if (!json_is_number(val))
                e = lfail(L, "%s must be a number", k);
        } else if (strcmp(k, "uniqueItems") == 0) {
            if (!json_is_boolean(val))
                e = lfail(L, "uniqueItems must be true or false");
        } else if (strcmp(k, "enum") == 0) {
            if (!json_is_array(val) || json_array_size(val) == 0)
                e = lfail(L, "enum must be a non-empty list");
        } else if (strcmp(k, "const") == 0) {
            /* any value */
        } else if (strcmp(k, "format") == 0) {
            if (!format_find(node))
                e = lfail(L, "unknown format (known: date, date-time, party, party-or-all, "
                             "leafhash, decimal-degrees, latitude, longitude, recipients)");
        } else if (strcmp(k, "anyOf") == 0) {
            bool ok = json_is_array(val) && json_array_size(val) > 0;
            for (size_t i = 0; ok && i < json_array_size(val); i++) {
                const json_t *br = json_array_get(val, i);
                ok = json_is_object(br) && json_object_size(br) == 1 &&
                     is_string_array(json_object_get(br, "required"), true);
            }
            if (!ok)
                e = lfail(L, "anyOf must be a list of {\"required\": [...]} (the only form "
                             "supported)");
        } else if (strcmp(k, "$ref") == 0) {
            e = resolve_ref(L, node, val);
        } else if (strcmp(k, "$schema") == 0 || strcmp(k, "$id") == 0 || strcmp(k, "title") == 0 ||
                   strcmp(k, "description") == 0 || strcmp(k, "$comment") == 0) {
            if (!json_is_string(val))
                e = lfail(L, "%s must be a string", k);
        } else if (strcmp(k, "examples") == 0) {
            if (!json_is_array(val))
                e = lfail(L, "examples must be a list");
        } else if (root && strcmp(k, "x-refs") == 0) {
            e = check_xrefs(L, val);
        } else if (root && strcmp(k, "x-from-role") == 0) {
            if (!json_is_string(val) || json_string_length(val) == 0)
                e = lfail(L, "x-from-role must be a non-empty string");
        } else {
            e = lfail(L, "keyword \"%s\" is not in treatylog's schema subset", k);
        }
        where_pop(L, old);
        if (e != TL_OK)
            return e;
    }
    return TL_OK;
}

static bool type_file_name_ok(const char *n, size_t len)
{
    if (len == 0 || len > TL_SCHEMA_TYPE_MAX || n[0] == '.' || n[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            return false;
        if (c == '.' && n[i + 1] == '.')
            return false;
    }
    return true;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads dir/name into a malloc'd buffer. */
static tl_err read_small(const char *dir, const char *name, char **out, size_t *outlen, tl_diag *d)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return tl_fail(d, TL_ERR_USAGE, "%s: path too long", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return tl_fail(d, errno == ENOENT ? TL_ERR_NOTFOUND : TL_ERR_IO, "%s: %s", path,
                       strerror(errno));
    char *buf = malloc(TL_SCHEMA_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return tl_fail(d, TL_ERR_NOMEM, "reading %s", path);
    }
    size_t len = fread(buf, 1, TL_SCHEMA_FILE_MAX + 1, f);
    tl_err e = TL_OK;
    if (ferror(f))
        e = tl_fail(d, TL_ERR_IO, "%s: read error", path);
    else if (len > TL_SCHEMA_FILE_MAX)
        e = tl_fail(d, TL_ERR_TOOBIG, "%s: larger than %u bytes", path, TL_SCHEMA_FILE_MAX);
    fclose(f);
    if (e != TL_OK) {
        free(buf);
        return e;
    }
    *out = buf;
    *outlen = len;
    return TL_OK;
}

/* The names of the *.json files of dir, sorted (malloc'd strings without ".json"). */
static tl_err list_dir(const char *dir, char ***names, size_t *count, tl_diag *d)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return tl_fail(d, errno == ENOENT ? TL_ERR_NOTFOUND : TL_ERR_IO, "schema directory %s: %s",
                       dir, strerror(errno));
    char **v = NULL;
    size_t n = 0, cap = 0;
    tl_err e = TL_OK;
    struct dirent *de;
    while (e == TL_OK && (de = readdir(dh)) != NULL) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                e = tl_fail(d, TL_ERR_NOMEM, "listing %s", dir);
                break;
            }
            v = nv;
            cap = nc;
        }
        v[n] = strndup(de->d_name, len - 5);
        if (!v[n]) {
            e = tl_fail(d, TL_ERR_NOMEM, "listing %s", dir);
            break;
        }
        n++;
    }
    closedir(dh);
    if (e != TL_OK) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return e;
    }
    if (n)
        qsort(v, n, sizeof *v, name_cmp);
    *names = v;
    *count = n;
    return TL_OK;
}

void tl_schemas_free(tl_schemas *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ntypes; i++)
        free((void *)s->types[i].ref_types);
    free(s->types);
    for (size_t i = 0; i < s->nfiles; i++) {
        free(s->files[i].name);
        json_decref(s->files[i].root);
    }
    free(s->files);
    json_decref(s->refs);
    free(s);
}

/* Fills the type table from the loaded files. */
static tl_err build_types(tl_schemas *s, tl_diag *d)
{
    s->types = calloc(s->nfiles ? s->nfiles : 1, sizeof *s->types);
    if (!s->types)
        return tl_fail(d, TL_ERR_NOMEM, "loading schemas");
    for (size_t i = 0; i < s->nfiles; i++) {
        const sfile *f = &s->files[i];
        if (strcmp(f->name, "envelope") == 0 || strcmp(f->name, "common") == 0)
            continue;
        tl_msgtype *t = &s->types[s->ntypes++];
        t->name = f->name;
        t->schema = f->root;
        const char *root_type = json_string_value(json_object_get(f->root, "type"));
        if (!json_is_object(f->root) || !root_type || strcmp(root_type, "object") != 0)
            return tl_fail(d, TL_ERR_FORMAT,
                           "%s.json: a body schema must have \"type\": "
                           "\"object\"",
                           f->name);
        const json_t *x = json_object_get(f->root, "x-refs");
        t->refs_min = (size_t)json_integer_value(json_object_get(x, "min"));
        const json_t *types = json_object_get(x, "types");
        t->nref_types = json_array_size(types);
        if (t->nref_types) {
            const char **rt = calloc(t->nref_types, sizeof *rt);
            if (!rt)
                return tl_fail(d, TL_ERR_NOMEM, "loading schemas");
            for (size_t k = 0; k < t->nref_types; k++)
                rt[k] = json_string_value(json_array_get(types, k));
            t->ref_types = rt;
        }
        t->from_role = json_string_value(json_object_get(f->root, "x-from-role"));
    }
    return TL_OK;
}

/* Every example of every file validates as a notification (of that file's type). */
static tl_err check_examples(tl_schemas *s, tl_diag *d)
{
    for (size_t i = 0; i < s->nfiles; i++) {
        const sfile *f = &s->files[i];
        bool is_type = strcmp(f->name, "envelope") != 0 && strcmp(f->name, "common") != 0;
        const json_t *ex = json_object_get(f->root, "examples");
        if (is_type && json_array_size(ex) == 0)
            return tl_fail(d, TL_ERR_FORMAT,
                           "%s.json: needs \"examples\" with at least one notification", f->name);
        for (size_t k = 0; k < json_array_size(ex); k++) {
            const json_t *doc = json_array_get(ex, k);
            const char *type = json_string_value(json_object_get(doc, "type"));
            tl_err e = TL_OK;
            if (is_type && (!type || strcmp(type, f->name) != 0))
                e = tl_fail(d, TL_ERR_FORMAT, "type must be \"%s\"", f->name);
            /* envelope.json's examples need only be envelopes: their types may be absent
             * from a directory. */
            if (e == TL_OK)
                e = is_type ? tl_schema_validate_notification(s, doc, d)
                            : tl_schema_validate(s, f->name, doc, "", d);
            if (e == TL_OK) {
                /* It must also survive the one-line text rules (no control characters). */
                vctx c;
                vctx_init(&c, s, "", d);
                e = check_controls(&c, doc);
            }
            if (e != TL_OK)
                return tl_diag_prefix(d, e, "%s.json: examples[%zu]", f->name, k);
        }
    }
    return TL_OK;
}

tl_err tl_schemas_load(tl_schemas **out, const char *dir, tl_diag *d)
{
    char **names = NULL;
    size_t nnames = 0;
    tl_err e = list_dir(dir, &names, &nnames, d);
    if (e != TL_OK)
        return e;
    tl_schemas *s = calloc(1, sizeof *s);
    if (s)
        s->files = calloc(nnames ? nnames : 1, sizeof *s->files);
    if (s)
        s->refs = json_object();
    if (!s || !s->files || !s->refs)
        e = tl_fail(d, TL_ERR_NOMEM, "loading schemas");
    for (size_t i = 0; e == TL_OK && i < nnames; i++) {
        const char *name = names[i];
        bool special = strcmp(name, "envelope") == 0 || strcmp(name, "common") == 0;
        if (!special && !type_file_name_ok(name, strlen(name))) {
            e = tl_fail(d, TL_ERR_FORMAT,
                        "%s/%s.json: not a message type name (a-z, 0-9, "
                        "'.', '-'; at most %d bytes)",
                        dir, name, TL_SCHEMA_TYPE_MAX);
            break;
        }
        char fname[TL_SCHEMA_TYPE_MAX + 16];
        snprintf(fname, sizeof fname, "%s.json", name);
        char *buf = NULL;
        size_t len = 0;
        e = read_small(dir, fname, &buf, &len, d);
        if (e != TL_OK)
            break;
        json_t *root = NULL;
        e = tl_schema_parse_json(&root, buf, len, false, d);
        free(buf);
        if (e != TL_OK) {
            e = tl_diag_prefix(d, e, "%s/%s", dir, fname);
            break;
        }
        s->files[s->nfiles].name = names[i];
        s->files[s->nfiles].root = root;
        names[i] = NULL;
        s->nfiles++;
    }
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    if (e == TL_OK) {
        s->envelope = tl_schemas_file(s, "envelope");
        if (!s->envelope || !tl_schemas_file(s, "common"))
            e = tl_fail(d, TL_ERR_NOTFOUND, "%s: needs envelope.json and common.json", dir);
    }
    for (size_t i = 0; e == TL_OK && i < s->nfiles; i++) {
        loader L = {.s = s, .file = s->files[i].name, .wlen = 0, .d = d};
        L.where[0] = '\0';
        e = check_schema(&L, s->files[i].root, true);
    }
    if (e == TL_OK)
        e = build_types(s, d);
    if (e == TL_OK)
        e = check_examples(s, d);
    if (e != TL_OK) {
        tl_schemas_free(s);
        return e;
    }
    *out = s;
    return TL_OK;
}
