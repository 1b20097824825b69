/* schema_load.c - loading a schema directory (schema.h): every *.json file
 * parsed strictly, every keyword checked against treatylog's subset of JSON
 * Schema, every $ref resolved, the schemas compiled into nodes whose keywords
 * the validator no longer has to look up, and every example validated. All the
 * work happens once, at start-up.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_int.h"
#include "treatylog/text.h"

#define WHERE_LEN 256

typedef struct loader {
    tl_schemas *s;
    const char *file;      /* name of the file being checked, for messages */
    char where[WHERE_LEN]; /* JSON pointer inside it */
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

static int sfile_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const tl_sfile *)elem)->name);
}

/* ---------------------------------------------------------------------------------------
 * Checking the keywords.
 */

static const struct {
    const char *name;
    unsigned bit;
} type_names[] = {{"null", TL_TM_NULL},      {"boolean", TL_TM_BOOLEAN}, {"object", TL_TM_OBJECT},
                  {"array", TL_TM_ARRAY},    {"number", TL_TM_NUMBER},   {"string", TL_TM_STRING},
                  {"integer", TL_TM_INTEGER}};

static unsigned type_bit_of(const json_t *t)
{
    const char *n = json_string_value(t);
    for (size_t i = 0; n && i < sizeof type_names / sizeof type_names[0]; i++) {
        if (strcmp(n, type_names[i].name) == 0)
            return type_names[i].bit;
    }
    return 0;
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
    char seg[256];
    while (*ptr == '/' && cur) {
        ptr++;
        size_t n = 0;
        while (*ptr && *ptr != '/') {
            char c = *ptr++;
            if (c == '~') {
                if (*ptr != '0' && *ptr != '1')
                    return NULL;
                c = *ptr++ == '0' ? '~' : '/';
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

/* The target of an absolute "$ref" ("<file>.json#<pointer>"), or NULL. */
static json_t *ref_target(const tl_schemas *s, const char *ref)
{
    const char *hash = strchr(ref, '#');
    size_t flen = hash ? (size_t)(hash - ref) : strlen(ref);
    char file[TL_SCHEMA_TYPE_MAX + 8];
    if (flen <= 5 || flen - 5 >= sizeof file || memcmp(ref + flen - 5, ".json", 5) != 0)
        return NULL;
    memcpy(file, ref, flen - 5);
    file[flen - 5] = '\0';
    const tl_sfile *f = bsearch(file, s->files, s->nfiles, sizeof s->files[0], sfile_cmp);
    json_t *t = f ? json_pointer(f->root, hash ? hash + 1 : "") : NULL;
    return t && (json_is_object(t) || json_is_boolean(t)) ? t : NULL;
}

/* Rewrites node's "$ref" to the absolute "<file>.json#<pointer>" and checks it
 * leads to a schema. */
static tl_err resolve_ref(loader *L, json_t *node, const json_t *ref)
{
    const char *r = json_string_value(ref);
    if (!r)
        return lfail(L, "$ref must be a string");
    char abs[WHERE_LEN + TL_SCHEMA_TYPE_MAX + 8];
    int n = r[0] == '#' ? snprintf(abs, sizeof abs, "%s.json%s", L->file, r)
                        : snprintf(abs, sizeof abs, "%s", r);
    if (n < 0 || (size_t)n >= sizeof abs)
        return lfail(L, "$ref \"%s\" is too long", r);
    if (!ref_target(L->s, abs))
        return lfail(L,
                     "$ref \"%s\" does not lead to a schema (\"#/...\" in this file or "
                     "\"<file>.json#/...\")",
                     r);
    if (json_object_set_new(node, "$ref", json_string(abs)) != 0)
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

/* One keyword of a schema object. */
static tl_err check_keyword(loader *L, json_t *node, const char *k, json_t *val, bool root)
{
    if (strcmp(k, "type") == 0) {
        bool ok = type_bit_of(val) != 0;
        if (json_is_array(val)) {
            ok = is_string_array(val, true);
            for (size_t i = 0; ok && i < json_array_size(val); i++)
                ok = type_bit_of(json_array_get(val, i)) != 0;
        }
        return ok ? TL_OK : lfail(L, "type must be a type name or a list of distinct names");
    }
    if (strcmp(k, "properties") == 0 || strcmp(k, "$defs") == 0)
        return check_schema_map(L, val, k);
    if (strcmp(k, "required") == 0)
        return is_string_array(val, false) ? TL_OK
                                           : lfail(L, "required must be a list of distinct names");
    if (strcmp(k, "additionalProperties") == 0 || strcmp(k, "propertyNames") == 0 ||
        strcmp(k, "items") == 0)
        return check_schema(L, val, false);
    if (strcmp(k, "prefixItems") == 0) {
        if (!json_is_array(val) || json_array_size(val) == 0)
            return lfail(L, "prefixItems must be a non-empty list of schemas");
        for (size_t i = 0; i < json_array_size(val); i++) {
            char idx[24];
            snprintf(idx, sizeof idx, "%zu", i);
            size_t old = where_push(L, idx);
            tl_err e = check_schema(L, json_array_get(val, i), false);
            where_pop(L, old);
            if (e != TL_OK)
                return e;
        }
        return TL_OK;
    }
    if (strcmp(k, "minItems") == 0 || strcmp(k, "maxItems") == 0 || strcmp(k, "minLength") == 0 ||
        strcmp(k, "maxLength") == 0)
        return json_is_integer(val) && json_integer_value(val) >= 0
                   ? TL_OK
                   : lfail(L, "%s must be an integer >= 0", k);
    if (strcmp(k, "minimum") == 0 || strcmp(k, "maximum") == 0)
        return json_is_number(val) ? TL_OK : lfail(L, "%s must be a number", k);
    if (strcmp(k, "uniqueItems") == 0)
        return json_is_boolean(val) ? TL_OK : lfail(L, "uniqueItems must be true or false");
    if (strcmp(k, "enum") == 0)
        return json_is_array(val) && json_array_size(val) > 0
                   ? TL_OK
                   : lfail(L, "enum must be a non-empty list");
    if (strcmp(k, "const") == 0)
        return TL_OK;
    if (strcmp(k, "format") == 0)
        return tl_schema_fmt_lookup(json_string_value(val)) != TL_FMT_NONE
                   ? TL_OK
                   : lfail(L, "unknown format (known: date, date-time, party, "
                              "party-or-all, "
                              "leafhash, decimal-degrees, latitude, longitude, "
                              "recipients)");
    if (strcmp(k, "anyOf") == 0) {
        bool ok = json_is_array(val) && json_array_size(val) > 0;
        for (size_t i = 0; ok && i < json_array_size(val); i++) {
            const json_t *br = json_array_get(val, i);
            ok = json_is_object(br) && json_object_size(br) == 1 &&
                 is_string_array(json_object_get(br, "required"), true);
        }
        return ok ? TL_OK
                  : lfail(L, "anyOf must be a list of {\"required\": [...]} (the "
                             "only form "
                             "supported)");
    }
    if (strcmp(k, "$ref") == 0)
        return resolve_ref(L, node, val);
    if (strcmp(k, "$schema") == 0 || strcmp(k, "$id") == 0 || strcmp(k, "title") == 0 ||
        strcmp(k, "description") == 0 || strcmp(k, "$comment") == 0)
        return json_is_string(val) ? TL_OK : lfail(L, "%s must be a string", k);
    if (strcmp(k, "examples") == 0)
        return json_is_array(val) ? TL_OK : lfail(L, "examples must be a list");
    if (root && strcmp(k, "x-refs") == 0)
        return check_xrefs(L, val);
    if (root && strcmp(k, "x-from-role") == 0)
        return json_is_string(val) && json_string_length(val) > 0
                   ? TL_OK
                   : lfail(L, "x-from-role must be a non-empty string");
    return lfail(L, "keyword \"%s\" is not in treatylog's schema subset", k);
}

/* Checks one schema node against the subset (and makes its $ref absolute). */
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
        size_t old = where_push(L, k);
        tl_err e = check_keyword(L, node, k, val, root);
        where_pop(L, old);
        if (e != TL_OK)
            return e;
    }
    return TL_OK;
}

/* ---------------------------------------------------------------------------------------
 * Compiling checked schemas into nodes.
 */

static int sprop_cmp(const void *a, const void *b)
{
    const tl_sprop *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->name, y->name, x->len);
}

static long long opt_int(const json_t *sch, const char *kw)
{
    const json_t *v = json_object_get(sch, kw);
    return v ? (long long)json_integer_value(v) : -1;
}

/* The node of src, compiled once (memoised, so a $ref cycle ends). NULL: out of
 * memory. */
static const tl_snode *compile(tl_schemas *s, const json_t *src)
{
    for (size_t i = 0; i < s->nnodes; i++) {
        if (s->nodes[i]->src == src)
            return s->nodes[i];
    }
    if (s->nnodes == s->capnodes) {
        size_t nc = s->capnodes ? s->capnodes * 2 : 256;
        tl_snode **nv = realloc(s->nodes, nc * sizeof *nv);
        if (!nv)
            return NULL;
        s->nodes = nv;
        s->capnodes = nc;
    }
    tl_snode *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    s->nodes[s->nnodes++] = n;
    n->src = src;
    n->min_len = n->max_len = n->min_items = n->max_items = -1;
    if (json_is_boolean(src)) {
        n->always = json_is_true(src);
        n->never = !n->always;
        return n;
    }
    const json_t *v = json_object_get(src, "$ref");
    if (v) {
        n->ref = compile(s, ref_target(s, json_string_value(v)));
        if (!n->ref)
            return NULL;
    }
    v = json_object_get(src, "type");
    for (size_t i = 0; v && i < (json_is_array(v) ? json_array_size(v) : 1); i++)
        n->types |= type_bit_of(json_is_array(v) ? json_array_get(v, i) : v);
    n->fmt = tl_schema_fmt_lookup(json_string_value(json_object_get(src, "format")));
    n->cst = json_object_get(src, "const");
    n->enm = json_object_get(src, "enum");
    n->minimum = json_object_get(src, "minimum");
    n->maximum = json_object_get(src, "maximum");
    n->min_len = opt_int(src, "minLength");
    n->max_len = opt_int(src, "maxLength");
    n->min_items = opt_int(src, "minItems");
    n->max_items = opt_int(src, "maxItems");
    n->unique = json_is_true(json_object_get(src, "uniqueItems"));
    n->anyof = json_object_get(src, "anyOf");
    const json_t *req = json_object_get(src, "required");
    if (json_array_size(req)) {
        n->req = calloc(json_array_size(req), sizeof *n->req);
        if (!n->req)
            return NULL;
        for (size_t i = 0; i < json_array_size(req); i++)
            n->req[i] = json_string_value(json_array_get(req, i));
        n->nreq = json_array_size(req);
    }
    const json_t *props = json_object_get(src, "properties");
    if (json_object_size(props)) {
        n->props = calloc(json_object_size(props), sizeof *n->props);
        if (!n->props)
            return NULL;
        json_t *o = (json_t *)props;
        for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it)) {
            tl_sprop *p = &n->props[n->nprops++];
            p->name = json_object_iter_key(it);
            p->len = json_object_iter_key_len(it);
            p->node = compile(s, json_object_iter_value(it));
            if (!p->node)
                return NULL;
        }
        qsort(n->props, n->nprops, sizeof *n->props, sprop_cmp);
    }
    if (n->nreq) {
        n->req_prop = calloc(n->nreq, sizeof *n->req_prop);
        if (!n->req_prop)
            return NULL;
        for (size_t i = 0; i < n->nreq; i++)
            n->req_prop[i] = tl_schema_prop_index(n, n->req[i], strlen(n->req[i]));
    }
    v = json_object_get(src, "additionalProperties");
    n->addl_false = json_is_false(v);
    if (v && !json_is_boolean(v)) {
        n->addl = compile(s, v);
        if (!n->addl)
            return NULL;
    }
    v = json_object_get(src, "propertyNames");
    if (v) {
        n->pnames = compile(s, v);
        if (!n->pnames)
            return NULL;
    }
    v = json_object_get(src, "items");
    if (v) {
        n->items = compile(s, v);
        if (!n->items)
            return NULL;
    }
    v = json_object_get(src, "prefixItems");
    if (json_array_size(v)) {
        n->prefix = calloc(json_array_size(v), sizeof *n->prefix);
        if (!n->prefix)
            return NULL;
        for (size_t i = 0; i < json_array_size(v); i++) {
            n->prefix[i] = compile(s, json_array_get(v, i));
            if (!n->prefix[i])
                return NULL;
            n->nprefix++;
        }
    }
    return n;
}

/* ---------------------------------------------------------------------------------------
 * Files, types, examples.
 */

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

/* Reads dir/name (at most TL_SCHEMA_FILE_MAX bytes) into a malloc'd buffer. */
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

/* The names of the *.json files of dir (dot-files skipped), sorted, without
 * ".json". */
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
    free(s->type_nodes);
    for (size_t i = 0; i < s->nnodes; i++) {
        free(s->nodes[i]->req);
        free(s->nodes[i]->req_prop);
        free(s->nodes[i]->props);
        free(s->nodes[i]->prefix);
        free(s->nodes[i]);
    }
    free(s->nodes);
    for (size_t i = 0; i < s->nfiles; i++) {
        free(s->files[i].name);
        json_decref(s->files[i].root);
    }
    free(s->files);
    free(s);
}

static bool special_file(const char *name)
{
    return strcmp(name, "envelope") == 0 || strcmp(name, "common") == 0;
}

/* Fills the type table from the loaded, compiled files. */
static tl_err build_types(tl_schemas *s, tl_diag *d)
{
    size_t cap = s->nfiles ? s->nfiles : 1;
    s->types = calloc(cap, sizeof *s->types);
    s->type_nodes = calloc(cap, sizeof *s->type_nodes);
    if (!s->types || !s->type_nodes)
        return tl_fail(d, TL_ERR_NOMEM, "loading schemas");
    for (size_t i = 0; i < s->nfiles; i++) {
        const tl_sfile *f = &s->files[i];
        if (special_file(f->name))
            continue;
        const char *root_type = json_string_value(json_object_get(f->root, "type"));
        if (!json_is_object(f->root) || !root_type || strcmp(root_type, "object") != 0)
            return tl_fail(d, TL_ERR_FORMAT,
                           "%s.json: a body schema must have \"type\": "
                           "\"object\"",
                           f->name);
        s->type_nodes[s->ntypes] = f->node;
        tl_msgtype *t = &s->types[s->ntypes++];
        t->name = f->name;
        t->schema = f->root;
        const json_t *x = json_object_get(f->root, "x-refs");
        t->refs_min = (size_t)json_integer_value(json_object_get(x, "min"));
        const json_t *types = json_object_get(x, "types");
        if (json_array_size(types)) {
            const char **rt = calloc(json_array_size(types), sizeof *rt);
            if (!rt)
                return tl_fail(d, TL_ERR_NOMEM, "loading schemas");
            for (size_t k = 0; k < json_array_size(types); k++)
                rt[k] = json_string_value(json_array_get(types, k));
            t->ref_types = rt;
            t->nref_types = json_array_size(types);
        }
        t->from_role = json_string_value(json_object_get(f->root, "x-from-role"));
    }
    return TL_OK;
}

/* One example: it survives the one-line text form (strict JSON, no control
 * characters) and validates (as an envelope only, for envelope.json, whose
 * examples' types need not be in the directory). */
static tl_err check_example(tl_schemas *s, const tl_sfile *f, const json_t *doc, tl_diag *d)
{
    bool is_type = !special_file(f->name);
    const char *type = json_string_value(json_object_get(doc, "type"));
    if (is_type && (!type || strcmp(type, f->name) != 0))
        return tl_fail(d, TL_ERR_FORMAT, "type must be \"%s\"", f->name);
    if (!is_type)
        return tl_schema_validate(s, f->name, doc, "", d);
    char *js = json_dumps(doc, JSON_COMPACT);
    if (!js)
        return tl_fail(d, TL_ERR_NOMEM, "loading schemas");
    json_t *copy = NULL;
    tl_err e = tl_schema_parse_json(&copy, js, strlen(js), true, d);
    free(js);
    if (e == TL_OK)
        e = tl_schema_validate_notification(s, copy, d);
    json_decref(copy);
    return e;
}

static tl_err check_examples(tl_schemas *s, tl_diag *d)
{
    for (size_t i = 0; i < s->nfiles; i++) {
        const tl_sfile *f = &s->files[i];
        const json_t *ex = json_object_get(f->root, "examples");
        if (!special_file(f->name) && json_array_size(ex) == 0)
            return tl_fail(d, TL_ERR_FORMAT,
                           "%s.json: needs \"examples\" with at least one notification", f->name);
        for (size_t k = 0; k < json_array_size(ex); k++) {
            tl_err e = check_example(s, f, json_array_get(ex, k), d);
            if (e != TL_OK)
                return tl_diag_prefix(d, e, "%s.json: examples[%zu]", f->name, k);
        }
    }
    return TL_OK;
}

/* Reads and parses every file into s->files. */
static tl_err read_files(tl_schemas *s, const char *dir, tl_diag *d)
{
    char **names = NULL;
    size_t nnames = 0;
    tl_err e = list_dir(dir, &names, &nnames, d);
    if (e != TL_OK)
        return e;
    s->files = calloc(nnames ? nnames : 1, sizeof *s->files);
    if (!s->files)
        e = tl_fail(d, TL_ERR_NOMEM, "loading schemas");
    for (size_t i = 0; e == TL_OK && i < nnames; i++) {
        const char *name = names[i];
        if (!special_file(name) && !type_file_name_ok(name, strlen(name))) {
            e = tl_fail(d, TL_ERR_FORMAT,
                        "%s/%s.json: not a message type name (a-z, 0-9, '.', '-'; at most %d "
                        "bytes)",
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
    return e;
}

tl_err tl_schemas_load(tl_schemas **out, const char *dir, tl_diag *d)
{
    tl_schemas *s = calloc(1, sizeof *s);
    if (!s)
        return tl_fail(d, TL_ERR_NOMEM, "loading schemas");
    tl_err e = read_files(s, dir, d);
    if (e == TL_OK && (!tl_schemas_file(s, "envelope") || !tl_schemas_file(s, "common")))
        e = tl_fail(d, TL_ERR_NOTFOUND, "%s: needs envelope.json and common.json", dir);
    for (size_t i = 0; e == TL_OK && i < s->nfiles; i++) {
        loader L = {.s = s, .file = s->files[i].name, .wlen = 0, .d = d};
        L.where[0] = '\0';
        e = check_schema(&L, s->files[i].root, true);
    }
    for (size_t i = 0; e == TL_OK && i < s->nfiles; i++) {
        s->files[i].node = compile(s, s->files[i].root);
        if (!s->files[i].node)
            e = tl_fail(d, TL_ERR_NOMEM, "loading schemas");
    }
    if (e == TL_OK) {
        s->envelope = ((const tl_sfile *)bsearch("envelope", s->files, s->nfiles,
                                                 sizeof s->files[0], sfile_cmp))
                          ->node;
        e = build_types(s, d);
    }
    if (e == TL_OK)
        e = check_examples(s, d);
    if (e != TL_OK) {
        tl_schemas_free(s);
        return e;
    }
    *out = s;
    return TL_OK;
}
