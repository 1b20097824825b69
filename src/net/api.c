/* api.c - the treaty query API (api.h, decision 0003). */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "treatylog/checkpoint.h"
#include "treatylog/qindex.h"
#include "treatylog/text.h"

bool tl_api_handles(const char *url)
{
    return strcmp(url, "/v1/entries") == 0 || strncmp(url, "/v1/entries/", 12) == 0 ||
           strcmp(url, "/v1/stats") == 0 || strcmp(url, "/v1/findings") == 0 ||
           strncmp(url, "/v1/findings/", 13) == 0;
}

bool tl_api_witness_time(const tl_policy *p, const char *note, size_t len, uint64_t *time)
{
    if (!p)
        return false;
    uint64_t times[TL_POLICY_WITNESSES_MAX];
    tl_checkpoint cp;
    if (tl_policy_check(p, note, len, &cp, times, NULL) != TL_OK)
        return false;
    uint64_t t = 0;
    for (size_t i = 0; i < p->nwitnesses; i++)
        if (times[i] > t)
            t = times[i];
    *time = t;
    return t > 0;
}

static unsigned text(char **body, size_t *len, const char **ctype, unsigned status, const char *msg)
{
    size_t n = strlen(msg);
    *body = malloc(n + 2);
    if (!*body)
        return 500;
    memcpy(*body, msg, n);
    (*body)[n] = '\n';
    (*body)[n + 1] = '\0';
    *len = n + 1;
    *ctype = "text/plain; charset=utf-8";
    return status;
}

static unsigned json(char **body, size_t *len, const char **ctype, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (!s)
        return text(body, len, ctype, 500, "treatylog: out of memory");
    *body = s;
    *len = strlen(s);
    *ctype = "application/json";
    return 200;
}

static unsigned status_of(tl_err e)
{
    switch (e) {
    case TL_ERR_FORMAT:
    case TL_ERR_USAGE:
    case TL_ERR_RANGE:
        return 400;
    case TL_ERR_NOTFOUND:
        return 404;
    case TL_ERR_IO:
        return 503;
    default:
        return 500;
    }
}

static unsigned failed(char **body, size_t *len, const char **ctype, tl_err e, const tl_diag *d)
{
    char msg[TL_DIAG_LEN + 16];
    snprintf(msg, sizeof msg, "treatylog: %.500s", d->msg);
    return text(body, len, ctype, status_of(e), msg);
}

/* ---- witnessed checkpoints: time and witnesses ---- */

typedef struct wit {
    const tl_policy *policy;
    bool found;
    uint64_t size, time;
    char *note; /* first archived note (malloc'd) */
    size_t len;
} wit;

static void keep_first(void *ctx, uint64_t size, const char *first, size_t first_len,
                       const char *last, size_t last_len)
{
    (void)last, (void)last_len;
    wit *w = ctx;
    w->found = true;
    w->size = size;
    w->note = malloc(first_len + 1);
    if (w->note) {
        memcpy(w->note, first, first_len);
        w->note[first_len] = '\0';
        w->len = first_len;
    }
    if (!w->note || !tl_api_witness_time(w->policy, first, first_len, &w->time))
        w->time = 0;
}

typedef struct bounds_ctx {
    wit below, above;
    bool in_above;
} bounds_ctx;

static void bound_below(void *ctx, uint64_t size, const char *first, size_t first_len,
                        const char *last, size_t last_len)
{
    bounds_ctx *b = ctx;
    keep_first(&b->below, size, first, first_len, last, last_len);
}

static void bound_above(void *ctx, uint64_t size, const char *first, size_t first_len,
                        const char *last, size_t last_len)
{
    bounds_ctx *b = ctx;
    keep_first(&b->above, size, first, first_len, last, last_len);
}

static json_t *wit_json(const wit *w)
{
    if (!w->found)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "size", json_integer((json_int_t)w->size));
    if (w->time) {
        char ts[32];
        tl_qindex_format_ms(ts, (int64_t)w->time * 1000);
        ts[19] = 'Z'; /* whole seconds: "YYYY-MM-DDThh:mm:ssZ" */
        ts[20] = '\0';
        json_object_set_new(o, "time", json_string(ts));
        json_object_set_new(o, "time_s", json_integer((json_int_t)w->time));
    } else {
        json_object_set_new(o, "time", json_null());
    }
    return o;
}

static unsigned get_entry(const tl_api *a, const char *idx, char **body, size_t *len,
                          const char **ctype)
{
    uint64_t index = 0;
    if (tl_parse_u64(&index, idx, strlen(idx)) != TL_OK)
        return text(body, len, ctype, 400,
                    "treatylog: /v1/entries/<index>: index must be a "
                    "canonical decimal");
    json_t *o = NULL;
    tl_diag d;
    tl_err e = tl_qindex_entry(tl_treaty_qindex(a->treaty), index, &o, &d);
    if (e != TL_OK)
        return failed(body, len, ctype, e, &d);
    bounds_ctx b = {.below = {.policy = a->policy}, .above = {.policy = a->policy}};
    e = tl_seq_witnessed_bounds(a->seq, index, bound_below, bound_above, &b, &d);
    if (e == TL_OK) {
        json_t *bo = json_object();
        json_object_set_new(bo, "after", wit_json(&b.below));
        json_object_set_new(bo, "before", wit_json(&b.above));
        json_object_set_new(o, "bounds", bo);
    }
    free(b.below.note);
    free(b.above.note);
    char proof[96];
    snprintf(proof, sizeof proof, "/v1/proof/inclusion?index=%llu", (unsigned long long)index);
    json_object_set_new(o, "proof", json_string(proof));
    if (e != TL_OK) {
        json_decref(o);
        return failed(body, len, ctype, e, &d);
    }
    return json(body, len, ctype, o);
}

static unsigned get_stats(const tl_api *a, char **body, size_t *len, const char **ctype)
{
    json_t *o = NULL;
    tl_diag d;
    tl_err e = tl_qindex_stats(tl_treaty_qindex(a->treaty), &o, &d);
    if (e != TL_OK)
        return failed(body, len, ctype, e, &d);
    json_object_set_new(o, "size", json_integer((json_int_t)tl_seq_size(a->seq)));
    wit w = {.policy = a->policy};
    char *note = NULL;
    size_t nlen = 0;
    uint64_t size = 0;
    if (tl_seq_witnessed(a->seq, &note, &nlen, &size, &d) == TL_OK) {
        json_t *wo = json_object();
        json_object_set_new(wo, "size", json_integer((json_int_t)size));
        json_object_set_new(wo, "note", json_stringn(note, nlen));
        uint64_t t = 0;
        json_t *names = json_array();
        if (a->policy) {
            uint64_t times[TL_POLICY_WITNESSES_MAX];
            tl_checkpoint cp;
            if (tl_policy_check(a->policy, note, nlen, &cp, times, NULL) == TL_OK) {
                for (size_t i = 0; i < a->policy->nwitnesses; i++) {
                    if (!times[i])
                        continue;
                    json_array_append_new(names, json_string(a->policy->witnesses[i].name));
                    if (times[i] > t)
                        t = times[i];
                }
            }
        }
        w.found = true;
        w.time = t;
        json_t *tj = wit_json(&w);
        json_object_set(wo, "time", json_object_get(tj, "time"));
        json_decref(tj);
        json_object_set_new(wo, "witnesses", names);
        json_object_set_new(o, "witnessed", wo);
        free(note);
    } else {
        json_object_set_new(o, "witnessed", json_null());
    }
    json_t *fc = NULL;
    if (a->findings) {
        char *c = a->findings->counts(a->findings->ctx);
        fc = c ? json_loads(c, 0, NULL) : NULL;
        free(c);
    }
    json_object_set_new(o, "findings", fc ? fc : json_null());
    return json(body, len, ctype, o);
}

unsigned tl_api_get(const tl_api *a, const char *url, tl_api_arg_fn arg, void *argctx, char **body,
                    size_t *len, const char **ctype)
{
    *body = NULL;
    *len = 0;
    if (strncmp(url, "/v1/findings", 12) == 0) {
        if (!a->findings)
            return text(body, len, ctype, 404,
                        "treatylog: no ruleset is loaded, so there are no findings");
        *ctype = "application/json";
        if (strcmp(url, "/v1/findings") == 0)
            return a->findings->list(a->findings->ctx, arg, argctx, body, len);
        const char *id = url + 13;
        size_t n = strlen(id);
        static const char ev[] = "/evidence";
        if (n > sizeof ev - 1 && strcmp(id + n - (sizeof ev - 1), ev) == 0) {
            char idbuf[256];
            if (n - (sizeof ev - 1) >= sizeof idbuf)
                return text(body, len, ctype, 404, "treatylog: no such finding");
            memcpy(idbuf, id, n - (sizeof ev - 1));
            idbuf[n - (sizeof ev - 1)] = '\0';
            return a->findings->evidence(a->findings->ctx, idbuf, body, len);
        }
        return text(body, len, ctype, 404,
                    "treatylog: use /v1/findings or /v1/findings/<id>/evidence");
    }
    if (!a->treaty)
        return text(body, len, ctype, 404,
                    "treatylog: this log is not in treaty mode (no registry): no query API");
    if (strcmp(url, "/v1/stats") == 0)
        return get_stats(a, body, len, ctype);
    if (strncmp(url, "/v1/entries/", 12) == 0)
        return get_entry(a, url + 12, body, len, ctype);
    tl_qfilter f = {
        .party = arg(argctx, "party"),
        .type = arg(argctx, "type"),
        .since = arg(argctx, "since"),
        .until = arg(argctx, "until"),
        .ref = arg(argctx, "ref"),
        .after = arg(argctx, "after"),
        .limit = arg(argctx, "limit"),
        .time = arg(argctx, "time"),
    };
    json_t *o = NULL;
    tl_diag d;
    tl_err e = tl_qindex_query(tl_treaty_qindex(a->treaty), &f, tl_seq_size(a->seq), &o, &d);
    if (e != TL_OK)
        return failed(body, len, ctype, e, &d);
    return json(body, len, ctype, o);
}
