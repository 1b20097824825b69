/* schema.c - the validator of the notification schemas (schema.h): a small
 * subset of JSON Schema draft 2020-12 run over schemas compiled at load
 * (schema_load.c), with error messages that name the field: "body.troops: must
 * be an integer >= 0". Implements the catalogue of reference/domain.md §2.4;
 * the subset and the formats are in docs/formats.md.
 *
 * Validation only reads the compiled nodes and the schema JSON (no reference
 * counting), so threads may share a loaded set. Messages are built only on
 * failure.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema_int.h"
#include "treatylog/values.h"

typedef struct vctx {
    tl_path path;
    tl_diag *d;
    unsigned depth;
} vctx;

/* ---------------------------------------------------------------------------------------
 * What a schema wants ("must be ..."), for messages.
 */

static void sb_number(tl_sb *b, const json_t *n)
{
    if (json_is_integer(n))
        tl_sb_add(b, "%lld", (long long)json_integer_value(n));
    else
        tl_sb_add(b, "%g", json_real_value(n));
}

static void describe_range(tl_sb *b, const tl_snode *n)
{
    if (n->minimum && n->maximum) {
        tl_sb_add(b, " between ");
        sb_number(b, n->minimum);
        tl_sb_add(b, " and ");
        sb_number(b, n->maximum);
    } else if (n->minimum) {
        tl_sb_add(b, " >= ");
        sb_number(b, n->minimum);
    } else if (n->maximum) {
        tl_sb_add(b, " <= ");
        sb_number(b, n->maximum);
    }
}

static void describe_string(tl_sb *b, const tl_snode *n)
{
    if (n->fmt != TL_FMT_NONE && n->fmt != TL_FMT_RECIPIENTS) {
        tl_sb_add(b, "%s", tl_schema_fmt_phrase(n->fmt));
        return;
    }
    long long lo = n->min_len < 0 ? 0 : n->min_len, hi = n->max_len;
    if (hi < 0) {
        if (lo == 0)
            tl_sb_add(b, "a string");
        else if (lo == 1)
            tl_sb_add(b, "a non-empty string");
        else
            tl_sb_add(b, "a string of at least %lld characters", lo);
    } else if (lo <= 1) {
        tl_sb_add(b, "a %sstring of at most %lld characters", lo == 1 ? "non-empty " : "", hi);
    } else {
        tl_sb_add(b, "a string of %lld to %lld characters", lo, hi);
    }
}

static void describe_type(tl_sb *b, const tl_snode *n, unsigned t)
{
    switch (t) {
    case TL_TM_STRING:
        describe_string(b, n);
        break;
    case TL_TM_INTEGER:
        tl_sb_add(b, "an integer");
        describe_range(b, n);
        break;
    case TL_TM_NUMBER:
        tl_sb_add(b, "a number");
        describe_range(b, n);
        break;
    case TL_TM_BOOLEAN:
        tl_sb_add(b, "true or false");
        break;
    case TL_TM_NULL:
        tl_sb_add(b, "null");
        break;
    case TL_TM_OBJECT:
        tl_sb_add(b, "an object");
        break;
    default:
        tl_sb_add(b, "%s", n->fmt == TL_FMT_RECIPIENTS ? tl_schema_fmt_phrase(n->fmt) : "an array");
        break;
    }
}

/* "must be ..." for node n, following $ref while n itself says nothing. The
 * type names are listed in the order of the schema's "type". */
static void describe(tl_sb *b, const tl_snode *n)
{
    for (int hops = 0; n && hops < TL_SCHEMA_DEPTH_MAX; hops++, n = n->ref) {
        if (n->enm) {
            tl_sb_add(b, "must be one of ");
            for (size_t i = 0; i < json_array_size(n->enm); i++) {
                if (i)
                    tl_sb_add(b, ", ");
                tl_sb_json(b, json_array_get(n->enm, i));
            }
            return;
        }
        if (n->cst) {
            tl_sb_add(b, "must be ");
            tl_sb_json(b, n->cst);
            return;
        }
        if (n->types) {
            const json_t *type = json_object_get(n->src, "type");
            size_t nt = json_is_array(type) ? json_array_size(type) : 1;
            tl_sb_add(b, "must be ");
            for (size_t i = 0; i < nt; i++) {
                const char *name =
                    json_string_value(json_is_array(type) ? json_array_get(type, i) : type);
                static const struct {
                    const char *name;
                    unsigned bit;
                } bits[] = {{"null", TL_TM_NULL},      {"boolean", TL_TM_BOOLEAN},
                            {"object", TL_TM_OBJECT},  {"array", TL_TM_ARRAY},
                            {"number", TL_TM_NUMBER},  {"string", TL_TM_STRING},
                            {"integer", TL_TM_INTEGER}};
                for (size_t k = 0; name && k < sizeof bits / sizeof bits[0]; k++) {
                    if (strcmp(name, bits[k].name) == 0) {
                        if (i)
                            tl_sb_add(b, " or ");
                        describe_type(b, n, bits[k].bit);
                    }
                }
            }
            return;
        }
    }
    tl_sb_add(b, "is not valid here");
}

static tl_err fail_describe(vctx *v, const tl_snode *n)
{
    char buf[TL_DIAG_LEN];
    tl_sb b;
    tl_sb_init(&b, buf, sizeof buf);
    describe(&b, n);
    return tl_path_fail(&v->path, v->d, "%s", buf);
}

/* ---------------------------------------------------------------------------------------
 * The validator.
 */

static unsigned type_bit(const json_t *inst)
{
    switch (json_typeof(inst)) {
    case JSON_OBJECT:
        return TL_TM_OBJECT;
    case JSON_ARRAY:
        return TL_TM_ARRAY;
    case JSON_STRING:
        return TL_TM_STRING;
    case JSON_INTEGER:
        return TL_TM_INTEGER | TL_TM_NUMBER;
    case JSON_REAL:
        return TL_TM_NUMBER;
    case JSON_TRUE:
    case JSON_FALSE:
        return TL_TM_BOOLEAN;
    case JSON_NULL:
        return TL_TM_NULL;
    }
    return 0;
}

/* Number of code points of valid UTF-8 s[0..len). */
static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

static tl_err validate(vctx *v, const tl_snode *n, const json_t *inst);

static tl_err check_format(vctx *v, const tl_snode *n, const json_t *inst)
{
    const char *str = json_string_value(inst);
    size_t len = json_string_length(inst);
    int64_t t;
    int32_t deg;
    uint8_t h[TL_HASH_LEN];
    bool ok = true;
    switch (n->fmt) {
    case TL_FMT_DATE:
        ok = tl_value_date(str, len, &t) == TL_OK;
        break;
    case TL_FMT_DATETIME:
        ok = tl_value_datetime(str, len, &t) == TL_OK;
        break;
    case TL_FMT_PARTY:
        ok = tl_value_party(str, len);
        break;
    case TL_FMT_PARTY_OR_ALL:
        ok = tl_value_party(str, len) || (len == 1 && str[0] == '*');
        break;
    case TL_FMT_LEAFHASH:
        ok = tl_value_leafhash(str, len, h) == TL_OK;
        break;
    case TL_FMT_DEGREES:
    case TL_FMT_LATITUDE:
    case TL_FMT_LONGITUDE: {
        tl_err e = tl_value_degrees(str, len, &deg);
        if (e == TL_ERR_FORMAT)
            return fail_describe(v, n);
        if (n->fmt == TL_FMT_LATITUDE &&
            (e != TL_OK || deg > TL_MICRODEG_LAT_MAX || deg < -TL_MICRODEG_LAT_MAX))
            return tl_path_fail(&v->path, v->d, "must be a latitude between -90 and 90 degrees");
        if (e != TL_OK)
            return tl_path_fail(&v->path, v->d, "must be a %s between -180 and 180 degrees",
                                n->fmt == TL_FMT_LONGITUDE ? "longitude"
                                                           : "decimal-degrees string");
        break;
    }
    case TL_FMT_NONE:
    case TL_FMT_RECIPIENTS:
        break;
    }
    return ok ? TL_OK : fail_describe(v, n);
}

static tl_err check_string(vctx *v, const tl_snode *n, const json_t *inst)
{
    if (n->fmt != TL_FMT_NONE && n->fmt != TL_FMT_RECIPIENTS) {
        tl_err e = check_format(v, n, inst);
        if (e != TL_OK)
            return e;
    }
    if (n->min_len >= 0 || n->max_len >= 0) {
        long long c = (long long)utf8_chars(json_string_value(inst), json_string_length(inst));
        if ((n->min_len >= 0 && c < n->min_len) || (n->max_len >= 0 && c > n->max_len))
            return fail_describe(v, n);
    }
    return TL_OK;
}

/* <0, 0, >0 as the number inst is below, at or above the bound. */
static int num_cmp(const json_t *inst, const json_t *bound)
{
    if (json_is_integer(inst) && json_is_integer(bound)) {
        json_int_t a = json_integer_value(inst), b = json_integer_value(bound);
        return (a > b) - (a < b);
    }
    double a = json_number_value(inst), b = json_number_value(bound);
    return (a > b) - (a < b);
}

static tl_err check_number(vctx *v, const tl_snode *n, const json_t *inst)
{
    if ((n->minimum && num_cmp(inst, n->minimum) < 0) ||
        (n->maximum && num_cmp(inst, n->maximum) > 0))
        return fail_describe(v, n);
    return TL_OK;
}

/* A key checked against propertyNames; the message names the key. */
static tl_err check_key(vctx *v, const tl_snode *pn, const char *key, size_t klen)
{
    json_t *ks = json_stringn(key, klen);
    if (!ks)
        return tl_fail(v->d, TL_ERR_NOMEM, "validating a key");
    tl_diag sub = {{0}};
    vctx kv = {.path = {.root = "", .depth = 0}, .d = &sub, .depth = v->depth};
    tl_err e = validate(&kv, pn, ks);
    json_decref(ks);
    if (e == TL_ERR_FORMAT) {
        char q[128];
        tl_sb b;
        tl_sb_init(&b, q, sizeof q);
        tl_sb_quote(&b, key, klen);
        return tl_path_fail(&v->path, v->d, "key %s %s", q, sub.msg);
    }
    if (e != TL_OK)
        return tl_fail(v->d, e, "%s", sub.msg);
    return TL_OK;
}

/* anyOf of required-only branches: fine if some branch has all its fields. */
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
    tl_sb b;
    tl_sb_init(&b, buf, sizeof buf);
    for (size_t i = 0; i < json_array_size(any); i++) {
        const json_t *req = json_object_get(json_array_get(any, i), "required");
        if (i)
            tl_sb_add(&b, " or ");
        for (size_t j = 0; j < json_array_size(req); j++) {
            if (j)
                tl_sb_add(&b, " and ");
            tl_sb_json(&b, json_array_get(req, j));
        }
    }
    return tl_path_fail(&v->path, v->d, "missing required field %s", buf);
}

long tl_schema_prop_index(const tl_snode *n, const char *key, size_t klen)
{
    size_t lo = 0, hi = n->nprops;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const tl_sprop *p = &n->props[mid];
        int c = p->len != klen ? (p->len < klen ? -1 : 1) : memcmp(p->name, key, klen);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static const tl_snode *find_prop(const tl_snode *n, const char *key, size_t klen)
{
    long i = tl_schema_prop_index(n, key, klen);
    return i >= 0 ? n->props[i].node : NULL;
}

static tl_err check_object(vctx *v, const tl_snode *n, const json_t *inst)
{
    for (size_t i = 0; i < n->nreq; i++) {
        if (!json_object_get(inst, n->req[i]))
            return tl_path_fail(&v->path, v->d, "missing required field \"%s\"", n->req[i]);
    }
    if (n->anyof) {
        tl_err e = check_anyof(v, n->anyof, inst);
        if (e != TL_OK)
            return e;
    }
    json_t *o = (json_t *)inst; /* jansson's iterator API is not const; nothing is changed */
    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it)) {
        const char *key = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);
        if (n->pnames) {
            tl_err e = check_key(v, n->pnames, key, klen);
            if (e != TL_OK)
                return e;
        }
        const tl_snode *sub = find_prop(n, key, klen);
        if (!sub && n->addl_false) {
            char q[128];
            tl_sb b;
            tl_sb_init(&b, q, sizeof q);
            tl_sb_quote(&b, key, klen);
            return tl_path_fail(&v->path, v->d, "unknown field %s", q);
        }
        if (!sub)
            sub = n->addl;
        if (sub) {
            tl_path_push_key(&v->path, key, klen);
            tl_err e = validate(v, sub, json_object_iter_value(it));
            tl_path_pop(&v->path);
            if (e != TL_OK)
                return e;
        }
    }
    return TL_OK;
}

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

/* uniqueItems: by sorting for arrays of strings (O(n log n)), pairwise
 * otherwise. Reports the duplicate that comes first in the array, naming the
 * earlier equal item. */
static tl_err check_unique(vctx *v, const json_t *inst)
{
    size_t n = json_array_size(inst);
    size_t dup = SIZE_MAX, first = 0;
    bool all_strings = true;
    for (size_t i = 0; i < n && all_strings; i++)
        all_strings = json_is_string(json_array_get(inst, i));
    if (n < 2)
        return TL_OK;
    if (all_strings) {
        stritem small[16];
        stritem *it = n <= 16 ? small : malloc(n * sizeof *it);
        if (!it)
            return tl_fail(v->d, TL_ERR_NOMEM, "checking uniqueness");
        for (size_t i = 0; i < n; i++) {
            const json_t *x = json_array_get(inst, i);
            it[i] = (stritem){json_string_value(x), json_string_length(x), i};
        }
        qsort(it, n, sizeof *it, stritem_cmp);
        size_t run = 0; /* start of the current run of equal strings */
        for (size_t i = 1; i < n; i++) {
            if (it[i].len != it[run].len || memcmp(it[i].s, it[run].s, it[i].len) != 0) {
                run = i;
            } else if (it[i].index < dup) {
                dup = it[i].index;
                first = it[run].index;
            }
        }
        if (it != small)
            free(it);
    } else {
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
    char where[TL_DIAG_LEN];
    tl_sb b;
    tl_sb_init(&b, where, sizeof where);
    tl_path_render(&v->path, &b);
    tl_sb_add(&b, "[%zu]", first);
    tl_path_push_index(&v->path, dup);
    tl_err e = tl_path_fail(&v->path, v->d, "duplicate of %s", where);
    tl_path_pop(&v->path);
    return e;
}

static tl_err check_array(vctx *v, const tl_snode *n, const json_t *inst)
{
    long long cnt = (long long)json_array_size(inst);
    long long lo = n->min_items, hi = n->max_items;
    if ((lo >= 0 && cnt < lo) || (hi >= 0 && cnt > hi)) {
        if (lo == hi)
            return tl_path_fail(&v->path, v->d, "must have exactly %lld item%s", lo,
                                lo == 1 ? "" : "s");
        if (lo >= 0 && cnt < lo)
            return tl_path_fail(&v->path, v->d, "must have at least %lld item%s", lo,
                                lo == 1 ? "" : "s");
        return tl_path_fail(&v->path, v->d, "must have at most %lld item%s", hi,
                            hi == 1 ? "" : "s");
    }
    size_t len = (size_t)cnt;
    for (size_t i = 0; i < len; i++) {
        const tl_snode *sub = i < n->nprefix ? n->prefix[i] : n->items;
        if (!sub)
            continue;
        tl_path_push_index(&v->path, i);
        tl_err e = validate(v, sub, json_array_get(inst, i));
        tl_path_pop(&v->path);
        if (e != TL_OK)
            return e;
    }
    if (n->fmt == TL_FMT_RECIPIENTS && len > 1) {
        for (size_t i = 0; i < len; i++) {
            const char *x = json_string_value(json_array_get(inst, i));
            if (x && strcmp(x, "*") == 0)
                return tl_path_fail(&v->path, v->d, "\"*\" must be the only recipient");
        }
    }
    return n->unique ? check_unique(v, inst) : TL_OK;
}

static tl_err validate(vctx *v, const tl_snode *n, const json_t *inst)
{
    if (n->always)
        return TL_OK;
    if (n->never)
        return tl_path_fail(&v->path, v->d, "is not allowed");
    if (v->depth >= TL_SCHEMA_DEPTH_MAX)
        return tl_path_fail(&v->path, v->d, "nested too deeply (more than %d schema levels)",
                            TL_SCHEMA_DEPTH_MAX);
    v->depth++;
    tl_err e = n->ref ? validate(v, n->ref, inst) : TL_OK;
    if (e == TL_OK && n->types && !(n->types & type_bit(inst)))
        e = fail_describe(v, n);
    if (e == TL_OK && n->cst && !json_equal(n->cst, inst))
        e = fail_describe(v, n);
    if (e == TL_OK && n->enm) {
        bool found = false;
        for (size_t i = 0; !found && i < json_array_size(n->enm); i++)
            found = json_equal(json_array_get(n->enm, i), inst);
        if (!found)
            e = fail_describe(v, n);
    }
    if (e == TL_OK) {
        switch (json_typeof(inst)) {
        case JSON_STRING:
            e = check_string(v, n, inst);
            break;
        case JSON_INTEGER:
        case JSON_REAL:
            e = check_number(v, n, inst);
            break;
        case JSON_OBJECT:
            e = check_object(v, n, inst);
            break;
        case JSON_ARRAY:
            e = check_array(v, n, inst);
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

/* ---------------------------------------------------------------------------------------
 * Public lookups and entry points.
 */

static int msgtype_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const tl_msgtype *)elem)->name);
}

static int sfile_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const tl_sfile *)elem)->name);
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

static const tl_sfile *find_file(const tl_schemas *s, const char *name)
{
    if (!name || s->nfiles == 0)
        return NULL;
    return bsearch(name, s->files, s->nfiles, sizeof s->files[0], sfile_cmp);
}

const json_t *tl_schemas_file(const tl_schemas *s, const char *name)
{
    const tl_sfile *f = find_file(s, name);
    return f ? f->root : NULL;
}

tl_err tl_schema_validate(const tl_schemas *s, const char *name, const json_t *v, const char *path,
                          tl_diag *d)
{
    const tl_sfile *f = strcmp(name, "common") == 0 ? NULL : find_file(s, name);
    if (!f)
        return tl_fail(d, TL_ERR_NOTFOUND, "no schema %s", name);
    vctx c = {.path = {.root = path ? path : "", .depth = 0}, .d = d, .depth = 0};
    return validate(&c, f->node, v);
}

tl_err tl_schema_validate_notification(const tl_schemas *s, const json_t *doc, tl_diag *d)
{
    vctx c = {.path = {.root = "", .depth = 0}, .d = d, .depth = 0};
    tl_err e = validate(&c, s->envelope, doc);
    if (e != TL_OK)
        return e;
    const json_t *type = json_object_get(doc, "type");
    const tl_msgtype *t = tl_schemas_find(s, json_string_value(type));
    if (!t) {
        char q[128];
        tl_sb b;
        tl_sb_init(&b, q, sizeof q);
        tl_sb_quote(&b, json_string_value(type), json_string_length(type));
        return tl_fail(d, TL_ERR_FORMAT, "type: unknown message type %s", q);
    }
    c.path.root = "body";
    e = validate(&c, s->type_nodes[t - s->types], json_object_get(doc, "body"));
    if (e != TL_OK)
        return e;
    size_t nrefs = json_array_size(json_object_get(doc, "refs"));
    if (nrefs < t->refs_min) {
        char list[TL_DIAG_LEN / 2];
        tl_sb b;
        tl_sb_init(&b, list, sizeof list);
        for (size_t i = 0; i < t->nref_types; i++)
            tl_sb_add(&b, "%s%s", i ? ", " : " (", t->ref_types[i]);
        if (t->nref_types)
            tl_sb_add(&b, ")");
        return tl_fail(d, TL_ERR_FORMAT, "refs: %s must reference at least %zu earlier entr%s%s",
                       t->name, t->refs_min, t->refs_min == 1 ? "y" : "ies", list);
    }
    return TL_OK;
}
